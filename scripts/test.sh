#!/usr/bin/env bash
# The README's test command: install what is missing, build with warnings as errors, run every
# test (including a --dry-run of the default suite at its real sizes); then the same tests again
# in an AddressSanitizer + UndefinedBehaviorSanitizer build, less the "heavy" real-size run;
# then in a build whose AVX-512 kernels SIMDe emulates (values only); then a minute of libFuzzer
# on each fuzz target (clang; fails on any finding).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

BUILD_DIR="$root/build" "$root/scripts/setup.sh" -DMOEBENCH_WERROR=ON
(cd "$root/build" && ctest --output-on-failure -j"$jobs")

# The sanitizer build: Debug keeps frame pointers readable; leaks are reported by ASan.
BUILD_DIR="$root/build-asan" "$root/scripts/setup.sh" -DMOEBENCH_WERROR=ON -DMOEBENCH_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs" --label-exclude heavy)

# The AVX-512 kernels emulated by SIMDe, so their values are checked on a CPU without AVX-512
# too (where it has AVX-512, the first build already ran them natively; this one is cheap).
BUILD_DIR="$root/build-emu" "$root/scripts/setup.sh" -DMOEBENCH_WERROR=ON -DMOEBENCH_AVX512_EMULATE=ON
(cd "$root/build-emu" && ctest --output-on-failure -j"$jobs" --label-exclude heavy)

# The fuzz stage: every target of tests/fuzz for 60 s (about 7 min with its build).
"$root/scripts/fuzz.sh" 60

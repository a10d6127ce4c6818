#!/usr/bin/env bash
# Fuzzes every libFuzzer target of tests/fuzz for SECONDS each (default 60; scripts/test.sh runs
# this with 60): builds them (clang, ASan + UBSan, MOEBENCH_FUZZ=ON) into build-fuzz/, then runs
# each from its committed seed corpus (tests/fuzz/corpus/<target>/) plus the inputs earlier runs
# found (build-fuzz/fuzz-runs/<target>/corpus/). Any finding (crash, sanitizer report, leak, an
# input slower than FUZZ_TIMEOUT seconds or using more than FUZZ_RSS_MB of memory) fails the
# script, which names the reproducer and the command that replays it.
#   scripts/fuzz.sh            one minute per target
#   scripts/fuzz.sh 3600       an hour per target
#   FUZZ_TARGETS="fuzz_npy" scripts/fuzz.sh 600
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
timeout=${FUZZ_TIMEOUT:-30}
rss_mb=${FUZZ_RSS_MB:-2048}
targets=${FUZZ_TARGETS:-fuzz_suite fuzz_descriptor fuzz_results_csv fuzz_run_json fuzz_npy}

BUILD_DIR="$build" "$root/scripts/setup.sh" -DCMAKE_C_COMPILER=clang -DMOEBENCH_FUZZ=ON \
  -DMOEBENCH_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Scratch files (every input is written to a file: the readers take paths) go to a RAM disk
# when there is one: on ext4 rewriting a file per input ran ~100x slower (291 vs 25,876 per s).
mkdir -p "$build/fuzz-runs"
scratch_root=$build/fuzz-runs
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_root=/dev/shm
scratch=$(mktemp -d "$scratch_root/moebench-fuzz-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

failed=()
for t in $targets; do
  bin="$build/tests/fuzz/$t"
  work="$build/fuzz-runs/$t"
  rm -rf "$work/artifacts"
  mkdir -p "$work/corpus" "$work/artifacts" "$scratch/$t"
  dict=()
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  echo "moebench fuzz: $t for ${seconds} s" >&2
  # stdin from /dev/null: nothing a target reads may wait for a terminal
  if TMPDIR="$scratch/$t" UBSAN_OPTIONS=print_stacktrace=1 \
     "$bin" "$work/corpus" "$root/tests/fuzz/corpus/$t" "${dict[@]}" \
       -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
       -artifact_prefix="$work/artifacts/" -print_final_stats=1 </dev/null >"$work/log.txt" 2>&1 &&
     [ -z "$(ls -A "$work/artifacts")" ]; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt" | tail -1)
    echo "moebench fuzz: $t: ${runs:-?} inputs, no findings" >&2
  else
    echo "moebench fuzz: $t: FINDING (log: $work/log.txt); its end:" >&2
    grep -v '^#[0-9]' "$work/log.txt" | tail -n 40 >&2 || true
    for a in "$work/artifacts"/*; do
      [ -e "$a" ] || continue
      echo "moebench fuzz: reproducer: $a  (replay: $bin $a)" >&2
      failed+=("$a")
    done
    [ -n "$(ls -A "$work/artifacts")" ] || failed+=("$t (no reproducer written; see the log)")
  fi
  rm -rf "${scratch:?}/$t"
done

if ((${#failed[@]})); then
  echo "moebench fuzz: ${#failed[@]} finding(s):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "moebench fuzz: no findings in $(wc -w <<<"$targets") targets" >&2

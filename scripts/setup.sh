#!/usr/bin/env bash
# Installs what is missing (Debian 12, apt-get), then configures and builds moebench into
# BUILD_DIR (default: build/). Extra arguments go to cmake's configure step.
# Non-interactive: safe under CI=true with no standard input.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}

packages=(build-essential cmake pkg-config libopenblas-dev libopenblas-openmp-dev libdnnl-dev libpapi-dev papi-tools
          ocl-icd-opencl-dev gnuplot-nox libinih-dev libcjson-dev libhwloc-dev poppler-utils python3-torch python3-numpy
          clang libclang-rt-14-dev libomp-14-dev    # the fuzz build (scripts/fuzz.sh): libFuzzer, clang's OpenMP
          libopenmpi-dev openmpi-bin                # run --mpi, ep=N, mpi-bench (optional in CMake)
          libsimde-dev)                             # the tests' emulated AVX-512 build (scripts/test.sh)
packages+=(libbenchmark-tools python3-scipy)   # Google Benchmark's compare.py (and the scipy it imports) reads `moebench export --format gbench`
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "moebench setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "moebench setup: built $build/moebench" >&2

#!/usr/bin/env bash
# The README's main command: install what is missing, build, run the default suite end to end
# (results/default-<UTC time>/ with results.csv, samples.csv, run.json and charts).
# Arguments are passed to `moebench run` (e.g. --threads 1, or another suite file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
cd "$root"
exec ./build/moebench run "$@"

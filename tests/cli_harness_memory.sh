#!/bin/bash
# "Valid" means "can run here" (issue 12, item 4): check, run, case and dump refuse a case whose
# memory estimate exceeds the available memory, with file:line (suites) and the estimate, before
# allocating anything (the reproducers run under `ulimit -v 4 GB`, where allocating them would
# fail differently); threads above the CPUs this process may run on are refused; case and dump
# run their work in a child, so a killed child is a message and an exit status, not a dead
# moebench. Normal cases still pass.
# usage: bash cli_harness_memory.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
child=""
trap 'rm -rf "$T"; [ -n "$child" ] && kill -9 "$child" 2>/dev/null' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

# ASan reserves terabytes of address space: there the virtual-memory limit cannot be used
limit="ulimit -v 4000000"
if ! (ulimit -v 4000000; "$MB" list >/dev/null 2>&1); then
    echo "note: $MB does not start under ulimit -v (sanitizer build?): checking without it"
    limit=":"
fi

# refused WANT CMD...: exit 2, WANT (a grep -E pattern) on stderr
refused() {
    local want="$1"
    shift
    local out rc
    out=$(eval "$limit"; "$@" 2>&1); rc=$?
    [ $rc -eq 2 ] || err "$*: exit $rc, want 2: $out"
    echo "$out" | grep -Eq -- "$want" || err "$*: no /$want/ in: $out"
}

printf '[big]\nvariant = lora\nT = 99999999999\n' > "$T/tokens.ini"
printf '[wide]\nvariant = lora\nh = 1000000\no = 1000000\n' > "$T/wide.ini"
printf '; a comment\n[mix]\nvariant = mixlora\nT = 4096\nh = 16384\nf = 65536\nE = 64\n' > "$T/mix.ini"
printf '[tasks]\nvariant = moelora\ntasks = 2147483646\n' > "$T/tasks.ini"
printf '[threads]\nvariant = lora\nh = 64\nr = 4\nthreads = 100000\n' > "$T/threads.ini"
est='needs an estimated [0-9.e+]+ GiB \(weights .*\), more than the [0-9.e+]+ GiB available'

# 47,684 GiB of tokens, 3.7 TB of weights, 512 GiB of task embeddings: beyond any machine
refused "tokens.ini:1: case lora:T=99999999999,.* $est \(MemAvailable\)" \
    "$MB" check "$T/tokens.ini" --validate-only
refused "wide.ini:1: case lora:T=1,h=1000000,o=1000000.* $est" "$MB" check "$T/wide.ini" --validate-only
refused "tasks.ini:1: case moelora:.*tasks=2147483646.* $est" "$MB" check "$T/tasks.ini" --validate-only
refused "tasks=2147483646.* $est" "$MB" case 'moelora:tasks=2147483646'
# 14 GB of weights (and E = 64 merged expert MLPs): refused where 8 GiB are available
MOEBENCH_MEM_LIMIT=8G refused "mix.ini:2: case mixlora:T=4096,h=16384,f=65536.* $est \(MOEBENCH_MEM_LIMIT\)" \
    "$MB" check "$T/mix.ini" --validate-only
MOEBENCH_MEM_LIMIT=8G refused "implementation blas" \
    "$MB" check "$T/mix.ini" --validate-only --impl blas
# run refuses before creating anything
refused "tokens.ini:1: case .*$est" "$MB" run "$T/tokens.ini" --out "$T/out" --no-plot
[ -e "$T/out" ] && err "run created $T/out for a case it refused"
grep -q "nothing was run" <("$MB" run "$T/tokens.ini" --out "$T/out" 2>&1) || err "run: no 'nothing was run'"

# case and dump: 16 GiB of X and Y at T = 2^31 (17 GB), refused with 4 GiB
MOEBENCH_MEM_LIMIT=4G refused "case lora:T=2147483648,h=1,o=1,r=1 $est \(MOEBENCH_MEM_LIMIT\)" \
    "$MB" case 'lora:T=2147483648,h=1,o=1,r=1'
MOEBENCH_MEM_LIMIT=4G refused "implementation blas" "$MB" case 'lora:T=2147483648,h=1,o=1,r=1' --impl blas
MOEBENCH_MEM_LIMIT=4G refused "moebench dump: case lora:T=2147483648,h=1,o=1,r=1 $est" \
    "$MB" dump 'lora:T=2147483648,h=1,o=1,r=1' "$T/dump"
[ -e "$T/dump" ] && err "dump created $T/dump for a case it refused"
MOEBENCH_MEM_LIMIT=lots refused "MOEBENCH_MEM_LIMIT='lots'" "$MB" case 'lora:T=1,h=8,r=1'

# threads: in a suite (file:line) and on the command line
refused "threads.ini:1: threads=100000: more threads than the [0-9]+ CPUs? this process may run on" \
    "$MB" check "$T/threads.ini" --validate-only
refused "--threads=100000: more threads than" "$MB" run "$T/tokens.ini" --threads 100000 --validate-only
refused "--threads=100000: more threads than" "$MB" case 'lora:T=1,h=8,r=1' --threads 100000

# normal cases still pass (and dump writes its files)
out=$("$MB" case 'lora:T=16,h=64,r=4' --impl blas,merged --threads 1 2>&1); rc=$?
[ $rc -eq 0 ] || err "normal case: exit $rc: $out"
[ "$(echo "$out" | grep -c ': max_abs_err .* pass$')" -eq 2 ] || err "normal case: not 2 passes: $out"
out=$("$MB" dump 'mixlora:T=8,h=32,f=64,r=4,E=4' "$T/small" 2>&1); rc=$?
[ $rc -eq 0 ] && [ -s "$T/small/case.json" ] && [ -s "$T/small/Y.npy" ] || err "normal dump: exit $rc: $out"
printf '[ok]\nvariant = lora\nh = 64\nr = 4\nT = 8\nthreads = 1\nimpl = blas\n' > "$T/ok.ini"
out=$("$MB" check "$T/ok.ini" 2>&1); rc=$?
[ $rc -eq 0 ] || err "normal check: exit $rc: $out"

# a killed child of `case`: a message naming the signal and exit 1, from a live moebench
"$MB" case 'lora:T=4096,h=2048' --ref-rows 4096 --threads 1 >"$T/kill.out" 2>"$T/kill.err" &
pid=$!
for _ in $(seq 100); do
    child=$(pgrep -P "$pid" | head -1)
    [ -n "$child" ] && break
    sleep 0.1
done
if [ -z "$child" ]; then
    err "moebench case started no child process"
    kill -9 "$pid" 2>/dev/null
else
    kill -9 "$child"
fi
wait "$pid"; rc=$?
child=""
[ $rc -eq 1 ] || err "killed child: exit $rc, want 1: $(cat "$T/kill.err")"
grep -q "moebench case: the case's process .*SIGKILL" "$T/kill.err" \
    || err "killed child: no message naming SIGKILL: $(cat "$T/kill.err")"

exit $fail

#!/bin/bash
# Bad train input is refused with the reason before anything runs (exit 2): p > 0 in forward
# mode, p >= 1, negative aux / zloss, an unknown opt, in `case` and in a suite (file:line); and a
# train case whose saved activations do not fit is refused up front with the estimated bytes.
# suites/train.ini validates here (dry run, memory estimate included).
# usage: bash cli_train_errors.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

refused() {   # descriptor, expected text
    "$MB" case "$1" --impl blas >"$T/o" 2>&1
    local rc=$?
    [ $rc -eq 2 ] || err "$1: exit $rc, want 2"
    grep -q -- "$2" "$T/o" || err "$1: no '$2' in: $(cat "$T/o")"
    grep -q "checksum\|^blas: ok" "$T/o" && err "$1: something ran"
}
refused 'lora:T=4,h=32,r=4,p=0.1' "dropout must be 0 in forward mode"
refused 'lora:T=4,h=32,r=4,mode=train,p=1' "p=1: dropout must be in \[0, 1)"
refused 'lora:T=4,h=32,r=4,mode=train,p=1.5' "p=1.5"
refused 'mixlora:T=4,h=32,f=64,r=4,E=4,k=2,mode=train,aux=-1' "aux=-1"
refused 'router:T=4,h=32,E=4,k=2,mode=train,zloss=-0.5' "zloss=-0.5"
refused 'lora:T=4,h=32,r=4,mode=train,opt=sgd' "opt='sgd': expected one of none, adamw"

# in a suite: file:line, nothing run
printf '[a]\nvariant = lora\nh = 32\nr = 4\nT = 4\nmode = train\nopt = sgd\n' >"$T/s.ini"
"$MB" run "$T/s.ini" --no-plot --out "$T/r1" >"$T/o" 2>&1
rc=$?
[ $rc -eq 2 ] || err "suite with opt=sgd: exit $rc"
grep -q "s.ini:[0-9]*:.*opt" "$T/o" || err "suite with opt=sgd: no file:line: $(cat "$T/o")"
[ -e "$T/r1/results.csv" ] && err "suite with opt=sgd wrote results"

# memory: a train case whose saved activations do not fit, refused with the estimate
D='mlp_lora:T=65536,h=4096,f=11008,r=16,mode=train'
MOEBENCH_MEM_LIMIT=2G "$MB" case "$D" --impl blas >"$T/o" 2>&1
rc=$?
[ $rc -eq 2 ] || err "oversized train case: exit $rc, want 2"
grep -q "saved activations [0-9.]* ([0-9]* bytes)" "$T/o" || err "no saved bytes: $(cat "$T/o")"
printf '[a]\nvariant = mlp_lora\nT = 8192\nh = 256\nf = 512\nr = 8\nmode = train\n' >"$T/big.ini"
MOEBENCH_MEM_LIMIT=160M "$MB" run "$T/big.ini" --dry-run --impl blas --no-plot --out "$T/r3" >"$T/o" 2>&1
rc=$?
[ $rc -eq 2 ] || err "suite train case over the limit: exit $rc ($(tail -2 "$T/o"))"
grep -q "big.ini:[0-9]*:.*saved activations" "$T/o" || err "suite refusal without saved bytes: $(cat "$T/o")"
# its forward twin fits in the same limit: the refusal is the step's memory
sed -i 's/mode = train/mode = forward/' "$T/big.ini"
MOEBENCH_MEM_LIMIT=160M "$MB" run "$T/big.ini" --dry-run --impl blas --no-plot --out "$T/r5" >"$T/o" 2>&1 ||
    err "forward twin refused: $(tail -2 "$T/o")"

# the train suite validates here
"$MB" run "$SRC/suites/train.ini" --dry-run --impl blas --variant lora,router --no-plot \
    --out "$T/r4" >"$T/o" 2>&1 || err "suites/train.ini dry run: $(tail -3 "$T/o")"
exit $fail

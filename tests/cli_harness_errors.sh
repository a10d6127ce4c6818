#!/bin/bash
# moebench run/check refuse bad input before running anything: unknown flags (exit 2 + usage),
# malformed suites (file:line + reason, exit 2, no output directory), unwritable output
# directories (exit 1, nothing run); every shipped harness suite validates.
# usage: bash cli_harness_errors.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

# unknown flag
"$MB" run --bogus-flag >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "unknown flag: exit $rc, want 2"
grep -q "unknown option '--bogus-flag'" "$T/e" || err "unknown flag: no message"
grep -q "usage: moebench run" "$T/e" || err "unknown flag: no usage"
"$MB" check --reps >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "missing value: exit $rc, want 2"
"$MB" run --cache lukewarm >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "bad --cache: exit $rc, want 2"

# malformed suites: each names file:line and nothing runs (no output directory appears)
check_bad() {  # name, content, line, needle
    printf '%b' "$2" > "$T/$1.ini"
    "$MB" run "$T/$1.ini" --out "$T/out-$1" --no-plot --no-roofline >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] || err "$1: exit $rc, want 2"
    grep -q "$T/$1.ini:$3:" "$T/e" || err "$1: stderr lacks $1.ini:$3: ($(cat "$T/e"))"
    grep -q "$4" "$T/e" || err "$1: stderr lacks '$4'"
    [ ! -e "$T/out-$1" ] || err "$1: output directory created although the suite is malformed"
}
check_bad unknown_key '[a]\nvariant = lora\nh = 32\nr = 2\nfoo = 1\n' 5 "unknown key 'foo'"
check_bad unknown_variant '[a]\nvariant = loramix\n' 2 "unknown variant"
check_bad bad_number '[a]\nvariant = lora\nT = 12abc\n' 3 "T"
check_bad empty_sweep '[a]\nvariant = lora\nh = 32, ,64\n' 3 "empty value"
check_bad impossible '[a]\nvariant = moelora\nh = 32\nr = 6\nE = 4\n' 1 "impossible case"
# the bad case comes after a good one: still nothing runs
check_bad late_error '[good]\nvariant = lora\nh = 32\nr = 2\n[bad]\nvariant = lora\nh = 32\nr = 2\nk = zz\n' 9 "k"
"$MB" check "$T/unknown_key.ini" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "check with a malformed suite: exit $rc, want 2"
"$MB" run "$T/no_such_suite.ini" --out "$T/out-missing" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] || err "missing suite: exit $rc, want 2"

# unwritable output directory: fails before any case runs
printf '[a]\nvariant = lora\nh = 32\nr = 2\nT = 1\nimpl = naive\n' > "$T/ok.ini"
touch "$T/a_file"
"$MB" run "$T/ok.ini" --out "$T/a_file/sub" --no-plot --no-roofline >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 1 ] || err "unwritable out dir: exit $rc, want 1"
grep -q "nothing was run" "$T/e" || err "unwritable out dir: no message ($(cat "$T/e"))"
grep -q "\[1/1\]" "$T/e" && err "unwritable out dir: a case ran"

# every shipped harness suite loads and validates (--validate-only: nothing runs)
for s in default smoke token_sweep rank_sweep expert_sweep mixlora_sharing mixtral_moe; do
    "$MB" check "$SRC/suites/$s.ini" --validate-only >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 0 ] || err "suites/$s.ini does not validate: $(cat "$T/e")"
done

# a selection that leaves no case is a mistake, not an empty success (it exited 0 with an empty
# results directory): exit 2, the selection named, nothing created
for sel in "--filter ^nomatch$" "--variant router --filter lora"; do
    # shellcheck disable=SC2086
    "$MB" run "$SRC/suites/smoke.ini" $sel --out "$T/none" --no-plot --no-roofline >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] || err "run $sel: exit $rc, want 2"
    grep -q "no case of the .* is left by" "$T/e" || err "run $sel: no message ($(cat "$T/e"))"
    [ ! -e "$T/none" ] || err "run $sel: an output directory was created"
    # shellcheck disable=SC2086
    "$MB" check "$SRC/suites/smoke.ini" $sel --validate-only >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] || err "check --validate-only $sel: exit $rc, want 2"
done

exit $fail

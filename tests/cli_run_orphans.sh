#!/bin/bash
# A case's child dies with the harness (issue 12, item 8): `kill -9` of a running `moebench run`
# must not leave its child measuring on, unwatched. The case runs for minutes (--min-time 600);
# after the kill the child has to be gone within 10 s (polled, no fixed sleep decides).
# usage: bash cli_run_orphans.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
# the output directory's name is in every process of this run (a fork keeps argv): a marker
# no other process on the machine carries
MARK="$T/orphan-marker-$$-$RANDOM"
child=""
cleanup() {
    [ -n "$child" ] && kill -9 "$child" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

# alive PID: exists, is not a zombie, and is one of ours (not a reused pid)
alive() {
    [ -r "/proc/$1/stat" ] || return 1
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)
    [ "$state" != Z ] && [ "$state" != X ] || return 1
    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qF "$MARK"
}

printf '[slow]\nvariant = lora\nh = 32\nr = 2\nT = 4\nimpl = naive\n' > "$T/slow.ini"
"$MB" run "$T/slow.ini" --out "$MARK" --min-time 600 --reps 3 --threads 1 --timeout 3600 \
    --no-plot --no-roofline --counters none >"$T/o" 2>"$T/e" &
parent=$!

# wait (up to 60 s) for the case's child: a process of ours whose parent is the harness, still
# there a second later (the case runs for minutes; short-lived helpers such as the git lookups
# of the provenance are gone by then, and killing the parent during one would test nothing)
for _ in $(seq 1 600); do
    for p in $(pgrep -P "$parent" 2>/dev/null); do
        alive "$p" && child=$p
    done
    if [ -n "$child" ]; then
        sleep 1
        alive "$child" && break
        child=""
    fi
    kill -0 "$parent" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$child" ]; then
    err "no child of the harness appeared: $(cat "$T/e")"
    kill -9 "$parent" 2>/dev/null
    exit 1
fi

{ kill -9 "$parent"; wait "$parent"; } 2>/dev/null
for _ in $(seq 1 100); do
    alive "$child" || break
    sleep 0.1
done
if alive "$child"; then
    err "the child $child still runs 10 s after its parent was killed"
else
    child=""
fi
# nothing else of this run survives either
left=$(for p in $(pgrep -f -- "$MARK" 2>/dev/null); do alive "$p" && echo "$p"; done)
[ -z "$left" ] || err "processes of the killed run remain: $left"
for p in $left; do kill -9 "$p" 2>/dev/null; done
exit $fail

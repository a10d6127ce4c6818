#!/bin/bash
# The routing options (spec "Routing options": cap, shared, topp, route) refuse bad values and
# variants that cannot take them, with the reason and exit 2: in a descriptor (`moebench case`)
# and in a suite (file:line, nothing runs). Good values round-trip through the canonical form.
# usage: bash cli_routing_errors.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

bad_desc() {  # descriptor, needle of the reason
    "$MB" case "$1" --impl naive >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] || err "'$1': exit $rc, want 2"
    grep -qF -- "$2" "$T/e" || err "'$1': stderr lacks '$2' ($(cat "$T/e"))"
}
R="router:T=8,h=16,E=4,k=2"
S="sparse_mlp:T=8,h=16,f=32,E=4,k=2"
M="mixlora:T=8,h=16,f=32,r=2,E=4,k=2"
bad_desc "$S,cap=-1" "cap=-1: the capacity factor must be >= 0"
bad_desc "$S,cap=abc" "cap='abc': not a number"
bad_desc "$M,topp=0" "topp=0: the top-p threshold must be in (0, 1]"
bad_desc "$M,topp=1.5" "topp=1.5: the top-p threshold must be in (0, 1]"
bad_desc "$R,topp=-0.2" "the top-p threshold must be in (0, 1]"
bad_desc "$S,route=zipf:0" "the Zipf exponent S must be > 0"
bad_desc "$S,route=zipf:-1" "the Zipf exponent S must be > 0"
bad_desc "$S,route=zipf" "zipf needs its parameter"
bad_desc "$M,route=hot:0" "the hot fraction F must be in (0, 1]"
bad_desc "$M,route=hot:1.01" "the hot fraction F must be in (0, 1]"
bad_desc "$M,route=uniform" "expected learned, balanced, zipf:S or hot:F"
bad_desc "$M,route=balanced:2" "balanced takes no parameter"
bad_desc "$S,shared=-1" "shared=-1: must not be negative"
bad_desc "$R,shared=1" "the router alone has no expert outputs"
bad_desc "lora:T=8,h=16,r=2,shared=1" "shared experts need a variant with experts"
bad_desc "mlp_lora:T=8,h=16,f=32,r=2,cap=1" "routing options apply to the top-k routed variants only"
bad_desc "molora:T=8,h=16,r=2,E=4,topp=0.5" "routing options apply to the top-k routed variants only"
bad_desc "moelora:T=8,h=16,r=4,E=4,route=balanced" "routing options apply to the top-k routed variants only"
bad_desc "$M,topp=0.5,route=hot:0.5" "top-p chooses by the router's probabilities"
# expert parallelism routes plain learned top-k only (harness/dist, kernels/variants/ep_part.c)
bad_desc "$S,ep=2,cap=1" "expert parallelism runs plain learned top-k routing only"
bad_desc "$S,ep=2,route=hot:0.5" "expert parallelism runs plain learned top-k routing only"
# the training step differentiates plain learned top-k only
bad_desc "$S,mode=train,cap=1" "the training step differentiates plain learned top-k routing only"
bad_desc "$M,mode=train,shared=1" "the training step differentiates plain learned top-k routing only"
bad_desc "$S,mode=train,ep=2" "expert parallelism times the forward only"

# in a suite: file:line and the reason, no output directory
bad_suite() {  # name, content, line, needle
    printf '%b' "$2" > "$T/$1.ini"
    "$MB" run "$T/$1.ini" --out "$T/out-$1" --no-plot --no-roofline >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] || err "$1: exit $rc, want 2"
    grep -q "$T/$1.ini:$3:" "$T/e" || err "$1: stderr lacks $1.ini:$3: ($(cat "$T/e"))"
    grep -qF -- "$4" "$T/e" || err "$1: stderr lacks '$4' ($(cat "$T/e"))"
    [ ! -e "$T/out-$1" ] || err "$1: output directory created although the suite is bad"
}
bad_suite cap '[a]\nvariant = sparse_mlp\nh = 16\nf = 32\nE = 4\ncap = 1.0, -0.5\n' 6 "capacity factor must be >= 0"
bad_suite topp '[a]\nvariant = mixlora\nh = 16\nf = 32\nr = 2\ntopp = 0.5, 2\n' 6 "top-p threshold"
bad_suite zipf '[a]\nvariant = router\nh = 16\nroute = learned, zipf:0\n' 4 "Zipf exponent"
bad_suite hot '[a]\nvariant = router\nh = 16\nroute = hot:1.5\n' 4 "hot fraction"
bad_suite shared_router '[a]\nvariant = router\nh = 16\nshared = 1\n' 4 "no expert outputs"
bad_suite shared_lora '[a]\nvariant = lora\nh = 16\nr = 2\nshared = 1\n' 5 "need a variant with experts"

# good values: canonical descriptors round-trip (topp without k takes k = E)
good() {  # descriptor, canonical
    "$MB" case "$1" --impl naive >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 0 ] || err "'$1': exit $rc ($(cat "$T/e"))"
    grep -qxF "case: $2" "$T/o" || err "'$1': canonical form is not '$2' ($(head -1 "$T/o"))"
    "$MB" case "$2" --impl naive >"$T/o2" 2>&1 || err "'$2' does not parse back"
    grep -qxF "case: $2" "$T/o2" || err "'$2' does not round-trip"
}
good "sparse_mlp:T=8,h=16,f=32,E=4,cap=1.25,shared=1,route=zipf:1.0" \
     "sparse_mlp:T=8,h=16,f=32,E=4,k=2,cap=1.25,shared=1,route=zipf:1"
good "mixlora:T=8,h=16,f=32,r=2,topp=0.9,E=6" "mixlora:T=8,h=16,f=32,r=2,E=6,k=6,topp=0.9"
good "router:T=8,h=16,E=4,k=3,route=hot:0.9,cap=0" "router:T=8,h=16,E=4,k=3,route=hot:0.9"
good "router:T=8,h=16,E=4,route=balanced,cap=2" "router:T=8,h=16,E=4,k=2,cap=2,route=balanced"
exit $fail

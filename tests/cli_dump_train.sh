#!/bin/bash
# `moebench dump` of a mode=train case writes dY.npy, grad_X.npy and grad_<name>.npy for every
# trainable tensor (<name> = the forward tensor's file name, same shape), upd_<name>.npy with
# opt=adamw, and describes them in case.json "train"; the gradients are naive's train step:
# a lora case with dropout is checked against the formulas by hand (python std lib, double).
# --no-output writes no gradients and says so. (Once a train dump failed with "naive forward
# failed: ... mode=train is a train step".)
# usage: bash cli_dump_train.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

CASES=(
  "lora:T=5,h=7,o=6,r=3,alpha=6,p=0.25,mode=train"
  "mlp_lora:T=3,h=6,f=10,r=2,mode=train"
  "molora:T=4,h=6,o=5,r=2,E=3,mode=train"
  "moelora:B=3,S=2,h=6,o=5,r=4,E=2,tasks=3,te=4,mode=train"
  "mixlora:T=6,h=6,f=9,r=2,E=4,k=2,mode=train,opt=adamw"
  "mor1e:B=2,S=3,h=6,o=5,r=4,mode=train"
  "sparse_mlp:T=6,h=6,f=8,E=4,k=2,mode=train"
  "router:T=7,h=5,E=5,k=2,mode=train,aux=0.3"
)
i=0
for c in "${CASES[@]}"; do
    "$MB" dump "$c" "$T/d$i" >"$T/o" 2>"$T/e" || err "dump '$c': exit $? ($(cat "$T/e"))"
    i=$((i + 1))
done

python3 - "$T" "${#CASES[@]}" <<'PY' || fail=1
import ast, json, struct, sys, os

def npy(path):
    """float32 / int32 / int64 .npy (version 1, C order) with the std lib."""
    b = open(path, "rb").read()
    assert b[:6] == b"\x93NUMPY", path
    hl = struct.unpack("<H", b[8:10])[0]
    hd = ast.literal_eval(b[10:10 + hl].decode())
    assert not hd["fortran_order"], path
    fmt = {"<f4": "f", "<i4": "i", "<i8": "q"}[hd["descr"]]
    n = 1
    for d in hd["shape"]:
        n *= d
    return list(hd["shape"]), list(struct.unpack("<%d%s" % (n, fmt), b[10 + hl:10 + hl + 4 * n * (2 if fmt == "q" else 1)]))

root, n = sys.argv[1], int(sys.argv[2])
bad = []
for i in range(n):
    d = os.path.join(root, "d%d" % i)
    meta = json.load(open(os.path.join(d, "case.json")))
    files = {t["name"]: t for t in meta["tensors"]}
    tr = meta.get("train")
    if meta["spec"].get("mode") != "train" or not tr:
        bad.append(f"{meta['case']}: case.json has no train section / mode"); continue
    trainable = tr["trainable"].split(",")
    want = ["X"] + trainable
    got = [g["of"] for g in tr["grads"]]
    if sorted(got) != sorted(want) or got[0] != "X":
        bad.append(f"{meta['case']}: grads of {got}, want {want}")
    if files.get("dY", {}).get("shape") != files["Y"]["shape"]:
        bad.append(f"{meta['case']}: dY shape {files.get('dY', {}).get('shape')} vs Y {files['Y']['shape']}")
    for name in want:
        g = files.get("grad_" + name)
        if not g or g["file"] != "grad_%s.npy" % name or g["shape"] != files[name]["shape"]:
            bad.append(f"{meta['case']}: grad_{name}: {g} vs {files[name]}")
            continue
        shape, v = npy(os.path.join(d, g["file"]))
        if shape != files[name]["shape"] or not all(x == x and abs(x) < 1e30 for x in v):
            bad.append(f"{meta['case']}: grad_{name}.npy shape {shape} or non-finite values")
    if meta["spec"].get("opt") == "adamw":
        ups = [u["of"] for u in tr.get("updated", [])]
        if sorted(ups) != sorted(trainable) or any(not os.path.exists(os.path.join(d, "upd_%s.npy" % u)) for u in ups):
            bad.append(f"{meta['case']}: AdamW updates {ups}, want {trainable}")
    elif "updated" in tr:
        bad.append(f"{meta['case']}: updates without opt=adamw")

# lora by hand: Y = X W^T + s ((X*M) A^T) B^T, M the dropout mask (kernels/include/moebench/
# dropout.h, ported); dX = dY W + s ((dY B) A) * M, dA = s (dY B)^T (X*M), dB = s dY^T ((X*M) A^T)
d = os.path.join(root, "d0")
meta = json.load(open(os.path.join(d, "case.json")))
sp = meta["spec"]
T_, h, o, r, s = sp["T"], sp["h"], sp["o"], sp["r"], sp["alpha"] / sp["r"]
M64 = (1 << 64) - 1
def mix(z):
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
    return z ^ (z >> 31)
def keep(row, j):
    k = mix((sp["seed"] + 0xd1b54a32d192ed03) & M64)
    k = mix(k ^ 0)   # lora MAIN (0) << 32 | expert 0
    k = mix((k + row * 0x9e3779b97f4a7c15) & M64)
    return (mix((k + (j + 1) * 0xbf58476d1ce4e5b9) & M64) >> 40) >= 4194304   # ceil(0.25 * 2^24)
ld = {k: npy(os.path.join(d, k + ".npy"))[1] for k in ("X", "W", "A", "B", "dY", "grad_X", "grad_A", "grad_B", "Y")}
X = lambda t, j: ld["X"][t * h + j]
Wm = lambda a, j: ld["W"][a * h + j]
A = lambda q, j: ld["A"][q * h + j]
Bm = lambda a, q: ld["B"][a * r + q]
dY = lambda t, a: ld["dY"][t * o + a]
kept = struct.unpack("f", struct.pack("f", 1.0 / 0.75))[0]
Mk = [[kept if keep(t, j) else 0.0 for j in range(h)] for t in range(T_)]
if not any(Mk[t][j] == 0 for t in range(T_) for j in range(h)):
    bad.append("lora p=0.25: nothing dropped, the hand check would not see the mask")
U = [[X(t, j) * Mk[t][j] for j in range(h)] for t in range(T_)]
Z = [[sum(U[t][j] * A(q, j) for j in range(h)) for q in range(r)] for t in range(T_)]
G = [[sum(dY(t, a) * Bm(a, q) for a in range(o)) for q in range(r)] for t in range(T_)]
want = {
    "Y": [sum(X(t, j) * Wm(a, j) for j in range(h)) + s * sum(Z[t][q] * Bm(a, q) for q in range(r)) for t in range(T_) for a in range(o)],
    "grad_X": [sum(dY(t, a) * Wm(a, j) for a in range(o)) + s * Mk[t][j] * sum(G[t][q] * A(q, j) for q in range(r)) for t in range(T_) for j in range(h)],
    "grad_A": [s * sum(G[t][q] * U[t][j] for t in range(T_)) for q in range(r) for j in range(h)],
    "grad_B": [s * sum(dY(t, a) * Z[t][q] for t in range(T_)) for a in range(o) for q in range(r)],
}
for k, w in want.items():
    g = ld[k]
    rms = (sum(x * x for x in w) / len(w)) ** 0.5
    worst = max(abs(a - b) for a, b in zip(g, w))
    if worst > 1e-5 * rms + 1e-6:
        bad.append(f"lora hand check: {k} off by {worst:.3g} (rms {rms:.3g})")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

# --no-output: no train step, no gradients (dY only, for a peer's own step), and case.json says why
"$MB" dump "lora:T=4,h=8,r=2,mode=train" "$T/no" --no-output >/dev/null 2>&1 || err "dump --no-output of a train case"
ls "$T/no" | grep -qE '^(grad_|upd_|Y)' && err "--no-output wrote Y or gradients"
[ -s "$T/no/dY.npy" ] || err "--no-output of a train case wrote no dY.npy"
grep -q '"output_skipped":.*no gradients' "$T/no/case.json" || err "case.json does not say the gradients were skipped"

# a forward case's dump is unchanged: no dY, no gradients, no train section
"$MB" dump "lora:T=4,h=8,r=2" "$T/fwd" >/dev/null 2>&1 || err "forward dump"
ls "$T/fwd" | grep -qE '^(dY|grad_)' && err "a forward dump wrote dY or gradients"
grep -q '"train"' "$T/fwd/case.json" && err "a forward dump has a train section"

[ $fail -eq 0 ] && echo "cli_dump_train: all passed"
exit $fail

#!/bin/bash
# Library dispatch and machine state (issue 13 items 1 and 4): run.json's library_dispatch and
# machine_state, the blas_core / onednn_isa columns, --openblas-core (re-exec, recorded, the
# core OpenBLAS reports changes; a forced SSE core is warned about on the console, in run.json,
# in the column and in the charts' footnote), its refusals, and --pin (OpenMP threads bound, one
# place each). OPENBLAS_CORETYPE is never set here: only the option, per invocation; when the
# environment already sets it (some machines do, on purpose), the expectations follow it.
# usage: bash cli_dispatch.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }

cat > "$T/tiny.ini" <<'INI'
[defaults]
h = 32
r = 2
impl = naive, blas, onednn, merged
[lora]
variant = lora
T = 1, 4
INI
OPTS=(--min-time 0.01 --reps 3 --threads 1 --no-roofline)

# 1. a plain run: what OpenBLAS chose, stated and recorded
"$MB" run "$T/tiny.ini" --out "$T/plain" --dry-run --no-plot "${OPTS[@]}" >"$T/o" 2>"$T/e" \
    || err "plain run: exit $?: $(tail -3 "$T/e")"
grep -q "CPU executes .*; OpenBLAS core .*; oneDNN ISA " "$T/e" || err "plain run: no dispatch line"
python3 - "$T/plain" "$T/e" "${OPENBLAS_CORETYPE:-}" <<'PY' || fail=1
import csv, json, sys
d, console, env = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
run = json.load(open(f"{d}/run.json"))
bad = []
ld = run.get("library_dispatch", {})
ob, dn = ld.get("openblas", {}), ld.get("onednn", {})
if ld.get("cpu_executes") not in ("sse", "avx2", "avx512"): bad.append(f"cpu_executes {ld.get('cpu_executes')}")
core = ob.get("core")
if not core: bad.append("no openblas core")
if core != run["libraries"]["openblas"]["core"]: bad.append("library_dispatch and libraries disagree")
if env:
    if ob.get("openblas_coretype_source") != "environment": bad.append(f"source {ob.get('openblas_coretype_source')} with OPENBLAS_CORETYPE={env}")
else:
    if ob.get("openblas_coretype_requested") is not None: bad.append("a request without option or environment")
# the verdict, the warning in run.json and on the console go together
weak = ob.get("weaker_than_cpu")
if weak is None: bad.append("no weaker_than_cpu")
if weak and not ("warning" in ob and "remedy" in ob and "warning: OpenBLAS runs its" in console): bad.append("weak core without warning")
if not weak and "warning: OpenBLAS runs its" in console: bad.append("warning without a weak core")
if not dn.get("isa"): bad.append("no onednn isa")
ms = run.get("machine_state", {})
for k in ("cpufreq", "turbo", "affinity", "openmp", "pin", "loadavg_start", "loadavg_end", "busy_at_start"):
    if k not in ms: bad.append(f"machine_state lacks {k}")
cf = ms.get("cpufreq", {})
if cf.get("available") is False and not cf.get("reason"): bad.append("cpufreq unavailable without a reason")
if ms.get("governor") is None and not ms.get("governor_reason"): bad.append("no governor and no reason")
if ms.get("turbo", {}).get("enabled") is None and not ms.get("turbo", {}).get("reason"): bad.append("turbo unknown without a reason")
for k in ("loadavg_start", "loadavg_end"):
    if not (isinstance(ms.get(k), list) and len(ms[k]) == 3): bad.append(f"{k} {ms.get(k)}")
busy = ms.get("busy_at_start")
if busy != ("warning: the machine is busy" in console): bad.append(f"busy_at_start {busy} but console {'has' if not busy else 'lacks'} the warning")
if busy != (ms["loadavg_start"][0] >= ms["busy_load_fraction"] * ms["affinity"]["online_cpus"]): bad.append(f"busy_at_start {busy} with load {ms['loadavg_start']}")
rows = list(csv.DictReader(open(f"{d}/results.csv")))
if len(rows) != 8: bad.append(f"{len(rows)} rows")
for r in rows:
    want_b = core if r["impl"] in ("blas", "merged") else ""
    want_d = dn.get("isa") if r["impl"] == "onednn" else ""
    if r["blas_core"] != want_b: bad.append(f"{r['impl']} blas_core '{r['blas_core']}', want '{want_b}'")
    if r["onednn_isa"] != want_d: bad.append(f"{r['impl']} onednn_isa '{r['onednn_isa']}', want '{want_d}'")
for b in bad: print("FAIL: plain run:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
CPU=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['library_dispatch']['cpu_executes'])" "$T/plain/run.json" 2>/dev/null)

# 2. --openblas-core: refusals before anything runs
"$MB" run "$T/tiny.ini" --out "$T/bad" --dry-run --openblas-core Bogus "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] && grep -q "OpenBLAS has no such core" "$T/e" || err "--openblas-core Bogus: exit $rc, $(cat "$T/e")"
[ -e "$T/bad" ] && err "--openblas-core Bogus: the output directory was created"
if [ "$CPU" != avx512 ]; then
    "$MB" run "$T/tiny.ini" --out "$T/bad" --dry-run --openblas-core SkylakeX "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] && grep -q "would die of SIGILL" "$T/e" || err "--openblas-core SkylakeX on $CPU: exit $rc, $(cat "$T/e")"
fi
"$MB" run "$T/tiny.ini" --openblas-core >"$T/o" 2>"$T/e"; rc=$?
[ $rc -eq 2 ] && grep -q "needs a value" "$T/e" || err "--openblas-core without a value: exit $rc"
"$MB" run --help | grep -q -- "--openblas-core NAME" || err "run --help lacks --openblas-core"
"$MB" case --help | grep -q -- "--pin" || err "case --help lacks --pin"

# 3. --openblas-core Haswell on an AVX2 CPU: honoured, recorded, the core reported changes
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
    # the environment's value is kept: a different core on the command line is refused
    other=Haswell; [ "${OPENBLAS_CORETYPE,,}" = haswell ] && other=Prescott
    "$MB" run "$T/tiny.ini" --out "$T/conf" --dry-run --openblas-core $other "${OPTS[@]}" >"$T/o" 2>"$T/e"; rc=$?
    [ $rc -eq 2 ] && grep -q "the environment sets OPENBLAS_CORETYPE" "$T/e" || err "environment and option disagree: exit $rc"
    echo "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE in the environment: the --openblas-core runs are skipped"
elif [ "$CPU" = avx2 ] || [ "$CPU" = avx512 ]; then
    "$MB" run "$T/tiny.ini" --out "$T/hsw" --dry-run --no-plot --openblas-core haswell "${OPTS[@]}" >"$T/o" 2>"$T/e" \
        || err "--openblas-core haswell: exit $?: $(tail -3 "$T/e")"
    grep -q "OpenBLAS core Haswell (avx2, from --openblas-core)" "$T/e" || err "--openblas-core haswell: console: $(head -3 "$T/e")"
    python3 - "$T/hsw" "$CPU" <<'PY' || fail=1
import csv, json, sys
d, cpu = sys.argv[1], sys.argv[2]
run = json.load(open(f"{d}/run.json"))
ob = run["library_dispatch"]["openblas"]
bad = []
if ob.get("core") != "Haswell": bad.append(f"core {ob.get('core')}")
if run["libraries"]["openblas"]["core"] != "Haswell": bad.append("libraries.openblas.core")
if ob.get("openblas_coretype_requested") != "Haswell": bad.append(f"requested {ob.get('openblas_coretype_requested')}")
if ob.get("openblas_coretype_source") != "option --openblas-core": bad.append(f"source {ob.get('openblas_coretype_source')}")
if ob.get("honoured") is not True: bad.append("not honoured")
if ob.get("weaker_than_cpu") != (cpu == "avx512"): bad.append(f"weaker_than_cpu {ob.get('weaker_than_cpu')} on {cpu}")
if run["environment"].get("OPENBLAS_CORETYPE") != "Haswell": bad.append("environment lacks OPENBLAS_CORETYPE")
if "MOEBENCH_LOAD_ENV_SET" in run["environment"]: bad.append("the re-exec guard leaked")
if "--openblas-core" not in run["command_line"]: bad.append("command line lost the option")
for r in csv.DictReader(open(f"{d}/results.csv")):
    if r["impl"] in ("blas", "merged") and r["blas_core"] != "Haswell": bad.append(f"{r['impl']} blas_core {r['blas_core']}")
for b in bad: print("FAIL: --openblas-core haswell:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    # the case command re-executes the same way
    "$MB" case 'lora:T=4,h=32,r=2' --impl blas --openblas-core Haswell >"$T/o" 2>"$T/e" || err "case --openblas-core: exit $?"
    grep -q "OpenBLAS core Haswell" "$T/e" || err "case --openblas-core: $(cat "$T/e")"
    grep -q "blas: .* pass" "$T/o" || err "case --openblas-core: blas did not pass: $(cat "$T/o")"
    # and so does time, the command every repro line is
    "$MB" time 'lora:T=4,h=32,r=2' --impl blas --openblas-core Haswell --reps 2 --min-time 0.01 >"$T/o" 2>"$T/e" \
        || err "time --openblas-core: exit $?: $(cat "$T/e")"
    grep -q "OpenBLAS core Haswell" "$T/e" || err "time --openblas-core: $(cat "$T/e")"
    grep -q "^blas  *ok" "$T/o" || err "time --openblas-core: blas not ok: $(cat "$T/o")"

    # 4. a forced SSE core: the warning everywhere, with its remedy
    "$MB" run "$T/tiny.ini" --out "$T/sse" --openblas-core Prescott "${OPTS[@]}" >"$T/o" 2>"$T/e" \
        || err "--openblas-core Prescott: exit $?: $(tail -3 "$T/e")"
    grep -q "warning: OpenBLAS runs its Prescott core (sse kernels) on a CPU that executes $CPU.*--openblas-core" "$T/e" \
        || err "--openblas-core Prescott: no console warning: $(head -4 "$T/e")"
    python3 - "$T/sse" <<'PY' || fail=1
import csv, json, sys
d = sys.argv[1]
ob = json.load(open(f"{d}/run.json"))["library_dispatch"]["openblas"]
bad = []
if not (ob.get("core") == "Prescott" and ob.get("weaker_than_cpu") is True): bad.append(f"{ob}")
if "Prescott" not in ob.get("warning", "") or not ob.get("remedy", "").startswith("--openblas-core "): bad.append(f"warning/remedy {ob}")
for r in csv.DictReader(open(f"{d}/results.csv")):
    if r["impl"] == "blas" and (r["blas_core"] != "Prescott" or r["status"] != "ok"): bad.append(f"blas row {r['blas_core']} {r['status']}")
for b in bad: print("FAIL: --openblas-core Prescott:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
    grep -q "WARNING: OpenBLAS ran its Prescott core" "$T/sse/charts/latency.gp" 2>/dev/null \
        || err "--openblas-core Prescott: the charts' footnote lacks the warning"

    # the torch peer inherits the environment: its OpenBLAS runs the requested core too
    PY="${MOEBENCH_PYTHON:-/usr/bin/python3}"
    if "$PY" -c 'import torch, numpy' 2>/dev/null; then
        printf '[lora]\nvariant = lora\nh = 32\nr = 2\nT = 1\nimpl = blas\n' >"$T/one.ini"
        "$MB" run "$T/one.ini" --out "$T/peer" --no-plot --peer torch --openblas-core Haswell "${OPTS[@]}" \
            >"$T/o" 2>"$T/e" || err "--peer torch --openblas-core Haswell: exit $?: $(tail -3 "$T/e")"
        python3 - "$T/peer" <<'PY' || fail=1
import csv, sys
cores = {r["impl"]: r["blas_core"] for r in csv.DictReader(open(f"{sys.argv[1]}/results.csv"))}
if cores != {"blas": "Haswell", "torch": "Haswell"}:
    print(f"FAIL: --peer torch --openblas-core Haswell: blas_core {cores}", file=sys.stderr)
    sys.exit(1)
PY
    else
        echo "$PY lacks torch: the peer's core is not checked"
    fi
else
    echo "this CPU executes $CPU: no AVX2 core to ask for; --openblas-core runs skipped"
fi

# 5. --pin: every OpenMP thread bound to one place (a core), recorded
N=$(nproc); [ "$N" -gt 2 ] && N=2
if [ -n "${OMP_PROC_BIND:-}${OMP_PLACES:-}" ]; then
    echo "OMP_PROC_BIND/OMP_PLACES set in the environment: the --pin check is skipped"
else
    "$MB" run "$T/tiny.ini" --out "$T/pin" --dry-run --no-plot --pin --min-time 0.01 --reps 3 --threads $N --no-roofline >"$T/o" 2>"$T/e" \
        || err "--pin: exit $?: $(tail -3 "$T/e")"
    python3 - "$T/pin" "$T/plain" $N <<'PY' || fail=1
import json, sys
pin = json.load(open(f"{sys.argv[1]}/run.json"))["machine_state"]
plain = json.load(open(f"{sys.argv[2]}/run.json"))["machine_state"]
n = int(sys.argv[3])
bad = []
omp = pin["openmp"]
if omp["OMP_PROC_BIND"] != {"value": "close", "source": "option --pin"}: bad.append(f"OMP_PROC_BIND {omp['OMP_PROC_BIND']}")
if omp["OMP_PLACES"] != {"value": "cores", "source": "option --pin"}: bad.append(f"OMP_PLACES {omp['OMP_PLACES']}")
if omp["proc_bind"] != "close": bad.append(f"proc_bind {omp['proc_bind']}")
if not pin["pin"]["requested"]: bad.append("pin not recorded")
th = pin["pin"].get("threads", [])
if len(th) != n: bad.append(f"{len(th)} threads checked, want {n}")
places = set(omp["places"])
def cpus(s):   # hwloc list "0-1,4" -> {0, 1, 4}
    out = set()
    for part in filter(None, s.split(",")):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out
for t in th:
    aff = cpus(t["affinity"])
    if not any(aff == cpus(p) for p in places): bad.append(f"thread {t} not bound to one place of {sorted(places)}")
    if t["cpu"] not in aff: bad.append(f"thread {t} runs outside its affinity")
if n > 1 and len({t["affinity"] for t in th}) != n: bad.append(f"threads share a place: {th}")
# without --pin nothing is bound: each thread may use every CPU of the process
if plain["openmp"]["proc_bind"] != "false" or plain["pin"]["requested"]: bad.append(f"plain run bound: {plain['openmp']}")
for t in plain["pin"].get("threads", []):
    if t["affinity"] != plain["affinity"]["cpus"]: bad.append(f"plain thread {t} bound")
for b in bad: print("FAIL: --pin:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
fi

[ $fail -eq 0 ] && echo "cli_dispatch: ok"
exit $fail

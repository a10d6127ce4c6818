#!/bin/bash
# Every registered variant (as `moebench list` reports the variant table) has its smoke case,
# its reference test and its peer form, by these conventions:
#   smoke:     suites/smoke.ini has `variant = <name>` (alone or in a comma list)
#   reference: some tests/test_ref_*.c holds a descriptor literal "<name>:..."
#   peer:      peers/pytorch/moebench_layers.py builds it (`v == "<name>"`)
# usage: bash cli_registry_coverage.sh MOEBENCH_BINARY SOURCE_DIR
set -u
MB="$1"
SRC="$2"
LIST=$("$MB" list) || { echo "FAIL: moebench list: exit $?" >&2; exit 1; }
python3 - "$SRC" <<PY
import glob, os, re, sys
src = sys.argv[1]
names = [n for n in re.findall(r"^(\w+): ", """$LIST""", re.M) if n not in ("implementations", "counters")]
if len(names) < 8:
    print(f"FAIL: moebench list names only {names}", file=sys.stderr)
    sys.exit(1)
smoke = set()
for m in re.finditer(r"^variant\s*=\s*(.+)$", open(os.path.join(src, "suites/smoke.ini")).read(), re.M):
    smoke.update(x.strip() for x in m.group(1).split(","))
refs = "".join(open(p).read() for p in glob.glob(os.path.join(src, "tests/test_ref_*.c")))
peer = open(os.path.join(src, "peers/pytorch/moebench_layers.py")).read()
bad = []
for n in names:
    if n not in smoke:
        bad.append(f"{n}: no smoke case (suites/smoke.ini: variant = {n})")
    if f'"{n}:' not in refs:
        bad.append(f'{n}: no reference test (a "{n}:..." case in tests/test_ref_*.c)')
    if not re.search(r'\bv == "%s"' % re.escape(n), peer):
        bad.append(f'{n}: no peer form (peers/pytorch/moebench_layers.py: v == "{n}")')
print(f"registry coverage: {len(names)} variants, {len(bad)} gaps")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

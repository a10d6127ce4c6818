#!/bin/bash
# docs/architecture.md matches the tree: every path it names in backquotes exists, every
# harness/ folder is described in it, every folder it describes exists, and its arrows are
# exactly the links of the folder libraries in CMakeLists.txt (mb_harness_library). README's
# Layout names every harness/ folder too.
# usage: bash cli_docs_tree.sh MOEBENCH_BINARY SOURCE_DIR [DOC]   (DOC: another file to check)
set -u
SRC="$2"
DOC="${3:-$SRC/docs/architecture.md}"
fail=0
err() { echo "FAIL: $*" >&2; fail=1; }
[ -f "$DOC" ] || { echo "FAIL: no $DOC" >&2; exit 1; }

python3 - "$SRC" "$DOC" <<'PY' || fail=1
import os, re, sys
src, doc_path = sys.argv[1], sys.argv[2]
doc = open(doc_path).read()
bad = []
top = ('kernels/', 'harness/', 'tests/', 'suites/', 'docs/', 'peers/', 'plots/', 'results/',
       'scripts/')
# 1. every path in backquotes exists
for tok in set(re.findall(r'`([^`\s]+)`', doc)):
    if tok.startswith(top) or tok in ('CMakeLists.txt', 'README.md'):
        if not os.path.exists(os.path.join(src, tok)):
            bad.append(f'{doc_path} names {tok}, which does not exist')
# 2. every harness/ folder is described, and every described folder exists
folders = sorted(d for d in os.listdir(os.path.join(src, 'harness'))
                 if os.path.isdir(os.path.join(src, 'harness', d)))
for d in folders:
    if f'`harness/{d}/`' not in doc:
        bad.append(f'harness/{d}/ is not described in {doc_path}')
# 3. the arrows: the block of "name -> deps" lines against CMakeLists.txt
arrows = {}
for m in re.finditer(r'^(\w+)\s+->(.*)$', doc, re.M):
    arrows[m.group(1)] = set(m.group(2).split())
if set(arrows) != set(folders):
    bad.append(f'arrows drawn for {sorted(arrows)}, harness folders are {folders}')
cm = open(os.path.join(src, 'CMakeLists.txt')).read()
linked = {}
for m in re.finditer(r'^mb_harness_library\((\w+)(.*?)\)\s*$', cm, re.M | re.S):
    name, body = m.group(1), m.group(2)
    deps = set()
    for t in re.findall(r'\bmoebench(?:_(\w+))?\b', body):
        deps.add(t if t else 'kernels')
    deps.discard(name)
    linked[name] = deps
if set(linked) != set(folders):
    bad.append(f'CMakeLists.txt builds libraries for {sorted(linked)}, harness folders are {folders}')
for name in sorted(set(arrows) & set(linked)):
    if arrows[name] != linked[name]:
        bad.append(f'{name}: {doc_path} draws -> {" ".join(sorted(arrows[name]))}, '
                   f'CMakeLists.txt links {" ".join(sorted(linked[name]))}')
# 4. README's Layout names every harness folder
readme = open(os.path.join(src, 'README.md')).read()
m = re.search(r'^## Layout\n(.*?)^## ', readme, re.M | re.S)
layout = m.group(1) if m else ''
for d in folders:
    if not re.search(rf'^\s+{d}/', layout, re.M):
        bad.append(f"README's Layout does not list harness/{d}/")
for b in bad:
    print('FAIL:', b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# the check itself: a doc naming a path that does not exist, or missing a folder, must fail
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ -z "${3:-}" ]; then
    sed 's|`harness/exec/runner.c`|`harness/exec/no_such_file.c`|' "$DOC" > "$T/a.md"
    grep -q no_such_file "$T/a.md" || err "self-check: the doc no longer names harness/exec/runner.c"
    bash "$0" "$1" "$SRC" "$T/a.md" 2>/dev/null && err "a missing path was not caught"
    grep -v '^| `harness/peer/`' "$DOC" > "$T/b.md"
    bash "$0" "$1" "$SRC" "$T/b.md" 2>/dev/null && err "an undescribed harness folder was not caught"
    sed 's|^plot      -> results common$|plot      -> results common exec|' "$DOC" > "$T/c.md"
    cmp -s "$DOC" "$T/c.md" && err "self-check: the plot arrow line changed"
    bash "$0" "$1" "$SRC" "$T/c.md" 2>/dev/null && err "an arrow CMake does not link was not caught"
fi
exit $fail

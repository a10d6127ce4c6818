#!/bin/bash
# The README's "Adding a new variant" stays true: walked for an existing variant (mor1e), every
# file it names (`<variant>` replaced by the name) exists in the tree and mentions the variant,
# and no other source of kernels/ or harness/ names its enum constant (MB_MOR1E) but a fused
# form under kernels/fused/ (optional, named by the table's fused column): a core file with a
# per-variant case would be a file the recipe does not list.
# Paths outside the repository (../shared/...) are the project's docs, not part of a clone.
# usage: bash cli_readme_recipe.sh MOEBENCH_BINARY SOURCE_DIR
set -u
SRC="$2"
python3 - "$SRC" mor1e <<'PY'
import os, re, sys
src, v = sys.argv[1], sys.argv[2]
text = open(os.path.join(src, "README.md")).read()
m = re.search(r"^## Adding a new variant\n(.*?)(?=^## )", text, re.M | re.S)
if not m:
    print("FAIL: README.md has no 'Adding a new variant' section", file=sys.stderr)
    sys.exit(1)
paths = []
for p in re.findall(r"`([^`\s]+)`", m.group(1)):
    # the checkers (tests/cli_*.sh) are named too: they are not files a variant touches
    if "/" in p and not p.startswith(("../", "tests/cli_")) and re.search(r"\.\w+$", p):
        p = p.replace("<variant>", v)
        if p not in paths:
            paths.append(p)
bad = []
for p in paths:
    full = os.path.join(src, p)
    if not os.path.isfile(full):
        bad.append(f"{p}: named by the recipe, not in the tree")
    elif v not in open(full).read().lower():
        bad.append(f"{p}: does not mention {v}")
enum = "MB_" + v.upper()
for top in ("kernels", "harness"):
    for d, _, files in os.walk(os.path.join(src, top)):
        for f in files:
            full = os.path.join(d, f)
            rel = os.path.relpath(full, src)
            if not f.endswith((".c", ".h", ".def")) or rel in paths or rel.startswith("kernels/fused/"):
                continue
            if re.search(r"\b%s\b" % enum, open(full).read()):
                bad.append(f"{rel}: names {enum} but is not a file the recipe lists")
print(f"README recipe: {len(paths)} files for {v}, {len(bad)} problems")
if len(paths) < 6:
    bad.append(f"only {len(paths)} files found in the recipe: {paths}")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

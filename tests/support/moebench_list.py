"""The text of `moebench list`, read once for the CLI tests that take their expectations from it
(which variants are registered; which implementation runs each on this machine)."""
import re


def read(path):
    """Returns (variants in table order, {(variant, impl): True when list says ok})."""
    variants, avail, variant = [], {}, None
    for line in open(path):
        m = re.match(r"^(\w+): ", line)
        if m:
            # "implementations: ..." and "counters: ..." head the listing; every other such
            # line is a variant
            variant = None if m.group(1) in ("implementations", "counters") else m.group(1)
            if variant:
                variants.append(variant)
            continue
        m = re.match(r"^  (\w+)\s+(ok|unavailable)", line)
        if m and variant:
            avail[(variant, m.group(1))] = m.group(2) == "ok"
    return variants, avail


def precision_skips(path):
    """{(variant, impl): {"bf16" | "wq=int8" | "wq=int4": reason}}: the precisions an
    implementation that is ok in f32 would skip (the indented lines under its cell)."""
    skips, variant, impl = {}, None, None
    for line in open(path):
        m = re.match(r"^(\w+): ", line)
        if m:
            variant = None if m.group(1) in ("implementations", "counters") else m.group(1)
            impl = None
            continue
        m = re.match(r"^  (\w+)\s+(ok|unavailable)", line)
        if m:
            impl = m.group(1)
            continue
        m = re.match(r"^      (bf16|wq=int8|wq=int4): (.*)$", line)
        if m and variant and impl:
            skips.setdefault((variant, impl), {})[m.group(1)] = m.group(2)
    return skips


def case_precisions(case):
    """The precision keys of a case descriptor that list's skip lines name."""
    keys = []
    if re.search(r"[:,]dtype=bf16(,|$)", case):
        keys.append("bf16")
    m = re.search(r"[:,]wq=(int8|int4)(,|$)", case)
    if m:
        keys.append("wq=" + m.group(1))
    return keys

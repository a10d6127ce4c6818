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

#!/usr/bin/env python3
"""Adds mode=train rows with known values to a results.csv (tests of the train charts):
    add_train_rows.py IN.csv OUT.csv
Every existing row gets mode=forward (and empty train columns). For each ok row of lora and
mixlora at T=16 and T=128 (naive, blas, onednn) a train row of the same case: time_us_median
= 2 x the forward's median, fwd_us = 40 %, bwd_us = 50 % (so "other" is 10 %), saved_bytes =
1 MiB x T/16, grad_bytes = 0.5 MiB, optimizer_bytes = 0 (1 MiB for the adamw case). Per train
case a "torch" row at 3 x the case's fastest step with no fwd/bwd split (a peer that times the
whole step); its saved_bytes is 2 MiB x T/16, except for lora T=128 where it is empty (not
measured). One lora T=16 case with opt=adamw. Standard library only."""
import csv
import sys

TRAIN_COLS = ["mode", "fwd_us", "bwd_us", "saved_bytes", "grad_bytes", "optimizer_bytes"]
MIB = 1 << 20


def main(src, dst):
    rows = list(csv.DictReader(open(src, newline="")))
    head = list(rows[0].keys())
    head += [c for c in TRAIN_COLS if c not in head]
    out = []
    for r in rows:
        r.setdefault("mode", "forward")
        r["mode"] = r["mode"] or "forward"
        out.append(r)
    train = []
    for r in rows:
        if r["variant"] not in ("lora", "mixlora") or r["T"] not in ("16", "128"):
            continue
        if r["status"] != "ok" or r["impl"] not in ("naive", "blas", "onednn"):
            continue
        for opt in (("", "adamw") if (r["variant"], r["T"]) == ("lora", "16") else ("",)):
            t = dict(r)
            med = 2 * float(r["time_us_median"])
            scale = int(r["T"]) / 16
            t.update(mode="train", time_us_median=f"{med:.6g}", fwd_us=f"{0.4 * med:.6g}",
                     bwd_us=f"{0.5 * med:.6g}", saved_bytes=str(int(MIB * scale)),
                     grad_bytes=str(MIB // 2), optimizer_bytes=str(MIB if opt else 0))
            t["case"] = r["case"] + ",mode=train" + (f",opt={opt}" if opt else "")
            train.append(t)
    cases = []
    for t in train:
        if t["case"] not in cases:
            cases.append(t["case"])
    for c in cases:
        mine = [t for t in train if t["case"] == c and t["impl"] != "naive"]
        if not mine:
            continue
        p = dict(mine[0])
        fastest = min(float(t["time_us_median"]) for t in mine)
        scale = int(p["T"]) / 16
        p.update(impl="torch", time_us_median=f"{3 * fastest:.6g}", fwd_us="", bwd_us="",
                 saved_bytes="" if (p["variant"], p["T"]) == ("lora", "128")
                 else str(int(2 * MIB * scale)))
        train.append(p)
    with open(dst, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=head, lineterminator="\n", restval="")
        w.writeheader()
        w.writerows(out + train)


if __name__ == "__main__":
    main(*sys.argv[1:3])

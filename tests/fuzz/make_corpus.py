#!/usr/bin/env python3
"""Regenerates the committed seed corpora of the fuzz targets (corpus/<target>/) from the
suites, the descriptors and results of the tests, small .npy files of tests/data/ref, and the
reproducers of issue 12. Run from anywhere: python3 tests/fuzz/make_corpus.py. Files of the
corpora that this script does not write (inputs added by hand) are kept."""
import glob
import hashlib
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SEP = "#--8<--\n"   # file separator of fuzz_suite's inputs


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = re.sub(r"[^A-Za-z0-9_.=-]", "_", name)[:80]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def c_literals(text):
    """Yields (callee, [decoded string arguments]) of calls whose arguments are C strings."""
    lit = r'"(?:[^"\\\n]|\\.)*"'
    for m in re.finditer(r"\b(write_file|expect_error)\s*\(((?:\s*(?:%s)\s*,?)+)" % lit, text):
        args, cur = [], None
        for tok in re.finditer(r"(%s)|(,)" % lit, m.group(2)):
            if tok.group(1):
                s = tok.group(1)[1:-1].encode().decode("unicode_escape")
                cur = s if cur is None else cur + s
            elif cur is not None:
                args.append(cur)
                cur = None
        if cur is not None:
            args.append(cur)
        yield m.group(1), args


# ---- fuzz_suite -----------------------------------------------------------------------------
for p in sorted(glob.glob(os.path.join(ROOT, "suites", "*.ini"))):
    put("fuzz_suite", "suite_" + os.path.basename(p), open(p).read())
src = open(os.path.join(ROOT, "tests", "test_harness_suite.c")).read()
for callee, args in c_literals(src):
    if len(args) >= 2:
        put("fuzz_suite", "test_" + args[0], args[1])
put("fuzz_suite", "include_defaults.ini",
    "[x]\ninclude = a.ini\nvariant = lora\nT = 1, 8\n[y]\nvariant = mixlora\nh = 64\nf = 128\n"
    "r = 4\nE = 4\nk = 2\n" + SEP + "[defaults]\nh = 64\nr = 4\nreps = 3\n[from_a]\n"
    "variant = router\nh = 32\nE = 4\nk = 1\n")
put("fuzz_suite", "include_chain.ini",
    "include = a.ini\n[s]\nvariant = lora\n" + SEP + "include = b.ini\n[defaults]\nh = 32\n"
    + SEP + "[defaults]\nr = 2\nT = 4\n")
# issue 12 reproducers (3: unbounded validation and includes; 6: silent overrides; 8: messages)
v64 = ", ".join(["8"] * 64)
put("fuzz_suite", "issue12_sweep_4x64_identical.ini",
    "[a]\nvariant = lora\nh = %s\no = %s\nr = 4, %s\nT = %s\n" % (v64, v64, ", ".join(["4"] * 63), v64))
put("fuzz_suite", "issue12_102400_cases.ini",     # 40 x 40 x 8 x 8 distinct cases
    "[a]\nvariant = lora\nr = 1\nT = %s\nh = %s\no = %s\nseed = %s\n"
    % tuple(", ".join(str(i) for i in range(a, a + n))
            for a, n in ((1, 40), (41, 40), (1, 8), (1, 8))))
put("fuzz_suite", "issue12_include_dev_zero.ini",   # neutralised by the target ('/' -> '_')
    "[a]\ninclude = /dev/zero\nvariant = lora\n")
put("fuzz_suite", "issue12_self_include.ini", "[a]\ninclude = suite.ini\nvariant = lora\n")
put("fuzz_suite", "issue12_duplicate_key.ini", "[a]\nvariant = lora\nT = 1, 16\nT = 512\n")
put("fuzz_suite", "issue12_continuation.ini", "[a]\nvariant = lora\nT = 1, 2\n  16\n")
put("fuzz_suite", "issue12_unused_key.ini",
    "[a]\nvariant = mor1e\nk = 4294967296\nf = 99999999999\n")
put("fuzz_suite", "issue12_empty_section.ini", "[a]\nvariant = lora\n[empty]\n")
put("fuzz_suite", "issue12_long_section.ini", "[%s]\nvariant = lora\n" % ("s" * 60))
put("fuzz_suite", "issue12_nul.ini", "[a]\nvariant = lora\nT = 1\x00, 2\n")
put("fuzz_suite", "issue12_threads.ini", "[a]\nvariant = lora\nthreads = 100000\n")
put("fuzz_suite", "issue12_huge_case.ini",
    "[a]\nvariant = lora\nT = 2147483648\nh = 1\no = 1\nr = 1\n")
put("fuzz_suite", "issue12_ub_rank.ini", "[a]\nvariant = lora\nr = 9223372036854775807\n")
put("fuzz_suite", "issue12_ub_tokens.ini",
    "[a]\nvariant = lora\nB = 4294967296\nS = 4294967296\nB = 2\n")

# ---- fuzz_descriptor ------------------------------------------------------------------------
VARIANTS = ["lora", "mlp_lora", "molora", "moelora", "mixlora", "mor1e", "sparse_mlp", "router"]
descs = set(VARIANTS)
pat = re.compile(r"""["'](?:(?:%s):[A-Za-z0-9_=,.+-]*)["']""" % "|".join(VARIANTS))
for p in sorted(glob.glob(os.path.join(ROOT, "tests", "*.c")) +
                glob.glob(os.path.join(ROOT, "tests", "*.sh")) +
                glob.glob(os.path.join(ROOT, "tests", "data", "ref", "*", "case.txt"))):
    for m in pat.finditer(open(p, errors="replace").read()):
        descs.add(m.group(0)[1:-1])
for p in glob.glob(os.path.join(ROOT, "tests", "data", "ref", "*", "case.txt")):
    descs.add(open(p).read().strip())
descs |= {
    "lora:r=9223372036854775807",                 # issue 12 item 5 (spec.c: 2 * r)
    "lora:B=4294967296,S=4294967296,B=2",         # issue 12 item 5 (spec.c: B * S)
    "mor1e:T=16,h=64,o=64,r=4,k=4294967296,f=99999999999",   # item 6: unused keys
    "lora:T=99999999999",                         # item 4: 47,684 GiB
    "lora:h=1000000,o=1000000",
    "mixlora:T=4096,h=16384,f=65536,E=64",
    "moelora:tasks=2147483646",
    "lora:T=2147483648,h=1,o=1,r=1",
    "lora:T=1,T=16",                              # item 6: duplicate keys
    "lora:alpha=1e39,r=4", "lora:p=0.5", "lora:seed=18446744073709551615",
    "mixlora:r=06213023705161793534",             # found by fuzz_descriptor: spec.c 2 * r
    "lora:B=421342378,S=37421342378,S=3413423744",   # found by fuzz_descriptor: spec.c B * S
}
for d in sorted(descs):
    put("fuzz_descriptor", hashlib.sha1(d.encode()).hexdigest()[:12] + "_" + d, d)

# ---- fuzz_results_csv and fuzz_run_json -----------------------------------------------------
for run in ("results_a", "results_b"):
    base = os.path.join(ROOT, "tests", "data", run)
    put("fuzz_results_csv", run + "_results.csv", open(os.path.join(base, "results.csv"), "rb").read())
    samples = open(os.path.join(base, "samples.csv"), "rb").read()
    put("fuzz_results_csv", run + "_samples_head.csv", b"".join(samples.splitlines(True)[:40]))
    put("fuzz_run_json", run + "_run.json", open(os.path.join(base, "run.json"), "rb").read())
head = open(os.path.join(ROOT, "tests", "data", "results_a", "results.csv")).read().splitlines(True)
hdr, row = head[0], head[1]
put("fuzz_results_csv", "issue12_backquote_impl.csv",
    hdr + row.replace(",naive,", ",\"`touch pwned` system('id') \"\"q\"\"\nx\",", 1))
put("fuzz_results_csv", "issue12_unterminated_quote.csv", hdr + row[:40] + "\"never closed,1,2\n")
put("fuzz_results_csv", "issue12_nul.csv", hdr + row[:30] + "\x00" + row[30:])
put("fuzz_results_csv", "issue12_commas.csv", hdr + "," * 8192 + "\n")
put("fuzz_results_csv", "issue12_partial_line.csv", hdr + row + row[:50])
put("fuzz_results_csv", "crlf.csv", (hdr + row).replace("\n", "\r\n"))
put("fuzz_run_json", "issue12_backquote_run_id.json",
    '{"run_id": "`touch pwned`\\nsystem(\\"id\\")", "machine": {"cpu_model": "\'q\'"}}')
put("fuzz_run_json", "settings_huge.json",
    '{"run_id": "x", "settings": {"threads_option": 1e300, "cache_option": "warm", '
    '"reps": -1e300, "min_time_s": 1e308}}')
put("fuzz_run_json", "settings_ok.json",
    '{"run_id": "x", "settings": {"threads_option": 0, "cache_option": "suite/warm", '
    '"reps": 5, "min_time_s": 0.5}}')
put("fuzz_run_json", "roofline_levels.json",
    '{"run_id": "x", "roofline": {"peak_gflops": 1e308, "peak_gflops_1t": -1, "dram_gbps": 0,'
    ' "l1_gbps": 1e-300, "l2_gbps_1t": "x", "source": "/dev/zero"}}')
put("fuzz_run_json", "nested.json", "[" * 200 + "]" * 200)
put("fuzz_run_json", "not_object.json", '"just a string"')

# ---- fuzz_npy -------------------------------------------------------------------------------
seen = set()
for p in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "ref", "*", "*.npy"))):
    data = open(p, "rb").read()
    hdr_len = struct.unpack("<H", data[8:10])[0]
    key = re.sub(rb"\d+", b"N", data[10:10 + hdr_len])   # one seed per dtype and rank
    if len(data) <= 4096 and key not in seen:
        seen.add(key)
        put("fuzz_npy", os.path.basename(os.path.dirname(p)) + "_" + os.path.basename(p), data)


def npy(header, body=b"", version=1):
    h = header.encode()
    pre = b"\x93NUMPY" + bytes([version, 0])
    if version == 1:
        return pre + struct.pack("<H", len(h)) + h + body
    return pre + struct.pack("<I", len(h)) + h + body


put("fuzz_npy", "v2_f4.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n",
                                 struct.pack("<2f", 1.0, 2.0), version=2))
put("fuzz_npy", "v3_i8.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }\n",
                                 struct.pack("<2q", 1, 1 << 40), version=3))
put("fuzz_npy", "scalar_i4.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (), }\n",
                                     struct.pack("<i", 7)))
put("fuzz_npy", "empty.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }\n"))
put("fuzz_npy", "fortran.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n",
                                   b"\0" * 4))
put("fuzz_npy", "shape_overflow.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n"))
put("fuzz_npy", "huge_claim.npy",
    npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1152921504606846975,), }\n"))
put("fuzz_npy", "nine_dims.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", b"\0" * 4))

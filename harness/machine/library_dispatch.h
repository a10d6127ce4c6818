/* Library dispatch, stated: which OpenBLAS core and oneDNN ISA this process runs against what
 * the CPU executes, whether an OPENBLAS_CORETYPE request was honoured, and, when a library runs
 * below the CPU (Debian's OpenBLAS 0.3.21 takes its SSE3 Prescott core on CPU models it does not
 * know), the warning and its remedy, for the console, run.json and the charts' footnote. */
#ifndef MOEBENCH_LIBRARY_DISPATCH_H
#define MOEBENCH_LIBRARY_DISPATCH_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stddef.h>

/* The warning about the OpenBLAS core, with the remedy ("" and 0 when the core is as good as
 * the CPU, or unknown). One sentence, the same in run.json, on the console and on the charts. */
int mb_library_dispatch_warning(char *out, size_t n);

/* run.json's "library_dispatch" object: cpu_executes, openblas {core, core_isa, config,
 * openblas_coretype_requested, openblas_coretype_source, honoured, weaker_than_cpu, warning,
 * remedy}, onednn {isa, weaker_than_cpu}. */
cJSON *mb_library_dispatch_json(void);

/* The console lines: one statement ("OpenBLAS core Zen (avx2), oneDNN avx2, CPU executes
 * avx2") unless quiet, and each warning (core below the CPU, a request OpenBLAS ignored). */
void mb_library_dispatch_print(FILE *f, const char *cmd, int quiet);

#endif

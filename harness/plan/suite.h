/* Suite files (INI, parsed with inih). A section is a group of cases; its keys are spec keys
 * (T B S h o f r E k alpha p act tasks te share shard seed dtype), `variant`, `impl` (`all`, a
 * list, or `all, naive`: every implementation plus naive named explicitly, as --impl; at most
 * MB_MAX_CASE_IMPLS names) and harness settings (reps, min_time, cache, timeout, threads). A
 * comma list is a sweep: the section expands to the cartesian product of its lists (`impl`
 * excepted: it lists the implementations each case runs); threads and cache are sweep keys like
 * the shape keys. A list of a key the case's variant does not use is not multiplied in. A case
 * is shape x threads x cache: two sections giving the same one run it once with the union of
 * their implementations, and must agree on reps, min_time and timeout (else an error). Section
 * names are unique, at most 49 characters, and no section is empty. [defaults] (also
 * [default], [common] or keys before any section) applies to every section, where the variant
 * uses the key; `include = other.ini` (relative to the including file) pulls the other file's
 * [defaults] into the section where it appears (the section's own keys win), and adds its case
 * sections. Nothing is silently replaced or ignored: a key given twice in a section, a value
 * listed twice, an indented (continuation) line, a key a section gives that none of its
 * variants uses, and an include cycle are errors. Only regular files of at most 1 MiB are read;
 * a load builds at most 100,000 cases, counted before any is built. Every case is validated at
 * load time; the first problem is reported as "file:line: reason" and nothing is returned. */
#ifndef MOEBENCH_SUITE_H
#define MOEBENCH_SUITE_H

#include <stddef.h>
#include "moebench/spec.h"
#include "csv.h"

#define MB_MAX_CASE_IMPLS 16
#define MB_MAX_SUITE_FILES 32

typedef struct {
    mb_spec spec;
    char desc[MB_DESC_LEN];                      /* canonical descriptor (mb_spec_format) */
    int impl_all;                                /* `impl = all` (or no impl key) */
    int n_impls;
    char impls[MB_MAX_CASE_IMPLS][24];
    /* harness settings; <= 0 means "not set in the suite" */
    int reps;
    double min_time;
    int cache;                                   /* 0 unset, 1 warm, 2 cold */
    double timeout;
    int threads;
    char origin[320];                            /* file:line of the section header */
} mb_case;

typedef struct {
    mb_case *cases;
    size_t n, cap;
    int n_files;
    char *file_path[MB_MAX_SUITE_FILES];         /* every file read, includes too */
    char *file_content[MB_MAX_SUITE_FILES];
} mb_suite;

/* Appends the cases of the file at path. 0 on success; -1 with "file:line: reason" in err. */
int mb_suite_load(const char *path, mb_suite *s, char *err, size_t errlen);
void mb_suite_free(mb_suite *s);

#endif

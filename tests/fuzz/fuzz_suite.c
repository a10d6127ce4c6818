/* libFuzzer target: the suite loader with validation (mb_suite_load), includes too.
 *
 * The input is one or more INI files separated by lines "#--8<--": the first is suite.ini, the
 * next a.ini, b.ini, c.ini, written side by side in the scratch directory, so `include = a.ini`
 * reads fuzzed content. Every '/' of the input becomes '_' first: an include then names only
 * these files (or the directory itself), never /dev/zero, a fifo or other files of the machine,
 * which would measure the file system instead of the parser and could block the run (the
 * regular-file check of includes has its own tests). For every loaded case (the first 64), its
 * canonical descriptor must parse back to a valid spec with the same canonical form. */
#include "fuzz_util.h"
#include "suite.h"

#include <stdlib.h>
#include <string.h>

#define SEPARATOR "#--8<--\n"
static const char *const names[] = {"suite.ini", "a.ini", "b.ini", "c.ini"};
#define N_FILES (sizeof names / sizeof names[0])

static void check_case(const mb_case *c)
{
    mb_spec s;
    mb_err err = {0};
    fz_require(mb_spec_parse(c->desc, &s, &err) == MB_OK, "%s: loaded case '%s' does not parse: %s",
               c->origin, c->desc, err.msg);
    fz_require(mb_spec_validate(&s, 0, &err) == MB_OK, "%s: loaded case '%s' is not valid: %s",
               c->origin, c->desc, err.msg);
    char again[MB_DESC_LEN];
    int len = mb_spec_format(&s, again, sizeof again);
    fz_require(len > 0 && (size_t)len < sizeof again && !strcmp(again, c->desc),
               "%s: case '%s' formats back as '%s'", c->origin, c->desc, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    fz_require(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t i = 0; i < size; i++)
        if (text[i] == '/')
            text[i] = '_';

    /* split into files at separator lines; bytes after a NUL still belong to the file */
    const char *start = text, *end = text + size;
    size_t nfile = 0;
    while (nfile < N_FILES) {
        const char *cut = NULL;
        for (const char *p = start; p + strlen(SEPARATOR) <= end; p++)
            if ((p == text || p[-1] == '\n') && !memcmp(p, SEPARATOR, strlen(SEPARATOR))) {
                cut = p;
                break;
            }
        if (!cut || nfile + 1 == N_FILES)
            cut = end;
        fz_write(names[nfile++], start, (size_t)(cut - start));
        if (cut == end)
            break;
        start = cut + strlen(SEPARATOR);
    }
    for (size_t i = nfile; i < N_FILES; i++)
        fz_remove(names[i]);
    free(text);

    char path[1024], err[2048];
    fz_path(names[0], path, sizeof path);
    mb_suite suite;
    memset(&suite, 0, sizeof suite);
    if (mb_suite_load(path, &suite, err, sizeof err) == 0) {
        for (size_t i = 0; i < suite.n && i < 64; i++)
            check_case(&suite.cases[i]);
    } else {
        fz_require(err[0] != '\0', "mb_suite_load failed without a message");
    }
    mb_suite_free(&suite);
    return 0;
}

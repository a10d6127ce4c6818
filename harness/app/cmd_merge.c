/* `moebench merge OUT DIR...`: the shards of one run into one results directory (dist/merge.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "merge.h"
#include "plot.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: moebench merge OUT DIR... [--no-plot]\n"
               "  Combines the results directories of the shards of one run (moebench run --shard\n"
               "  I/N, one per shard, or the ranks of --mpi) into the new directory OUT:\n"
               "  results.csv holds the rows an unsharded run writes, in its order; samples.csv\n"
               "  every shard's samples; run.json the first shard's with the counts added up and\n"
               "  every shard's host and provenance under \"shards\". Refused (exit 2, OUT not\n"
               "  created) when the directories are not the shards of one run (other suite,\n"
               "  commit or settings, a shard missing or given twice) or rows are missing or\n"
               "  duplicated, each named. Charts are drawn into OUT unless --no-plot.\n");
}

int mb_cmd_merge(int argc, char **argv)
{
    int no_plot = 0, n = 0;
    char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
    const char *out = NULL;
    if (!dirs)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(dirs);
            return 0;
        }
        if (!strcmp(argv[i], "--no-plot"))
            no_plot = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "moebench merge: unknown option '%s'\n", argv[i]);
            usage(stderr);
            free(dirs);
            return 2;
        } else if (!out)
            out = argv[i];
        else
            dirs[n++] = argv[i];
    }
    if (!out || n == 0) {
        fprintf(stderr, "moebench merge: needs OUT and at least one shard directory\n");
        usage(stderr);
        free(dirs);
        return 2;
    }
    char err[200000];
    int rc = mb_merge_dirs(out, dirs, n, err, sizeof err);
    free(dirs);
    if (rc) {
        fprintf(stderr, "moebench merge: %s\n", err);
        return rc;
    }
    printf("merged %d shard%s into %s\n", n, n == 1 ? "" : "s", out);
    if (!no_plot && mb_plot_results(out) != 0)
        fprintf(stderr, "moebench merge: warning: plotting failed (the merged results are "
                        "intact)\n");
    return 0;
}

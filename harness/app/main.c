/* moebench: entry point, dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>
#include "commands.h"

static const struct { const char *name; int (*fn)(int, char **); const char *help; } cmds[] = {
    {"list", mb_cmd_list, "variants x implementations on this machine, with reasons"},
    {"run", mb_cmd_run, "run suites (default: suites/default.ini), then plot"},
    {"case", mb_cmd_case, "run one case descriptor, e.g. 'lora:T=16,h=4096'"},
    {"check", mb_cmd_check, "correctness only; exit 1 on any mismatch"},
    {"plot", mb_cmd_plot, "charts from a results directory"},
    {"compare", mb_cmd_compare, "per-case ratios of two results, with 95% CI and significance"},
    {"table", mb_cmd_table, "a run as the table a paper prints (md, latex, csv)"},
    {"export", mb_cmd_export, "a run as Google Benchmark JSON (its compare.py reads it)"},
    {"time", mb_cmd_time, "time one case descriptor, e.g. 'lora:T=16,h=4096' --impl blas"},
    {"roofline", mb_cmd_roofline, "measure this machine's ceilings (peak FLOP/s, bandwidth)"},
    {"merge", mb_cmd_merge, "combine the shards of one run (run --shard I/N, --mpi)"},
    {"mpi-bench", mb_cmd_mpi_bench, "MPI all-to-all time over message sizes, alpha-beta fit"},
    {"project-ep", mb_cmd_project_ep, "expert-parallel step time on N nodes, by model"},
    {"dump", mb_cmd_dump, "inputs, weights, routing and output of a case as .npy files"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: moebench COMMAND [ARGS]   (moebench COMMAND --help for details)\n\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(out, "  %-9s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "moebench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

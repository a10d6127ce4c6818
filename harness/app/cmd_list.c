/* `moebench list`: the variant x implementation matrix of this build and machine, each cell
 * "ok" or "unavailable: REASON" as the implementation itself reports it for the variant's
 * default spec. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "moebench/moebench.h"
#include "mpi_env.h"

/* The precisions an implementation runs beyond f32 are not implied by "ok": each one it would
 * skip gets its own line, "      bf16: REASON" (indented past the implementation's column). */
static void print_precisions(const mb_impl *impl, const mb_spec *def)
{
    static const struct { const char *key; mb_dtype dtype, wq; } prec[] = {
        {"bf16", MB_BF16, MB_F32}, {"wq=int8", MB_F32, MB_I8}, {"wq=int4", MB_F32, MB_I4},
    };
    for (size_t p = 0; p < sizeof prec / sizeof prec[0]; p++) {
        mb_spec s = *def;
        s.dtype = prec[p].dtype;
        s.wq = prec[p].wq;
        if (s.wq != MB_F32 && !mb_variant_uses(s.variant, "wq"))
            continue;
        if (s.wq == MB_I4 && s.h % MB_WQ_GROUP)
            continue;
        const char *why = impl->unsupported(&s);
        if (why)
            printf("      %s: %s\n", prec[p].key, why);
    }
}

int mb_cmd_list(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: moebench list\n\nFor every variant, every implementation: ok, or "
                   "unavailable with the reason.\n");
            return 0;
        }
        fprintf(stderr, "moebench list: unexpected argument '%s'\n", argv[i]);
        return 2;
    }
    printf("implementations:");
    for (int i = 0; i < mb_impl_count(); i++)
        printf(" %s", mb_impl_at(i)->name);
    printf("\n");
    /* the kernels' work counts: PAPI Software Defined Events when built with libsde */
    if (mb_work_sde_register() == 0)
        printf("counters: the kernels' work counts are PAPI SDE events sde:::moebench::flops, ... "
               "(libsde)\n");
    else
        printf("counters: the kernels' work counts are read directly, not PAPI SDE events: built "
               "without libsde (apt-get install libpapi-dev libsde1)\n");
    /* not "word: ..." (that is a variant's heading in this listing) */
    if (mb_mpi_unavailable())
        printf("MPI (run --mpi, ep=N, mpi-bench) unavailable: %s\n", mb_mpi_unavailable());
    else
        printf("MPI (run --mpi, ep=N, mpi-bench) ok: %s\n", mb_mpi_version());
    for (int v = 0; v < MB_NUM_VARIANTS; v++) {
        mb_spec s;
        mb_spec_default(&s, (mb_variant_id)v);
        char desc[256];
        mb_spec_format(&s, desc, sizeof desc);
        printf("\n%s: %s\n", mb_variant_name((mb_variant_id)v), mb_variant_summary((mb_variant_id)v));
        printf("  fields: %s\n", mb_variant_fields((mb_variant_id)v));
        printf("  default: %s\n", desc);
        if (mb_variant_uses((mb_variant_id)v, "ep"))
            printf("  expert parallel (ep=N): %s\n", mb_mpi_unavailable()
                       ? mb_mpi_unavailable() : "ok, under mpirun -np N moebench run --mpi");
        /* the direction axis: train cases are skipped with this reason until implemented */
        mb_spec tr = s;
        tr.mode = MB_MODE_TRAIN;
        const char *train_why = mb_impl_mode_unsupported(mb_impl_find("naive"), &tr);
        printf("  modes: forward%s%s\n", train_why ? "; train unavailable: " : ", train",
               train_why ? train_why : "");
        printf("  train keys: p (LoRA dropout), opt (none|adamw)%s\n",
               mb_variant_routed((mb_variant_id)v) ? ", aux (default 0.01), zloss (default 0)" : "");
        for (int i = 0; i < mb_impl_count(); i++) {
            const mb_impl *impl = mb_impl_at(i);
            const char *why = impl->unsupported ? impl->unsupported(&s) : "no unsupported() hook";
            if (why) {
                printf("  %-8s unavailable: %s\n", impl->name, why);
                continue;
            }
            printf("  %-8s ok\n", impl->name);
            print_precisions(impl, &s);
        }
    }
    return 0;
}

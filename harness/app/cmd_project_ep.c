/* `moebench project-ep CASE`: the expert-parallel step time of a case over node counts and
 * networks, from this machine's measured compute (dist/project_ep.h), as CSV, JSON and a chart;
 * --measured compares the model with ep rows of real runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "csv.h"
#include "fileutil.h"
#include "moebench/moebench.h"
#include "mpi_bench.h"
#include "plot_gnuplot.h"
#include "project_ep.h"
#include "provenance.h"

#define MAX_LIST 32
#define MAX_SERIES (MAX_LIST + 1)
#define MAX_MEASURED 8

static void usage(FILE *f)
{
    fprintf(f,
            "usage: moebench project-ep CASE [--nodes 2,4,8,16,64] [--link-gbps 100,400]\n"
            "                         [--latency-us 2] [--fit mpi_bench.json] [--impl blas]\n"
            "                         [--threads 1] [--share F] [--measured results.csv ...]\n"
            "                         [--out DIR] [--no-plot]\n"
            "  Measures the router and each expert of CASE (sparse_mlp, mixlora or router; its ep\n"
            "  is ignored) with --impl on --threads threads, then predicts the expert-parallel step\n"
            "  per phase (route, dispatch, expert, combine) on each number of nodes (one rank\n"
            "  per node, T/N tokens and E/N experts each) for each link speed (Gbit/s, with\n"
            "  --latency-us per message) and, with --fit, the network mpi-bench measured.\n"
            "  Writes DIR/project_ep.csv, project_ep.json (inputs and model) and the chart\n"
            "  project_ep.png/.pdf (default DIR results/project-ep-<UTC time>). --measured\n"
            "  FILE: the ok ep rows of CASE in a results.csv (runs of N ranks on this\n"
            "  machine), each compared with the model at N on the --fit network, the compute\n"
            "  measured again while N processes compute at once, as the ranks did. --share F\n"
            "  multiplies the compute terms. The model's formulas: README, 'Projecting expert\n"
            "  parallelism'. Exit 2 for bad options or a case that cannot be projected.\n");
}

static int parse_list(const char *s, double *out, int max, int integer)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        double v = strtod(t, &end);
        if (end == t || *end || !(v > 0) || v > 1e6 || n >= max || (integer && v != floor(v)))
            return -1;
        out[n++] = v;
    }
    return n;
}

typedef struct {
    char name[96];
    double alpha, beta;
} network;

/* Ok ep rows of the case in a results.csv, against the model. */
static void compare_measured(const char *path, const mb_ep_measure *m, const network *fit,
                             double share_opt, FILE *dat, int *n_points)
{
    mb_csv_table t;
    char err[1024];
    if (mb_csv_load(path, &t, err, sizeof err) != 0) {
        fprintf(stderr, "moebench project-ep: --measured: %s\n", err);
        return;
    }
    char want[512];
    mb_spec_format(&m->spec, want, sizeof want);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (size_t i = 0; i < t.nrows; i++) {
        const char *ep = mb_csv_get(&t, i, "ep");
        if (!ep[0] || strcmp(mb_csv_get(&t, i, "status"), "ok") ||
            strcmp(mb_csv_get(&t, i, "impl"), m->impl))
            continue;
        mb_spec s;
        mb_err e;
        mb_err_clear(&e);
        char have[512];
        if (mb_spec_parse(mb_csv_get(&t, i, "case"), &s, &e))
            continue;
        s.ep = 1;
        mb_spec_format(&s, have, sizeof have);
        if (strcmp(have, want))
            continue;
        int N = atoi(ep);
        double share = share_opt > 0 ? share_opt : 1;
        /* the run's N ranks computed at once on this machine: measure that way */
        mb_ep_measure *mc = calloc(1, sizeof *mc);
        if (!mc || mb_ep_measure_case(&m->spec, m->impl, m->threads, N, mc, err, sizeof err)) {
            fprintf(stderr, "moebench project-ep: --measured: measuring with %d processes: %s\n",
                    N, mc ? err : "out of memory");
            free(mc);
            continue;
        }
        mb_ep_pred p;
        mb_ep_predict(mc, N, fit->alpha, fit->beta, share, &p);
        mb_ep_measure_free(mc);
        free(mc);
        double ph[5] = {atof(mb_csv_get(&t, i, "route_us")), atof(mb_csv_get(&t, i, "dispatch_us")),
                        atof(mb_csv_get(&t, i, "expert_us")), atof(mb_csv_get(&t, i, "combine_us")),
                        atof(mb_csv_get(&t, i, "time_us_median"))};
        double pr[5] = {p.route * 1e6, p.dispatch * 1e6, p.expert * 1e6, p.combine * 1e6,
                        p.total * 1e6};
        const char *names[5] = {"route", "dispatch", "expert", "combine", "step"};
        printf("measured ep=%d (%s, %s thread(s) per rank), predicted on %s with the compute "
               "measured while %d processes compute (%ld CPUs):\n", N, path,
               mb_csv_get(&t, i, "threads"), fit->name, N, online);
        for (int q = 0; q < 5; q++)
            printf("  %-8s measured %10.1f us  predicted %10.1f us  predicted/measured %.2f\n",
                   names[q], ph[q], pr[q], ph[q] > 0 ? pr[q] / ph[q] : NAN);
        fprintf(dat, "%d %.6g\n", N, ph[4] / 1e3);
        (*n_points)++;
    }
    mb_csv_free(&t);
}

int mb_cmd_project_ep(int argc, char **argv)
{
    const char *desc = NULL, *fit_path = NULL, *out = NULL, *impl = "blas";
    const char *measured[MAX_MEASURED];
    int n_measured = 0, no_plot = 0, threads = 1;
    double nodes[MAX_LIST] = {2, 4, 8, 16, 64}, links[MAX_LIST] = {100, 400};
    int n_nodes = 5, n_links = 2;
    double latency_us = 2, share = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--no-plot")) {
            no_plot = 1;
            continue;
        }
        if (a[0] != '-') {
            if (desc) {
                fprintf(stderr, "moebench project-ep: one CASE only ('%s', '%s')\n", desc, a);
                return 2;
            }
            desc = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "moebench project-ep: %s: unknown option or missing value\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        double x[1];
        int ok = 1;
        if (!strcmp(a, "--nodes"))
            ok = (n_nodes = parse_list(v, nodes, MAX_LIST, 1)) > 0;
        else if (!strcmp(a, "--link-gbps"))
            ok = (n_links = parse_list(v, links, MAX_LIST, 0)) > 0;
        else if (!strcmp(a, "--latency-us"))
            ok = parse_list(v, x, 1, 0) == 1 && ((latency_us = x[0]), 1);
        else if (!strcmp(a, "--share"))
            ok = parse_list(v, x, 1, 0) == 1 && ((share = x[0]), 1);
        else if (!strcmp(a, "--threads"))
            ok = parse_list(v, x, 1, 1) == 1 && ((threads = (int)x[0]), 1);
        else if (!strcmp(a, "--fit"))
            fit_path = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--impl"))
            impl = v;
        else if (!strcmp(a, "--measured") && n_measured < MAX_MEASURED)
            measured[n_measured++] = v;
        else
            ok = 0;
        if (!ok) {
            fprintf(stderr, "moebench project-ep: %s '%s': unknown option or bad value (lists "
                            "of positive numbers, nodes integers)\n", a, v);
            return 2;
        }
    }
    if (!desc) {
        fprintf(stderr, "moebench project-ep: needs a CASE (e.g. "
                        "'sparse_mlp:T=512,h=4096,f=14336,E=8,k=2')\n");
        usage(stderr);
        return 2;
    }
    mb_spec s;
    mb_err e;
    mb_err_clear(&e);
    if (mb_spec_parse(desc, &s, &e) || mb_spec_validate(&s, 0, &e)) {
        fprintf(stderr, "moebench project-ep: invalid case '%s': %s\n", desc, e.msg);
        return 2;
    }
    network nets[MAX_SERIES];
    int n_nets = 0;
    char err[1024];
    if (fit_path) {
        mb_a2a_fit f;
        if (mb_a2a_fit_load(fit_path, &f, err, sizeof err)) {
            fprintf(stderr, "moebench project-ep: %s\n", err);
            return 2;
        }
        snprintf(nets[0].name, sizeof nets[0].name, "mpi-bench fit (%.1f us, %.1f GB/s)",
                 f.alpha_s * 1e6, 1 / f.beta_s_per_byte / 1e9);
        nets[0].alpha = f.alpha_s;
        nets[0].beta = f.beta_s_per_byte;
        n_nets = 1;
    }
    for (int i = 0; i < n_links; i++, n_nets++) {
        snprintf(nets[n_nets].name, sizeof nets[n_nets].name, "%g Gbit/s, %g us", links[i],
                 latency_us);
        nets[n_nets].alpha = latency_us * 1e-6;
        nets[n_nets].beta = 8 / (links[i] * 1e9);
    }
    mb_ep_measure *m = calloc(1, sizeof *m);
    if (!m)
        return 1;
    fprintf(stderr, "moebench project-ep: measuring the router and the %lld experts of %s "
                    "(%s, %d thread%s)\n", (long long)s.E, desc, impl, threads,
            threads == 1 ? "" : "s");
    int rc = mb_ep_measure_case(&s, impl, threads, 1, m, err, sizeof err);
    if (rc) {
        fprintf(stderr, "moebench project-ep: %s: %s\n", desc, err);
        free(m);
        return rc;
    }
    char dir[4096];
    if (out)
        snprintf(dir, sizeof dir, "%s", out);
    else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tmv;
        gmtime_r(&now, &tmv);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
        snprintf(dir, sizeof dir, "%s/results/project-ep-%s", MOEBENCH_SOURCE_DIR, stamp);
    }
    char why[1024], path[4300];
    if (mb_mkdir_p(dir, why, sizeof why)) {
        fprintf(stderr, "moebench project-ep: cannot create %s: %s\n", dir, why);
        mb_ep_measure_free(m);
        free(m);
        return 1;
    }
    snprintf(path, sizeof path, "%s/project_ep.csv", dir);
    FILE *csv = fopen(path, "w");
    char *dat_text = NULL;
    size_t dat_len = 0;
    FILE *dat = open_memstream(&dat_text, &dat_len);
    if (!csv || !dat) {
        fprintf(stderr, "moebench project-ep: cannot write %s\n", path);
        if (csv)
            fclose(csv);
        if (dat)
            fclose(dat);
        free(dat_text);
        mb_ep_measure_free(m);
        free(m);
        return 1;
    }
    fprintf(csv, "network,nodes,route_us,dispatch_us,expert_us,combine_us,step_us,bytes_per_pair\n");
    double mean_e = 0;
    for (int64_t x = 0; x < s.E; x++)
        mean_e += m->expert_bal_s[x] / s.E;
    if (s.variant == MB_ROUTER)
        printf("%s, %s, %d thread%s per rank; dispatch only (no experts), route %.3f us per "
               "token\n", desc, impl, threads, threads == 1 ? "" : "s",
               m->route_s_per_token * 1e6);
    else
        printf("%s, %s, %d thread%s per rank; expert %.1f us each on %lld rows (mean), route "
               "%.3f us per token, the token owner's compute %.3f us per token\n", desc, impl,
               threads, threads == 1 ? "" : "s", mean_e * 1e6, (long long)m->rows_per_expert,
               m->route_s_per_token * 1e6, m->local_s_per_token * 1e6);
    printf("%-36s %6s %10s %10s %10s %10s %10s\n", "network", "nodes", "route_us", "dispatch_us",
           "expert_us", "combine_us", "step_us");
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "case", desc);
    cJSON_AddStringToObject(j, "impl", impl);
    cJSON_AddNumberToObject(j, "threads", threads);
    cJSON_AddNumberToObject(j, "route_us_per_token", m->route_s_per_token * 1e6);
    cJSON_AddNumberToObject(j, "rows_per_expert", (double)m->rows_per_expert);
    cJSON_AddNumberToObject(j, "local_us_per_token", m->local_s_per_token * 1e6);
    cJSON *ex = cJSON_AddArrayToObject(j, "expert_us");
    cJSON *exb = cJSON_AddArrayToObject(j, "expert_balanced_us");
    cJSON *cn = cJSON_AddArrayToObject(j, "expert_rows");
    for (int64_t x = 0; x < s.E; x++) {
        cJSON_AddItemToArray(ex, cJSON_CreateNumber(m->expert_s[x] * 1e6));
        cJSON_AddItemToArray(exb, cJSON_CreateNumber(m->expert_bal_s[x] * 1e6));
        cJSON_AddItemToArray(cn, cJSON_CreateNumber((double)m->counts[x]));
    }
    cJSON_AddNumberToObject(j, "row_floats_dispatch", (double)m->win);
    cJSON_AddNumberToObject(j, "row_floats_combine", (double)m->wout);
    cJSON_AddNumberToObject(j, "copy_gbytes_per_s", 1 / m->copy_s_per_byte / 1e9);
    cJSON_AddStringToObject(j, "model", "README 'Projecting expert parallelism': per rank r "
                            "(T/N tokens, E/N experts) from the case's routing: route = c_route "
                            "T/N; dispatch = (N-1) alpha + max(sent, received) rows b_in beta + "
                            "c_copy b_in (R + S + V); expert = c_local T/N + sum of its experts' "
                            "t_e on their rows; combine = (N-1) alpha + max(sent, received) rows "
                            "b_out beta + c_copy b_out (V + S + 1.5 R); each phase the busiest "
                            "rank's; balanced routing when T % N or E % N != 0");
    cJSON *nj = cJSON_AddArrayToObject(j, "networks");
    for (int n = 0; n < n_nets; n++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", nets[n].name);
        cJSON_AddNumberToObject(o, "alpha_us", nets[n].alpha * 1e6);
        cJSON_AddNumberToObject(o, "bandwidth_gbytes_per_s", 1 / nets[n].beta / 1e9);
        cJSON *pts = cJSON_AddArrayToObject(o, "points");
        for (int q = 0; q < n_nodes; q++) {
            mb_ep_pred p;
            int N = (int)nodes[q];
            mb_ep_predict(m, N, nets[n].alpha, nets[n].beta, share > 0 ? share : 1, &p);
            fprintf(csv, "\"%s\",%d,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n", nets[n].name, N,
                    p.route * 1e6, p.dispatch * 1e6, p.expert * 1e6, p.combine * 1e6,
                    p.total * 1e6, p.bytes_per_pair);
            fprintf(dat, "%d %.6g %.6g %.6g %.6g %.6g\n", N, p.route * 1e3, p.dispatch * 1e3,
                    p.expert * 1e3, p.combine * 1e3, p.total * 1e3);
            printf("%-36s %6d %10.1f %10.1f %10.1f %10.1f %10.1f\n", nets[n].name, N,
                   p.route * 1e6, p.dispatch * 1e6, p.expert * 1e6, p.combine * 1e6,
                   p.total * 1e6);
            cJSON *pj = cJSON_CreateObject();
            cJSON_AddNumberToObject(pj, "nodes", N);
            cJSON_AddNumberToObject(pj, "route_us", p.route * 1e6);
            cJSON_AddNumberToObject(pj, "dispatch_us", p.dispatch * 1e6);
            cJSON_AddNumberToObject(pj, "expert_us", p.expert * 1e6);
            cJSON_AddNumberToObject(pj, "combine_us", p.combine * 1e6);
            cJSON_AddNumberToObject(pj, "step_us", p.total * 1e6);
            cJSON_AddItemToArray(pts, pj);
        }
        cJSON_AddItemToArray(nj, o);
        fprintf(dat, "\n\n");
    }
    int n_points = 0;
    for (int q = 0; q < n_measured; q++)
        compare_measured(measured[q], m, &nets[0], share, dat, &n_points);
    if (n_measured && !fit_path)
        fprintf(stderr, "moebench project-ep: --measured compared on %s (give --fit for the "
                        "network the runs used)\n", nets[0].name);
    if (!n_points)
        fprintf(dat, "2 NaN\n");
    fclose(csv);
    fclose(dat);
    snprintf(path, sizeof path, "%s/project_ep.json", dir);
    if (mb_json_write_file(path, j))
        fprintf(stderr, "moebench project-ep: cannot write %s\n", path);
    cJSON_Delete(j);
    rc = 0;
    if (!no_plot) {
        mb_plot_out o;
        char foot[600];
        snprintf(foot, sizeof foot, "moebench project-ep: %s, %s, %d thread(s) per rank; model in "
                 "README", desc, impl, threads);
        if (mb_gnuplot_available(err, sizeof err) != 0)
            fprintf(stderr, "moebench project-ep: no chart: %s\n", err);
        else if (mb_plot_out_begin(&o, dir, foot, err, sizeof err) == 0) {
            FILE *f = mb_plot_out_open(&o, "project_ep.dat");
            if (f) {
                fputs(dat_text, f);
                fclose(f);
            }
            mb_gp_buf gp = {0};
            mb_gp_printf(&gp, "datafile = 'project_ep.dat'\nnseries = %d\narray netname[%d]\n",
                         n_nets, n_nets);
            for (int n = 0; n < n_nets; n++) {
                char var[32];
                snprintf(var, sizeof var, "netname[%d]", n + 1);
                mb_gp_var_str(&gp, var, nets[n].name);
            }
            mb_gp_printf(&gp, "has_measured = %d\nmeasured_index = %d\n", n_points > 0, n_nets);
            char title[700];
            snprintf(title, sizeof title, "Expert-parallel step, projected: %s\n(T/N tokens "
                     "and E/N experts per node)", desc);
            mb_gp_var_str(&gp, "title_text", title);
            if (mb_plot_render(&o, "project_ep", "project_ep", gp.s, 1200, 650, err, sizeof err) ||
                mb_plot_out_commit(&o, err, sizeof err)) {
                fprintf(stderr, "moebench project-ep: chart failed: %s\n", err);
                mb_plot_out_abort(&o);
                rc = 1;
            }
            mb_gp_free(&gp);
        } else
            fprintf(stderr, "moebench project-ep: chart: %s\n", err);
    }
    free(dat_text);
    mb_ep_measure_free(m);
    free(m);
    printf("projection: %s\n", dir);
    return rc;
}

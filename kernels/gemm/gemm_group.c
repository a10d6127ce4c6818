/* Grouped GEMMs split over threads by the work, not by the jobs (moebench/gemm.h,
 * mb_gemm_group): every job is cut into row x column tiles, all tiles of all jobs go into one
 * task list, largest first, and the OpenMP threads take them one at a time, each task one
 * single-threaded provider call. A MoE layer's experts are the jobs: with one expert owning
 * most rows, its tiles are most of the list and every thread gets its share of them; handed
 * to the library one expert at a time instead, the small experts' GEMMs pay the library's
 * threading and split overhead, which a skewed routing multiplies (issue 16). */
#include <omp.h>
#include "moebench/gemm.h"
#include "moebench/work.h"

const mb_gemm_tiling mb_gemm_tiling_default = {256, 64, 16, 4};

/* Jobs planned together: the plan lives on the stack (a forward allocates nothing), so a
 * longer group runs in batches of this many jobs. */
#define GROUP_BATCH 256

/* One job's cut: rows x cols tasks, numbered from first in the batch's task list. */
typedef struct {
    int64_t job, rows, cols, first, N, K;
    double tile;   /* work of one task */
} job_plan;

int mb_gemm_group_splits(const mb_gemm_provider *gp, mb_dtype dt)
{
    if ((unsigned)dt >= MB_DTYPE_COUNT || !(mb_gemm_dtypes(gp) & MB_DTYPE_BIT(dt)))
        return 0;
    const mb_gemm_ops *o = &gp->ops[dt];
    return o->gemm_cols && o->serial_in_parallel && o->weight_dims && o->serial_in_parallel();
}

/* Boundary i of n cut into at most `want` parts on multiples of align (part p's end). Parts
 * never drop below align, so consecutive boundaries differ. */
static int64_t parts_of(int64_t n, double want, int64_t align)
{
    int64_t most = n / align > 1 ? n / align : 1;
    return want >= (double)most ? most : (want > 1 ? (int64_t)want : 1);
}
static int64_t boundary(int64_t n, int64_t parts, int64_t align, int64_t i)
{
    return i >= parts ? n : i * n / parts / align * align;
}

/* The job's row and column part counts under the group's task target. */
static void job_parts(const mb_gemm_tiling *tl, int64_t M, int64_t N, int64_t K, double target,
                      int64_t *rows, int64_t *cols)
{
    const double work = (double)M * (double)N * (double)K;
    double want_c = (double)((N + tl->col_max - 1) / tl->col_max);
    if (work / want_c > target) want_c = work / target + 1;
    *cols = parts_of(N, want_c, tl->col_min);
    const double tile = work / (double)*cols;
    *rows = parts_of(M, tile > target ? tile / target + 1 : 1, tl->row_min);
}

/* Task i of the batch: its job (the plans are in largest-task-first order, so the threads
 * take the big tiles first and the small ones fill the end), then its row and column tile. */
static mb_status run_tasks(const mb_gemm_ops *o, const mb_gemm_tiling *tl, const mb_gemm_job *jobs,
                           const job_plan *plan, int64_t np, int64_t nt, int64_t esize,
                           mb_err *err)
{
    mb_status rc = MB_OK;
    int failed = 0;
    #pragma omp parallel for schedule(dynamic, 1)
    for (int64_t i = 0; i < nt; i++) {
        if (__atomic_load_n(&failed, __ATOMIC_RELAXED)) continue;
        int64_t p = 0;
        while (p + 1 < np && plan[p + 1].first <= i) p++;
        const job_plan *jp = &plan[p];
        const mb_gemm_job *j = &jobs[jp->job];
        const int64_t r = (i - jp->first) / jp->cols, c = (i - jp->first) % jp->cols;
        const int64_t r0 = boundary(j->M, jp->rows, tl->row_min, r);
        const int64_t r1 = boundary(j->M, jp->rows, tl->row_min, r + 1);
        mb_err e;
        mb_status st = o->gemm_cols(j->w, boundary(jp->N, jp->cols, tl->col_min, c),
                                    boundary(jp->N, jp->cols, tl->col_min, c + 1), r1 - r0,
                                    (const char *)j->A + r0 * j->lda * esize, j->lda, j->alpha,
                                    j->beta, (char *)j->C + r0 * j->ldc * esize, j->ldc, &e);
        if (st != MB_OK) {
            #pragma omp critical(mb_gemm_group_fail)
            if (!failed) {
                __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
                rc = st;
                if (err) *err = e;
            }
        }
    }
    return rc;
}

static mb_status group_in_order(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_job *jobs,
                                int64_t njobs, mb_err *err)
{
    for (int64_t i = 0; i < njobs; i++) {
        const mb_gemm_job *j = &jobs[i];
        if (j->M == 0) continue;
        mb_status rc = mb_gemm(gp, dt, j->w, j->M, j->A, j->lda, j->alpha, j->beta, j->C, j->ldc,
                               err);
        if (rc != MB_OK) return rc;
    }
    return MB_OK;
}

/* Up to GROUP_BATCH jobs cut and run together. */
static mb_status group_batch(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_job *jobs,
                             int64_t njobs, const mb_gemm_tiling *tl, int threads, mb_err *err)
{
    const mb_gemm_ops *o = &gp->ops[dt];
    job_plan plan[GROUP_BATCH];
    double total = 0;
    int64_t np = 0;
    for (int64_t i = 0; i < njobs; i++) {
        if (jobs[i].M == 0) continue;
        job_plan *jp = &plan[np++];
        jp->job = i;
        o->weight_dims(jobs[i].w, &jp->N, &jp->K);
        total += (double)jobs[i].M * (double)jp->N * (double)jp->K;
    }
    const double target = total / ((double)tl->tasks_per_thread * threads);
    for (int64_t p = 0; p < np; p++) {
        job_plan *jp = &plan[p];
        job_parts(tl, jobs[jp->job].M, jp->N, jp->K, target, &jp->rows, &jp->cols);
        jp->tile = (double)jobs[jp->job].M * (double)jp->N * (double)jp->K /
                   (double)(jp->rows * jp->cols);
    }
    /* largest task first (insertion sort: stable, so equal tasks keep the jobs' order) */
    for (int64_t p = 1; p < np; p++) {
        job_plan x = plan[p];
        int64_t q = p;
        for (; q > 0 && plan[q - 1].tile < x.tile; q--) plan[q] = plan[q - 1];
        plan[q] = x;
    }
    int64_t nt = 0;
    for (int64_t p = 0; p < np; p++) {
        plan[p].first = nt;
        nt += plan[p].rows * plan[p].cols;
    }
    if (nt < 2)   /* one task: the provider threads it better than one thread would */
        return group_in_order(gp, dt, jobs, njobs, err);
    mb_status rc = run_tasks(o, tl, jobs, plan, np, nt, mb_dtype_bits(dt) / 8, err);
    if (rc != MB_OK) return rc;
    /* counted as mb_gemm counts each job, here on the calling thread: the weights a forward
     * touches are a per-thread set (moebench/work.h) */
    for (int64_t p = 0; p < np; p++) {
        const mb_gemm_job *j = &jobs[plan[p].job];
        mb_work_gemm(j->w, j->M, plan[p].N, plan[p].K, mb_dtype_bits(dt));
    }
    return MB_OK;
}

mb_status mb_gemm_group(const mb_gemm_provider *gp, mb_dtype dt, const mb_gemm_job *jobs,
                        int64_t njobs, const mb_gemm_tiling *tiling, mb_err *err)
{
    const mb_gemm_tiling *tl = tiling ? tiling : &mb_gemm_tiling_default;
    if (njobs < 0 || (njobs > 0 && !jobs) || tl->col_min < 1 || tl->col_max < tl->col_min ||
        tl->row_min < 1 || tl->tasks_per_thread < 1)
        return mb_fail(err, MB_EINVAL, "gemm group: bad call (%lld jobs, tiling %lld..%lld "
                       "columns, %lld rows, %d tasks per thread)", (long long)njobs,
                       (long long)tl->col_min, (long long)tl->col_max, (long long)tl->row_min,
                       tl->tasks_per_thread);
    for (int64_t i = 0; i < njobs; i++)
        if (jobs[i].M < 0 || !jobs[i].w)
            return mb_fail(err, MB_EINVAL, "gemm group: job %lld has M=%lld%s", (long long)i,
                           (long long)jobs[i].M, jobs[i].w ? "" : " and no weight");
    const int threads = omp_get_max_threads();
    if (threads < 2 || omp_in_parallel() || !mb_gemm_group_splits(gp, dt))
        return group_in_order(gp, dt, jobs, njobs, err);

    for (int64_t b = 0; b < njobs; b += GROUP_BATCH) {
        const int64_t nb = njobs - b < GROUP_BATCH ? njobs - b : GROUP_BATCH;
        mb_status rc = group_batch(gp, dt, jobs + b, nb, tl, threads, err);
        if (rc != MB_OK) return rc;
    }
    return MB_OK;
}

/* roofline.json, read: this machine's ceilings as `moebench roofline` stores them (machine/
 * writes the file) and as run.json embeds them under "roofline". The one reader of that object,
 * in two views: mb_roof, the numbers a run needs for pct_peak, and mb_ceilings, what a roofline
 * chart draws. It lives in results/ because plots and compare read it from old runs without the
 * measuring code. */
#ifndef MOEBENCH_ROOFLINE_FILE_H
#define MOEBENCH_ROOFLINE_FILE_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Levels a ceiling can come from (roofline.json keys l1_gbps ... dram_gbps). */
enum { MB_RL_L1 = 0, MB_RL_L2, MB_RL_L3, MB_RL_DRAM, MB_RL_NLEVELS };

/* Ceilings a chart draws: one compute roof and bandwidth slopes. */
typedef struct {
    double peak;
    int nbw;
    char bw_name[MB_RL_NLEVELS][16];
    double bw[MB_RL_NLEVELS];
} mb_ceilings;

/* The ceilings a run uses for pct_peak (and run.json); NAN when absent. The _1t values are the
 * single-thread ceilings, used for rows measured with one thread. */
typedef struct {
    double peak_gflops, dram_gbps, peak_gflops_1t, dram_gbps_1t;
    /* The bf16 compute roof (AVX512_BF16 dot products, bf16_avx512_gflops[_1t]) that dtype=bf16
     * rows use instead of the FP32 one; NAN when not measured, and bf16_why says why. */
    double bf16_gflops, bf16_gflops_1t;
    char bf16_why[200];
    /* The cache-aware roofline (roof_level.h): read bandwidth of every level, all threads and
     * one thread (NAN when absent), and the cache sizes the levels were sized from: one
     * core's L1 and L2, the shared L3 (NAN when the file predates them). */
    double gbps[MB_RL_NLEVELS], gbps_1t[MB_RL_NLEVELS];
    double cache_bytes[3];
    /* the bandwidths do not fall from L1 to DRAM (or the file says so): rows still use them,
     * and say so */
    int implausible;
    char implausible_why[240];
} mb_roof;

/* Parses the roofline.json at path (at most 1 MiB) into a JSON object (free with cJSON_Delete);
 * NULL when the file cannot be read or holds no JSON object. Every reader below goes through
 * it. */
cJSON *mb_roofline_file_read(const char *path);

/* From a roofline object (roofline.json or run.json's "roofline"); single_thread picks the _1t
 * numbers when present. 0 when at least the peak was found. */
int mb_ceilings_from_json(const cJSON *obj, int single_thread, mb_ceilings *c);
/* Reads a roofline.json file into c; 0 on success. */
int mb_ceilings_from_file(const char *path, int single_thread, mb_ceilings *c);

/* The numbers of a roofline object (missing keys stay NAN); implausible when the object says
 * "plausible": false or its bandwidths fail mb_roof_check_plausible (a file measured before the
 * check existed is checked on reading). */
void mb_roof_from_json(const cJSON *obj, mb_roof *roof);
/* Reads path into roof; 0 when the file is readable JSON, -1 otherwise (roof all NAN). */
int mb_roof_from_file(const char *path, mb_roof *roof);
/* Reads dir/roofline.json into roof; 0 when found (missing keys stay NAN), -1 when there is no
 * readable file. mb_roof_find also honours MOEBENCH_ROOFLINE. */
int mb_roofline_load(const char *dir, mb_roof *roof);

/* Default roofline.json: $MOEBENCH_ROOFLINE when set, else
 * MOEBENCH_SOURCE_DIR/results/roofline.json. */
const char *mb_roofline_default_path(void);
/* The one path rule for a run: $MOEBENCH_ROOFLINE when set (the value "none" means: pretend
 * neither it nor the source tree's exists, only out_dir's counts); else out_dir/roofline.json when
 * out_dir is given and has one; else MOEBENCH_SOURCE_DIR/results/roofline.json. Loads it into
 * roof and writes the file used to src; 0 when found, -1 (roof all NAN, src "") otherwise. */
int mb_roof_find(const char *out_dir, mb_roof *roof, char *src, size_t n);

#endif

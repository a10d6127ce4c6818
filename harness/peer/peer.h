/* The PyTorch peer inside a moebench run (peers/pytorch, README there).
 *
 * Contract of mb_peer_torch_run (what `moebench run --peer torch` calls after the suite):
 *   - moebench_exe: a path the child can exec (absolute, e.g. readlink /proc/self/exe, or
 *     relative to the current directory); results_dir must hold the run's results.csv (with its
 *     `case` column) and may hold run.json.
 *   - For every distinct case of results.csv that has no impl=torch row yet, in file order:
 *     `moebench_exe dump CASE TMPDIR --ref-max-gflop 5 --ref-rows 8` (full naive output for cheap
 *     cases, 8 naive rows for the others),
 *     then `/usr/bin/python3 SOURCE_DIR/peers/pytorch/moebench_peer.py bench TMPDIR ...` in a
 *     fresh process, which checks torch against the dumped Y (or its rows) and appends ONE
 *     row with impl=torch to results_dir/results.csv (same header, same run_id as the case's
 *     moebench rows; status ok / mismatch / error with the reason) and its repetitions to
 *     results_dir/samples.csv. The temporary dump is deleted afterwards.
 *   - run.json gets a "peer" object (torch / numpy versions, thread settings).
 *   - threads > 0: OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = threads in the python environment
 *     before torch is imported, and torch.set_num_threads(threads); threads <= 0: each case
 *     uses the `threads` column of its moebench row. OMP_WAIT_POLICY=PASSIVE for torch's OpenMP
 *     pool (its spinning threads otherwise starve OpenBLAS's separate pool: README).
 *   - The work is done by `moebench_peer.py run-suite` (the same code a user runs by hand); this
 *     function only spawns it and waits. The python is $MOEBENCH_PYTHON if set, else
 *     /usr/bin/python3 (the one with Debian's torch); the script is found under
 *     $MOEBENCH_SOURCE_DIR if set, else the source directory compiled in.
 *   - Returns 0 when every torch row is ok, 1 when some row is a mismatch, 2 when a row is an
 *     error or the peer could not run at all (python or torch missing, bad results_dir); the
 *     message is on stderr. It never aborts the caller: results.csv keeps the moebench rows.
 *   - Writes to stdout/stderr (progress lines of the peer) and blocks until the peer is done. */
#ifndef MOEBENCH_PEER_H
#define MOEBENCH_PEER_H

int mb_peer_torch_run(const char *moebench_exe, const char *results_dir, int threads);

/* The whole peer run is limited to mb_peer_timeout_s() seconds ($MOEBENCH_PEER_TIMEOUT, default
 * one hour); past it the peer is killed (SIGKILL), reported on stderr, and 2 is returned. */
#define MB_PEER_DEFAULT_TIMEOUT_S 3600.0
double mb_peer_timeout_s(void);

/* Path of moebench_peer.py (static buffer). */
const char *mb_peer_torch_script(void);

#endif

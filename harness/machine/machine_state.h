/* The state of the machine around a run, for run.json's "machine_state": CPU frequency and
 * turbo (cpufreq when the kernel has it, else why not), the governor (or why none), this
 * process's affinity and OpenMP binding (OMP_PROC_BIND / OMP_PLACES, as set and as OpenMP
 * applies them, checked on real threads), and the load average at start and at end, with a
 * warning when the machine is busy at start. */
#ifndef MOEBENCH_MACHINE_STATE_H
#define MOEBENCH_MACHINE_STATE_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* Busy: the 1-minute load average at start is at least this fraction of the online CPUs. The
 * load average counts runnable (and uninterruptible) threads; moebench has not started working
 * yet, so at start it is other programs' demand. Half the CPUs means that, on average, a run
 * using every CPU shares half of them: its times are slower and noisier than on a quiet
 * machine. A lower fraction would warn on the background noise of an idle desktop. */
#define MB_BUSY_LOAD_FRACTION 0.5

/* The "machine_state" object at start. threads: the OpenMP threads the binding check starts
 * (the run's --threads, or <= 0 for every online CPU); pin: --pin was given. */
cJSON *mb_machine_state_json(int threads, int pin);

/* Adds loadavg_end to the "machine_state" object of run_json (no-op without one). */
void mb_machine_state_end(cJSON *run_json);

/* Prints a warning when run_json's machine_state says the machine was busy at start (the same
 * verdict as run.json's busy_at_start); returns 1 when it did. */
int mb_machine_state_warn_busy(FILE *f, const char *cmd, const cJSON *run_json);

#endif

# Sourced by the MPI CLI tests: skip (exit 0 with the reason) when moebench was built without MPI
# or mpirun is missing; MPIRUN runs N ranks on this machine alone.
# Open MPI refuses root unless told (CI containers run as root); --oversubscribe lets 4 ranks
# share 2 cores; btl self,vader (shared memory) keeps it off the network a container may lack;
# one thread per rank (OMP_NUM_THREADS=1 through -x) so ranks do not fight over the cores.
if "$MB" list | grep -q '^MPI .* unavailable'; then
    echo "SKIP: $("$MB" list | grep '^MPI ')"
    exit 0
fi
if ! command -v mpirun >/dev/null; then
    echo "SKIP: no mpirun on PATH (apt-get install openmpi-bin)"
    exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1
# Open MPI leaks by design at MPI_Finalize (its MCA components, unloaded by then, cannot even be
# named in a suppression): under ASan the ranks check memory errors, not leaks. The code the
# ranks share with one process (sharding, merge, the runner) is leak-checked by the tests that
# run it without mpirun.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
MPIRUN=(mpirun --oversubscribe -x OMP_NUM_THREADS -x MOEBENCH_ROOFLINE -x ASAN_OPTIONS)

#!/usr/bin/env bash
# Data-parallel scaling on this machine (nn_mpi.h), in one run: images/s of
# the Fashion-MNIST CNN and the airbench network for 1 rank x 1 thread,
# 2 ranks x 1 thread and 1 rank x 2 threads, with the communication per
# step, the part of it hidden behind backward and the bytes per step.
#   bash tools/bench_mpi.sh
#   FMNIST_BATCH=128 FMNIST_STEPS=200 AIRBENCH_BATCH=256 AIRBENCH_STEPS=6 bash tools/bench_mpi.sh
# Needs mpicc/mpirun (openmpi-bin libopenmpi-dev) and 2 free cores; run it
# on a quiet machine.  Each configuration's line (BENCH ...) is printed,
# then one line:
#   RESULT mpi_fmnist_2r_vs_1r= mpi_airbench_2r_vs_1r= mpi_2r_vs_2t_fmnist=
#          mpi_2r_vs_2t_airbench= comm_ms_fmnist= comm_ms_airbench=
#          hidden_fraction_fmnist= hidden_fraction_airbench=
#          bytes_per_step_fmnist= bytes_per_step_airbench=
# (2r_vs_1r: 2 ranks x 1 thread over 1 rank x 1 thread; 2r_vs_2t: over
# 1 rank x 2 threads; comm_ms: a blocking all-reduce of the step's
# gradients on 2 ranks, timed alone; hidden_fraction: the part of it that
# the 2-rank steps did not wait for after backward).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_plm=isolated   # one machine: shared memory, no ssh
mkdir -p build
mpicc -std=c99 -O3 -march=native -fopenmp -I. tools/bench_mpi.c -o build/bench_mpi -lm
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# ranks and threads placed by the OS: a rank with 2 threads must not be
# bound to one core
run() {  # NET RANKS THREADS BATCH STEPS
    OMP_NUM_THREADS=$3 mpirun --oversubscribe --bind-to none -np "$2" build/bench_mpi "$1" "$4" "$5" "$3" | grep '^BENCH'
}
result="RESULT"
for net in fmnist airbench; do
    if [ $net = fmnist ]; then batch=${FMNIST_BATCH:-128} steps=${FMNIST_STEPS:-200}
    else batch=${AIRBENCH_BATCH:-256} steps=${AIRBENCH_STEPS:-6}; fi
    one=$(run $net 1 1 "$batch" "$steps"); echo "$one"
    two=$(run $net 2 1 "$batch" "$steps"); echo "$two"
    thr=$(run $net 1 2 "$batch" "$steps"); echo "$thr"
    r1=$(field images_per_second "$one") r2=$(field images_per_second "$two") t2=$(field images_per_second "$thr")
    result+=" mpi_${net}_2r_vs_1r=$(ratio "$r2" "$r1") mpi_2r_vs_2t_${net}=$(ratio "$r2" "$t2")"
    result+=" comm_ms_${net}=$(field allreduce_ms "$two") exposed_ms_${net}=$(field exposed_ms "$two")"
    result+=" hidden_fraction_${net}=$(field hidden_fraction "$two") bytes_per_step_${net}=$(field bytes_per_step "$two")"
    result+=" step_ms_${net}_2r=$(field step_ms "$two")"
done
echo "$result"

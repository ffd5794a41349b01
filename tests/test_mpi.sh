#!/usr/bin/env bash
# Data-parallel training (nn_mpi.h) under OpenMPI's mpirun on this machine:
# 2 and 4 ranks train to the weights of one process on the global batch
# (a CNN with synchronised batch norm, a GRU with ragged lengths; on the
# CPU and on OpenCL), a checkpoint resumes on the same and on other rank
# counts, a rank killed (SIGKILL) or stopped (SIGSTOP) in the middle of a
# run ends the job with an error instead of a hang, and the examples built
# with -DNN_MPI train under mpirun and print what they print without it.
# Skipped where mpicc is missing, except in CI.  Last line: "N passed, N
# failed".
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null; then
    [ "${CI:-}" = true ] && { echo "FAIL: mpicc/mpirun are missing in CI (openmpi-bin libopenmpi-dev)"; echo "0 passed, 1 failed"; exit 1; }
    echo "SKIP: MPI is not installed (openmpi-bin libopenmpi-dev)"
    echo "0 passed, 0 failed"
    exit 0
fi
# CI runs as root; more ranks than cores on a small machine
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# no network interfaces to probe on one machine; shared memory without
# the single-copy (ptrace) path, which containers often forbid
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# started here, without ssh (which a fresh machine may lack)
export OMPI_MCA_plm=isolated
MPIRUN=(mpirun --oversubscribe)
T=build/test_mpi
if ! mpicc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. tests/test_mpi.c -o $T -lm 2>"$TMP/cc.log"; then
    bad "tests/test_mpi.c builds with mpicc" "$TMP/cc.log"; summary; exit 1
fi

# the header compiles warning-free as C99 and C++, as its declarations
# alone, with the implementation and with NN_STATIC
MPIINC=$(mpicc --showme:compile)
printf '#include "nn.h"\n#include "nn_mpi.h"\nint nn_user_code(void) { return nn_mpi_rank(NULL); }\n' >"$TMP/decl.c"
printf '#define NN_STATIC\n#define NN_IMPLEMENTATION\n#include "nn.h"\n#define NN_MPI_IMPLEMENTATION\n#include "nn_mpi.h"\nint main(void) { return nn_mpi_size(NULL); }\n' >"$TMP/static.c"
for cc in "gcc -std=c99 -pedantic" "clang -std=c99 -pedantic" "g++ -x c++" "clang++ -x c++"; do
    command -v "${cc%% *}" >/dev/null || continue
    for f in "$TMP/decl.c" "$TMP/static.c"; do
        # shellcheck disable=SC2086
        if $cc -Wall -Wextra -Werror -O2 -I. $MPIINC -c "$f" -o "$TMP/o.o" >"$TMP/cc.log" 2>&1 && [ ! -s "$TMP/cc.log" ]; then
            ok "$cc compiles $(basename "$f") warning-free"
        else bad "$cc compiles $(basename "$f") warning-free" "$TMP/cc.log"; fi
    done
done

# equality with one process on the global batch (10: shards of 5/5 and 3/3/2/2)
for kind in cnn gru; do
    for np in 2 4; do
        timeout 300 "${MPIRUN[@]}" -np $np $T equal $kind 10 >"$TMP/eq.log" 2>&1
        add "$kind on $np ranks equals one process" "$TMP/eq.log"
    done
done

# the ranks on OpenCL (PoCL): gradients through the host a bucket at a
# time, the CNN's batch norms synchronised through the host
if [ -e /etc/OpenCL/vendors/pocl.icd ] &&
   mpicc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. -DNN_OPENCL tests/test_mpi.c -o build/test_mpi_cl \
       -lOpenCL -lclblast -lm 2>"$TMP/cc.log"; then
    mkdir -p build/icd-pocl && cp /etc/OpenCL/vendors/pocl.icd build/icd-pocl/
    for kind in gru cnn; do
        for np in 2 4; do
            OCL_ICD_VENDORS=$PWD/build/icd-pocl POCL_MAX_PTHREAD_COUNT=1 timeout 300 "${MPIRUN[@]}" -np $np build/test_mpi_cl \
                equal $kind 10 opencl >"$TMP/eq.log" 2>&1
            what="$kind"; [ $kind = cnn ] && what="cnn with sync batch norm"
            add "$what on $np ranks on OpenCL equals one process on the CPU" "$TMP/eq.log"
        done
    done
elif [ "${CI:-}" = true ]; then bad "the OpenCL build of tests/test_mpi.c (PoCL, libclblast-dev) in CI" "$TMP/cc.log"
else echo "SKIP: OpenCL (PoCL, ocl-icd-opencl-dev, libclblast-dev) is not installed"; fi

# the CNN on 4 ranks under AddressSanitizer and UBSan (leaks not counted: MPI keeps its own)
if mpicc -std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -I. tests/test_mpi.c \
    -o build/test_mpi_asan -lm 2>"$TMP/cc.log"; then
    ASAN_OPTIONS=detect_leaks=0 timeout 300 "${MPIRUN[@]}" -np 4 build/test_mpi_asan equal cnn 10 >"$TMP/eq.log" 2>&1
    add "cnn on 4 ranks under ASan+UBSan" "$TMP/eq.log"
else bad "tests/test_mpi.c builds with ASan+UBSan" "$TMP/cc.log"; fi

# resume: a checkpoint of a 2-rank run at step 10 resumed on 2 (exactly),
# 4 and 1 ranks (the same global batches) ends where the whole run did
for kind in cnn gru; do
    if timeout 300 "${MPIRUN[@]}" -np 2 $T train $kind 8 20 "$TMP/full.st" --checkpoint-at 10 "$TMP/ck.st" >"$TMP/full.log" 2>&1 &&
       [ -s "$TMP/ck.st" ] && [ -s "$TMP/full.st" ]; then ok "$kind: a 2-rank run writes its checkpoint and weights"
    else bad "$kind: a 2-rank run writes its checkpoint and weights" "$TMP/full.log"; continue; fi
    for np in 2 4 1; do
        tol=1e-5; [ $np = 2 ] && tol=0
        rm -f "$TMP/res.st"
        if timeout 300 "${MPIRUN[@]}" -np $np $T train $kind 8 20 "$TMP/res.st" --resume "$TMP/ck.st" >"$TMP/res.log" 2>&1; then
            $T compare $kind "$TMP/full.st" "$TMP/res.st" $tol >"$TMP/cmp.log" 2>&1
            add "$kind: resumed on $np ranks" "$TMP/cmp.log"
        else bad "$kind: resumed on $np ranks" "$TMP/res.log"; fi
    done
done

# attach refuses models that differ, on every rank
if timeout 120 "${MPIRUN[@]}" -np 2 $T mismatch >"$TMP/mm.log" 2>&1; then
    add "attach refuses different models" "$TMP/mm.log"
else bad "attach refuses different models" "$TMP/mm.log"; fi

# faults: one of two ranks dies (SIGKILL) or stops answering (SIGSTOP; the
# other times out after 5 s) in the middle of a long run: the job ends
# with an error, well within the bound
fault() {  # SIGNAL EXPECTED-MESSAGE
    local dir="$TMP/pids-$1" start pid rc waited
    mkdir -p "$dir"
    start=$SECONDS
    timeout 120 "${MPIRUN[@]}" -np 2 $T train cnn 8 100000000 "$TMP/never.st" --timeout 5 --pids "$dir" >"$TMP/fault.log" 2>&1 &
    pid=$!
    for waited in $(seq 1 600); do [ -s "$dir/rank1.pid" ] && break; sleep 0.1; done
    if [ ! -s "$dir/rank1.pid" ]; then kill "$pid" 2>/dev/null; wait "$pid"; bad "SIG$1: the run started" "$TMP/fault.log"; return; fi
    sleep 1
    kill -"$1" "$(cat "$dir/rank1.pid")"
    wait "$pid"
    rc=$?
    kill -9 "$(cat "$dir/rank1.pid")" 2>/dev/null   # a stopped rank the job left behind
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "$2" "$TMP/fault.log"; then
        ok "SIG$1 of rank 1: the job ends with an error (exit $rc) after $((SECONDS - start)) s"
    else bad "SIG$1 of rank 1: the job ends with an error (exit $rc, 124 is a hang)" "$TMP/fault.log"; fi
}
fault KILL "signal 9\|exited on signal\|killed"
fault STOP "did not complete within 5 s"

# the examples: built with -DNN_MPI they train under mpirun (rank 0 alone
# prints and writes) and, run without it, print what the plain build prints
for ex in fashion_mnist cifar10 imdb; do
    if mpicc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. -DNN_MPI "examples/$ex.c" -o "$TMP/${ex}_mpi" -lm 2>"$TMP/cc.log" &&
       gcc -O2 -I. "examples/$ex.c" -o "$TMP/$ex" -lm 2>>"$TMP/cc.log"; then ok "$ex builds with -DNN_MPI"
    else bad "$ex builds with -DNN_MPI" "$TMP/cc.log"; fi
done
untimed() { grep -v '^epoch [0-9]*/[0-9]*: \|samples/s' "$1" | sed 's/[a-z_]*second[a-z_]*=[0-9.]*//g'; }
if [ -f data/fashion-mnist/t10k-labels-idx1-ubyte ]; then
    FM=(--limit 600 --epochs 1 --quiet)
    "$TMP/fashion_mnist" "${FM[@]}" >"$TMP/plain.out" 2>&1
    "$TMP/fashion_mnist_mpi" "${FM[@]}" >"$TMP/single.out" 2>&1
    if grep -q '^RESULT' "$TMP/plain.out" && [ "$(untimed "$TMP/plain.out")" = "$(untimed "$TMP/single.out")" ]; then
        ok "fashion_mnist built with -DNN_MPI, run without mpirun, prints what the plain build prints"
    else bad "fashion_mnist built with -DNN_MPI, run without mpirun, prints what the plain build prints" "$TMP/single.out"; fi
    if timeout 600 "${MPIRUN[@]}" -np 2 "$TMP/fashion_mnist_mpi" --limit 3000 --epochs 1 --checkpoint "$TMP/fm.ck" \
           --log "$TMP/fm.csv" --save "$TMP/fm.st" >"$TMP/fm2.out" 2>"$TMP/fm2.err" &&
       [ "$(grep -c '^RESULT' "$TMP/fm2.out")" = 1 ] && [ "$(grep -c '^epoch 1/1 train_loss' "$TMP/fm2.out")" = 1 ] &&
       grep -q 'test_accuracy=0\.[5-9]' "$TMP/fm2.out" && [ -s "$TMP/fm.ck" ] && [ -s "$TMP/fm.st" ] && [ "$(wc -l <"$TMP/fm.csv")" = 2 ]; then
        ok "fashion_mnist on 2 ranks learns, rank 0 prints, logs and writes: $(grep '^RESULT' "$TMP/fm2.out")"
    else bad "fashion_mnist on 2 ranks learns, rank 0 prints, logs and writes" "$TMP/fm2.out"; fi
    if timeout 600 "${MPIRUN[@]}" -np 4 "$TMP/fashion_mnist_mpi" --limit 3000 --epochs 2 --resume "$TMP/fm.ck" --quiet \
           >"$TMP/fm4.out" 2>&1 && grep -q 'resuming from .* after epoch 1 of 2' "$TMP/fm4.out" &&
       [ "$(grep -c '^epoch 2/2' "$TMP/fm4.out")" = 1 ] && grep -q '^RESULT' "$TMP/fm4.out"; then
        ok "fashion_mnist: the 2-rank checkpoint resumes on 4 ranks"
    else bad "fashion_mnist: the 2-rank checkpoint resumes on 4 ranks" "$TMP/fm4.out"; fi
elif [ "${CI:-}" = true ]; then bad "Fashion-MNIST data is missing in CI"
else echo "SKIP: Fashion-MNIST data not found (tools/fetch_data.sh fashion-mnist)"; fi
if [ -d data/aclImdb/test/neg ]; then
    if timeout 600 "${MPIRUN[@]}" -np 2 "$TMP/imdb_mpi" --limit 300 --test-limit 200 --epochs 1 --maxlen 80 --vocab 2000 --quiet \
           >"$TMP/im2.out" 2>&1 && [ "$(grep -c '^RESULT' "$TMP/im2.out")" = 1 ]; then
        ok "imdb trains on 2 ranks: $(grep '^RESULT' "$TMP/im2.out")"
    else bad "imdb trains on 2 ranks" "$TMP/im2.out"; fi
elif [ "${CI:-}" = true ]; then bad "IMDb data is missing in CI"
else echo "SKIP: IMDb data not found (tools/fetch_data.sh imdb)"; fi

summary

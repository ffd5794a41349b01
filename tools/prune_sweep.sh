#!/usr/bin/env bash
# Accuracy against sparsity for the Fashion-MNIST CNN: the example trained
# without pruning and with --prune 0.5, 0.7, 0.8, 0.9 (gradual magnitude
# pruning, nn_compress.h: global, one threshold over all the weights, as
# the examples' --prune does), each run with --int8 too; writes
# build/prune/sweep.csv (sparsity, test_loss, test_accuracy,
# int8_test_accuracy) and build/prune/sweep.svg (tools/plot.c), and ends
# with a RESULT line: the accuracy at each sparsity and the loss in points
# against the unpruned run.
#   tools/prune_sweep.sh [example flags...]     e.g. --epochs 10 --threads 2
#   SPARSITIES="0 0.8" tools/prune_sweep.sh ...   only those points (0, the
#                                                  unpruned run, first)
# The runs take the example's default 10 epochs each unless told otherwise;
# each run's log and per-epoch CSV stay in build/prune/run_S.{log,csv}.
set -euo pipefail
cd "$(dirname "$0")/.."
sparsities=${SPARSITIES:-0 0.5 0.7 0.8 0.9}
[ "${sparsities%% *}" = 0 ] || { echo "prune_sweep.sh: SPARSITIES must start with 0 (the unpruned run)" >&2; exit 2; }
out=build/prune
mkdir -p "$out"
${CC:-cc} -O3 -march=native -fopenmp -I. examples/fashion_mnist.c -o build/fashion_mnist -lm
${CC:-cc} -O2 tools/plot.c -o build/plot -lm
echo "sparsity,test_loss,test_accuracy,int8_test_accuracy" >"$out/sweep.csv"
result="RESULT"
base=
for s in $sparsities; do
    prune=()
    [ "$s" = 0 ] || prune=(--prune "$s")
    build/fashion_mnist --model cnn --quiet --int8 "${prune[@]}" --log "$out/run_$s.csv" "$@" >"$out/run_$s.log"
    acc=$(sed -n 's/^RESULT test_accuracy=\([0-9.]*\).*/\1/p' "$out/run_$s.log")
    int8=$(sed -n 's/^RESULT.* int8_accuracy=\([0-9.]*\).*/\1/p' "$out/run_$s.log")
    loss=$(tail -n 1 "$out/run_$s.csv" | cut -d, -f4)
    echo "$s,$loss,$acc,$int8" >>"$out/sweep.csv"
    echo "sparsity $s: test_accuracy $acc (int8 $int8)"
    [ -n "$base" ] || base=$acc
    result+=" accuracy_at_$s=$acc loss_points_at_$s=$(awk -v a="$acc" -v b="$base" 'BEGIN { printf "%.2f", 100 * (b - a) }')"
done
build/plot --x sparsity --title "Fashion-MNIST CNN: gradual global magnitude pruning" -o "$out/sweep.svg" "$out/sweep.csv"
echo "$result"

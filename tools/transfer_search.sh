#!/usr/bin/env bash
# The hyperparameter search behind examples/transfer.c's defaults, on
# validation images only: each configuration trains one run with
# --val 1000 (images of classes 5-9 outside the shots, never the test set)
# and is scored by the validation accuracy after its last epoch (what a
# run without --val keeps).  Every run gets the same grid of learning rate
# and epochs; finetuned also the backbone's learning-rate multiplier and
# the probe (head-alone) epochs.  The grid comes from LRS, EPOCHS, MULTS,
# PROBES in the environment (space-separated; defaults below).  Rows go to
# DIR/search.tsv (a configuration already there is not run again); the
# best of each run is printed at the end.
# usage: tools/transfer_search.sh PRETRAINED.safetensors DIR RUN... [-- transfer flags]
#   (RUN: scratch, frozen or finetuned; build/transfer must be built)
# The search behind the defaults (P: a file of build/transfer --save-pretrained P):
#   tools/transfer_search.sh P DIR scratch frozen finetuned -- --threads 1
#   LRS=0.2 EPOCHS=40 tools/transfer_search.sh P DIR scratch frozen -- --threads 1
#   LRS=0.1 EPOCHS=80 tools/transfer_search.sh P DIR scratch frozen -- --threads 1
#   PROBES=10 MULTS="0.3 1" LRS=0.025 EPOCHS=40 tools/transfer_search.sh P DIR finetuned -- --threads 1
#   PROBES=10 MULTS=1 LRS=0.0125 EPOCHS=40 tools/transfer_search.sh P DIR finetuned -- --threads 1
#   PROBES=10 MULTS=1 LRS=0.025 EPOCHS=80 tools/transfer_search.sh P DIR finetuned -- --threads 1
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 PRETRAINED DIR RUN... [-- transfer flags]" >&2; exit 2; }
pre=$1 dir=$2; shift 2
runs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do runs+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
mkdir -p "$dir"
tsv=$dir/search.tsv
[ -s "$tsv" ] || printf 'run\tlr\tepochs\tbackbone_lr_mult\tprobe_epochs\tlast_val_accuracy\tbest_val_accuracy\tbest_epoch\n' >"$tsv"
for run in "${runs[@]}"; do
    case $run in
        finetuned) flag=finetune mults=${MULTS:-0.1 0.3 1} probes=${PROBES:-0} ;;
        scratch | frozen) flag=$run mults=- probes=- ;;
        *) echo "$0: unknown run '$run'" >&2; exit 2 ;;
    esac
    for lr in ${LRS:-0.025 0.05 0.1}; do for epochs in ${EPOCHS:-20 40}; do for mult in $mults; do for probe in $probes; do
        key=$(printf '%s\t%s\t%s\t%s\t%s\t' "$run" "$lr" "$epochs" "$mult" "$probe")
        grep -qF "$key" "$tsv" && continue
        extra=()
        [ "$run" != scratch ] && extra=(--pretrained "$pre")
        [ "$mult" != - ] && extra+=(--backbone-lr-mult "$mult" --probe-epochs "$probe")
        name=$run-lr$lr-e$epochs-m$mult-p$probe
        build/transfer --runs "$run" --val 1000 --quiet --"$flag"-lr "$lr" --"$flag"-epochs "$epochs" \
            "${extra[@]}" --log "$dir/$name.csv" "$@" >"$dir/$name.out"
        last=$(awk -F, -v r="$run" '$2 == r { v = $5 } END { print v }' "$dir/$name.csv")
        best=$(tail -n 1 "$dir/$name.out" | sed -n "s/.* ${run}_val_accuracy=\([0-9.]*\) ${run}_best_epoch=\([0-9]*\).*/\1\t\2/p")
        printf '%s%s\t%s\n' "$key" "$last" "$best" >>"$tsv"
    done; done; done; done
    echo "best $run on validation (last epoch):"
    awk -F'\t' -v r="$run" '$1 == r && $6 > b { b = $6; row = $0 } END { print row }' "$tsv"
done

#!/usr/bin/env bash
# The examples' --save, --checkpoint and --resume: every example saves
# weights that load, and Fashion-MNIST, CIFAR-10 and IMDb runs killed with
# SIGKILL in the middle of an epoch resume from their last checkpoint and
# end with the same weights, bit for bit, as runs never interrupted.
# Last line: "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
result() { tail -n 1 "$1" | grep '^RESULT' | sed 's/ [a-z_]*second[a-z_]*=[^ ]*//g'; }   # without timings

for ex in xor linreg fashion_mnist cifar10 imdb gan; do
    cc -O2 -I. "examples/$ex.c" -o "$TMP/$ex" -lm || bad "$ex builds"
done
cc -O2 -I. -x c - -o "$TMP/loads" -lm <<'C' || bad "the loading helper builds"
#define NN_IMPLEMENTATION
#include "nn.h"
/* loads FILE into the examples' xor model: the names and shapes must match */
int main(int argc, char **argv) {
  nn_graph *g = nn_graph_new();
  int two = 2;
  nn_node *x = nn_input(g, "x", 1, &two);
  nn_model *m;
  nn_layer_name(g, "hidden");
  x = nn_tanh(g, nn_dense(g, x, 8));
  nn_layer_name(g, "out");
  nn_dense(g, x, 1);
  m = nn_compile(g, 1, nn_cpu_backend());
  if (argc != 2 || nn_safetensors_load(m, argv[1], 0) != 4) { printf("%s\n", nn_last_error()); return 1; }
  printf("loaded 4 tensors\n");
  nn_model_free(m);
  return 0;
}
C

# xor and linreg: --save writes loadable weights; a finished run's checkpoint resumes to the same result
for ex in xor linreg; do
    if "$TMP/$ex" --quiet --epochs 5 --save "$TMP/$ex.safetensors" --checkpoint "$TMP/$ex.ckpt" >"$TMP/a.out" 2>&1 &&
       [ -s "$TMP/$ex.safetensors" ] && [ -s "$TMP/$ex.ckpt" ]; then ok "$ex --save and --checkpoint write files"
    else bad "$ex --save and --checkpoint write files" "$TMP/a.out"; fi
    if "$TMP/$ex" --quiet --epochs 5 --resume "$TMP/$ex.ckpt" --save "$TMP/$ex.again" >"$TMP/b.out" 2>&1 &&
       grep -q "resuming from .* after epoch 5 of 5" "$TMP/b.out" && [ "$(result "$TMP/a.out")" = "$(result "$TMP/b.out")" ] &&
       cmp -s "$TMP/$ex.safetensors" "$TMP/$ex.again"; then ok "$ex --resume of a finished run: same result, same weights"
    else bad "$ex --resume of a finished run" "$TMP/b.out"; fi
    if ! "$TMP/$ex" --epochs 5 --resume "$TMP/nowhere.ckpt" >"$TMP/c.out" 2>&1 && grep -q "nowhere.ckpt" "$TMP/c.out"; then
        ok "$ex --resume of a missing file fails naming it"
    else bad "$ex --resume of a missing file" "$TMP/c.out"; fi
done
if "$TMP/loads" "$TMP/xor.safetensors" >"$TMP/l.out" 2>&1; then ok "xor's saved weights load by name into the same model"
else bad "xor's saved weights load" "$TMP/l.out"; fi
if ! "$TMP/xor" --epochs 5 --resume "$TMP/linreg.ckpt" >"$TMP/c.out" 2>&1 && grep -q "holds the state of sgd, the optimizer is adam" "$TMP/c.out"; then
    ok "a checkpoint of another run is refused: $(tail -n 1 "$TMP/c.out" | sed 's|/tmp/[^ ]*/||')"
else bad "a checkpoint of another model is refused" "$TMP/c.out"; fi

# kill_resume NAME EPOCHS EXE FLAGS...: an uninterrupted run; the same run
# with --checkpoint, killed with SIGKILL a moment after its first
# checkpoint; the killed run resumed.  It must end with the same weights,
# RESULT and log as the uninterrupted one.
kill_resume() {
    local name=$1 epochs=$2 exe=$3 pid status done_before; shift 3
    rm -f "$TMP/run.ckpt" "$TMP/run.csv"
    "$exe" "$@" --save "$TMP/ref.safetensors" --log "$TMP/ref.csv" >"$TMP/ref.out" 2>&1 || bad "$name uninterrupted run" "$TMP/ref.out"
    "$exe" "$@" --checkpoint "$TMP/run.ckpt" --log "$TMP/run.csv" >"$TMP/killed.out" 2>&1 &
    pid=$!
    for _ in $(seq 1200); do [ -e "$TMP/run.ckpt" ] && break; sleep 0.05; done   # the first epoch's checkpoint
    sleep 0.3                                                                 # into the next epoch
    kill -KILL $pid 2>/dev/null
    { wait $pid; } 2>/dev/null   # (no "Killed" notice)
    status=$?
    done_before=$(grep -c "^epoch [0-9]*/$epochs" "$TMP/killed.out")
    if [ $status -eq 137 ] && ! grep -q '^RESULT' "$TMP/killed.out" && [ -s "$TMP/run.ckpt" ]; then
        ok "$name killed with SIGKILL after $done_before of $epochs epochs, a checkpoint on disk"
    else bad "$name killed mid-run (status $status)" "$TMP/killed.out"; fi
    if "$exe" "$@" --resume "$TMP/run.ckpt" --checkpoint "$TMP/run.ckpt" --save "$TMP/run.safetensors" \
           --log "$TMP/run.csv" >"$TMP/resumed.out" 2>&1 &&
       grep -q "resuming from .* after epoch [1-9][0-9]* of $epochs" "$TMP/resumed.out"; then
        ok "$name $(grep -o 'resuming from .*' "$TMP/resumed.out" | sed "s|'[^']*'|its checkpoint|")"
    else bad "$name --resume" "$TMP/resumed.out"; fi
    if cmp -s "$TMP/ref.safetensors" "$TMP/run.safetensors"; then
        ok "$name: killed + resumed run ends with the uninterrupted run's weights, bit for bit ($(stat -c %s "$TMP/ref.safetensors") bytes)"
    else bad "$name: killed + resumed run has the uninterrupted run's weights"; fi
    if [ -n "$(result "$TMP/ref.out")" ] && [ "$(result "$TMP/ref.out")" = "$(result "$TMP/resumed.out")" ]; then
        ok "$name: same RESULT: $(result "$TMP/resumed.out" | cut -d' ' -f1-2)"
    else bad "$name: same RESULT" "$TMP/resumed.out"; fi
    if diff <(cut -d, -f1-5 "$TMP/ref.csv") <(cut -d, -f1-5 "$TMP/run.csv") >"$TMP/csv.diff"; then
        ok "$name: the resumed --log has epochs 1..$epochs once each, as the uninterrupted one"
    else bad "$name: the resumed --log" "$TMP/csv.diff"; fi
}

FM=data/fashion-mnist
if [ ! -f "$FM/t10k-labels-idx1-ubyte" ]; then
    if [ "${CI:-}" = true ]; then bad "Fashion-MNIST data is missing in CI"
    else echo "SKIP: Fashion-MNIST data not found (tools/fetch_data.sh fashion-mnist)"; fi
else
    kill_resume fashion_mnist 3 "$TMP/fashion_mnist" --model mlp --limit 4000 --epochs 3 --threads 1 --quiet --seed 5
    # early stopping: the kept weights (CHECKPOINT.best) and the patience count survive the kill
    kill_resume "fashion_mnist --val --patience" 4 "$TMP/fashion_mnist" --model mlp --limit 4000 --val 1000 --patience 2 \
        --epochs 4 --threads 1 --quiet --seed 5
    if [ -s "$TMP/run.ckpt.best" ] && grep -q 'best_epoch=' <(tail -n 1 "$TMP/resumed.out"); then ok "--val writes CHECKPOINT.best next to the checkpoint"
    else bad "--val writes CHECKPOINT.best" "$TMP/resumed.out"; fi
    rm -f "$TMP/run.ckpt.best"
    # the GAN: two models, two optimizers, the noise and shuffles from the checkpoint's generator;
    # the generator's checkpoint FILE names the discriminator's FILE.dN
    kill_resume gan 3 "$TMP/gan" --limit 2048 --batch 32 --epochs 3 --width 16 --threads 1 --quiet --seed 5
    if [ -s "$TMP/run.ckpt.d3" ] && [ ! -e "$TMP/run.ckpt.d2" ]; then ok "gan keeps the discriminator of the last epoch only (FILE.d3)"
    else bad "gan keeps the discriminator of the last epoch only" "$TMP/resumed.out"; fi
    if ! "$TMP/fashion_mnist" --model mlp --limit 4000 --val 1000 --epochs 4 --resume "$TMP/run.ckpt" >"$TMP/o" 2>&1 &&
       grep -q 'run.ckpt.best' "$TMP/o"; then ok "--resume with --val and no CHECKPOINT.best fails naming it"
    else bad "--resume with --val and no CHECKPOINT.best" "$TMP/o"; fi
fi

# CIFAR-10 on synthetic batches in the official layout: the run with the
# most state (lookahead average, a bias frozen after epoch 2, flips that
# alternate by epoch, random shifts)
mkdir -p "$TMP/cifar"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    for ((i = 0; i < 80; i++)); do printf "\\$(printf '%03o' $((i % 10)))"; head -c 3072 /dev/urandom; done >"$TMP/cifar/$f.bin"
done
kill_resume cifar10 3 "$TMP/cifar10" --data "$TMP/cifar" --model small --epochs 3 --batch 128 --limit 384 --tta 0 --threads 1 --quiet

# IMDb on a synthetic aclImdb tree: Adam, a weight average, dropout, batch
# orders by length from the caller's generator
for split in train test; do
    for side in pos neg; do
        mkdir -p "$TMP/aclImdb/$split/$side"
        if [ $side = pos ]; then words="great wonderful fine"; else words="bad awful boring"; fi
        n=200; [ $split = test ] && n=60
        for i in $(seq 1 $n); do
            shuf -n 150 -r -e $words the a movie plot actor film story was is and but not very >"$TMP/aclImdb/$split/$side/${i}_5.txt"
        done
    done
done
kill_resume imdb 3 "$TMP/imdb" --data "$TMP/aclImdb" --epochs 3 --maxlen 150 --vocab 500 --hidden 64 --embed 32 --batch 32 \
    --threads 1 --quiet

summary

#!/usr/bin/env bash
# The GAN numbers of README.md in one run: the scoring classifier
# (examples/fashion_mnist.c's CNN), examples/gan.c, and the same DCGAN
# recipe in PyTorch (tools/gan_pytorch.py) with the same epochs, both
# scored by the same nn.h classifier against the same test images.
#   tools/gan_crosscheck.sh [EPOCHS [WIDTH [THREADS [SEEDS]]]]   (default: 5 128 2 1)
# SEEDS: how many seeds (1, 2, ...) each side trains; a GAN's distance
# moves with the seed by more than the 10% being compared, so the verdict
# compares the means over the seeds.  Writes build/fm_cnn.safetensors
# (kept for later runs), build/gan_samples/ (the PNG grids of seed 1),
# build/gan_nn_sSEED.f32 and build/gan_torch_sSEED.f32 (the scored images);
# the last line compares the two mean Frechet distances.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/.."
epochs=${1:-5} width=${2:-128} threads=${3:-2} seeds=${4:-1}
mkdir -p build/gan_samples
cc -O3 -march=native -fopenmp -I. examples/fashion_mnist.c -o build/fashion_mnist -lm
cc -O3 -march=native -fopenmp -I. examples/gan.c -o build/gan -lm
if [ ! -s build/fm_cnn.safetensors ]; then
    build/fashion_mnist --threads "$threads" --quiet --save build/fm_cnn.safetensors | tail -n 1
fi
fd() { sed -n 's/^RESULT fd=\([0-9.]*\).*/\1/p' "$1"; }
nn_fds="" torch_fds=""
for seed in $(seq 1 "$seeds"); do
    samples=()
    [ "$seed" = 1 ] && samples=(--samples build/gan_samples)
    build/gan --epochs "$epochs" --width "$width" --threads "$threads" --seed "$seed" --quiet "${samples[@]}" \
        --classifier build/fm_cnn.safetensors --write-samples "build/gan_nn_s$seed.f32" | tee "build/gan_nn_s$seed.out" | tail -n 14
    python3 tools/gan_pytorch.py --epochs "$epochs" --width "$width" --threads "$threads" --seed "$seed" \
        --out "build/gan_torch_s$seed.f32" | tail -n 1
    build/gan --score "build/gan_torch_s$seed.f32" --classifier build/fm_cnn.safetensors | tee "build/gan_torch_s$seed.out" | tail -n 12
    nn_fds="$nn_fds $(fd "build/gan_nn_s$seed.out")"
    torch_fds="$torch_fds $(fd "build/gan_torch_s$seed.out")"
    echo "seed $seed: fd_nn=$(fd "build/gan_nn_s$seed.out") fd_pytorch=$(fd "build/gan_torch_s$seed.out")"
done
awk -v a="$nn_fds" -v b="$torch_fds" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    for (i = 1; i <= n; i++) {
        sa += x[i]; sb += y[i]
        la = la (i > 1 ? "," : "") x[i]; lb = lb (i > 1 ? "," : "") y[i]
    }
    ma = sa / n; mb = sb / n
    printf "RESULT seeds=%d fd_nn_mean=%.3f fd_pytorch_mean=%.3f ratio=%.3f within_10_percent=%s fd_nn=%s fd_pytorch=%s\n",
           n, ma, mb, ma / mb, (ma - mb <= 0.1 * mb && mb - ma <= 0.1 * mb) ? "yes" : "no", la, lb }'

#!/usr/bin/env bash
# The GAN numbers of README.md in one run: the scoring classifier
# (examples/fashion_mnist.c's CNN), examples/gan.c, and the same DCGAN
# recipe in PyTorch (tools/gan_pytorch.py) with the same epochs, both
# scored by the same nn.h classifier against the same test images.
#   tools/gan_crosscheck.sh [EPOCHS [WIDTH [THREADS]]]   (default: 5 128 2)
# Writes build/fm_cnn.safetensors (kept for later runs), build/gan_samples/
# (the PNG grids), build/gan_nn.f32 and build/gan_torch.f32 (the scored
# images); the last line compares the two Frechet distances.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/.."
epochs=${1:-5} width=${2:-128} threads=${3:-2}
mkdir -p build/gan_samples
cc -O3 -march=native -fopenmp -I. examples/fashion_mnist.c -o build/fashion_mnist -lm
cc -O3 -march=native -fopenmp -I. examples/gan.c -o build/gan -lm
if [ ! -s build/fm_cnn.safetensors ]; then
    build/fashion_mnist --threads "$threads" --quiet --save build/fm_cnn.safetensors | tail -n 1
fi
build/gan --epochs "$epochs" --width "$width" --threads "$threads" --quiet --samples build/gan_samples \
    --classifier build/fm_cnn.safetensors --write-samples build/gan_nn.f32 | tee build/gan_nn.out | tail -n 14
python3 tools/gan_pytorch.py --epochs "$epochs" --width "$width" --threads "$threads" --out build/gan_torch.f32 | tail -n 1
build/gan --score build/gan_torch.f32 --classifier build/fm_cnn.safetensors | tee build/gan_torch.out | tail -n 12
nn=$(sed -n 's/^RESULT fd=\([0-9.]*\).*/\1/p' build/gan_nn.out)
torch=$(sed -n 's/^RESULT fd=\([0-9.]*\).*/\1/p' build/gan_torch.out)
awk -v a="$nn" -v b="$torch" 'BEGIN { printf "RESULT fd_nn=%s fd_pytorch=%s ratio=%.3f within_10_percent=%s\n", a, b, a / b,
                                      (a - b <= 0.1 * b && b - a <= 0.1 * b) ? "yes" : "no" }'

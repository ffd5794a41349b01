#!/usr/bin/env bash
# The examples build with their one-line command and follow the example
# contract: flags, the RESULT line last on stdout, clear errors on bad data.
# Last line: "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/check.sh"
result() { tail -n 1 "$1" | grep -q '^RESULT .*test_accuracy=[0-9.]* .*train_seconds=[0-9.]*' && grep -q 'epochs=' <(tail -n 1 "$1"); }
acc() { tail -n 1 "$1" | sed -n 's/.*test_accuracy=\([0-9.]*\).*/\1/p'; }
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

for ex in xor linreg fashion_mnist cifar10 imdb gan transfer; do
    if cc -O2 -I. "examples/$ex.c" -o "$TMP/$ex" -lm >"$TMP/cc.log" 2>&1; then ok "$ex builds with cc -O2 -I. examples/$ex.c -lm"
    else bad "$ex builds" "$TMP/cc.log"; fi
    if gcc -std=c99 -pedantic -Wall -Wextra -Werror -I. -fsyntax-only "examples/$ex.c" >"$TMP/w.log" 2>&1 &&
       g++ -x c++ -Wall -Wextra -Werror -I. -fsyntax-only "examples/$ex.c" >>"$TMP/w.log" 2>&1; then ok "$ex is warning-free as C99 and C++"
    else bad "$ex is warning-free as C99 and C++" "$TMP/w.log"; fi
    if "$TMP/$ex" --help >"$TMP/help" 2>&1 && grep -q -- '--epochs' "$TMP/help"; then ok "$ex --help"
    else bad "$ex --help" "$TMP/help"; fi
    if ! "$TMP/$ex" --no-such-flag >"$TMP/o" 2>&1; then ok "$ex rejects unknown flags"; else bad "$ex rejects unknown flags" "$TMP/o"; fi
    if ! "$TMP/$ex" --device opencl >"$TMP/o" 2>&1 && grep -qi 'opencl' "$TMP/o"; then ok "$ex --device opencl says it is not built with OpenCL"
    else bad "$ex --device opencl" "$TMP/o"; fi
done

# the examples' PNG writer (stored deflate blocks, CRC-32, Adler-32) read back by Python's zlib,
# and their Frechet distance against NumPy's eigenvalues of S1 S2 (tr sqrt(S1 S2), another route)
cat >"$TMP/png_check.py" <<'PY'
import sys, zlib, struct
def read_png(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'\x89PNG\r\n\x1a\n', 'signature'
    at, chunks = 8, []
    while at < len(b):
        n, = struct.unpack('>I', b[at:at + 4]); kind = b[at + 4:at + 8]; data = b[at + 8:at + 8 + n]
        assert zlib.crc32(kind + data) == struct.unpack('>I', b[at + 8 + n:at + 12 + n])[0], 'CRC of %r' % kind
        chunks.append((kind, data)); at += 12 + n
    assert [k for k, _ in chunks] == [b'IHDR', b'IDAT', b'IEND'], [k for k, _ in chunks]
    w, h, depth, colour, comp, filt, lace = struct.unpack('>IIBBBBB', chunks[0][1])
    assert (depth, colour, comp, filt, lace) == (8, 0, 0, 0, 0), 'IHDR'
    raw = zlib.decompress(chunks[1][1])   # checks the zlib header and the Adler-32
    assert len(raw) == h * (w + 1) and all(raw[y * (w + 1)] == 0 for y in range(h)), 'rows'
    return w, h, [raw[y * (w + 1) + 1:(y + 1) * (w + 1)] for y in range(h)]
w, h, rows = read_png(sys.argv[1])
if len(sys.argv) > 2:   # the pattern of example_helpers png, at the size given
    assert (w, h) == (int(sys.argv[2]), int(sys.argv[3])), (w, h)
    assert all(list(rows[y]) == [(7 * x + 3 * y) & 255 for x in range(w)] for y in range(h)), 'pixels'
print('%dx%d' % (w, h))
PY
cat >"$TMP/fd_check.py" <<'PY'
import sys, numpy as np
n = int(sys.argv[1]); v = np.loadtxt(sys.stdin)
mu1, mu2 = v[:n], v[n:2 * n]; s1 = v[2 * n:2 * n + n * n].reshape(n, n); s2 = v[2 * n + n * n:-1].reshape(n, n)
ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
print('%.9g %.9g' % (v[-1], ref)); sys.exit(int(abs(v[-1] - ref) > 1e-7 * abs(ref)))
PY
if cc -O2 -I. tests/example_helpers.c -o "$TMP/example_helpers" -lm >"$TMP/cc.log" 2>&1; then
    if "$TMP/example_helpers" png "$TMP/p.png" 300 250 && python3 "$TMP/png_check.py" "$TMP/p.png" 300 250 >"$TMP/o" 2>&1 &&
       "$TMP/example_helpers" png "$TMP/q.png" 1 1 && python3 "$TMP/png_check.py" "$TMP/q.png" 1 1 >>"$TMP/o" 2>&1; then
        ok "examples/png.h: Python's zlib reads its PNGs back exactly (300x250 in two stored blocks, 1x1)"
    else bad "examples/png.h: PNGs read back" "$TMP/o"; fi
    if python3 -c 'import numpy' 2>/dev/null; then
        for n in 1 5 40; do
            if "$TMP/example_helpers" fd $n 7 | python3 "$TMP/fd_check.py" $n >"$TMP/o" 2>&1; then ok "examples/linalg.h Frechet distance, dimension $n, as NumPy's: $(cat "$TMP/o")"
            else bad "examples/linalg.h Frechet distance, dimension $n" "$TMP/o"; fi
        done
    elif [ "${CI:-}" = true ]; then bad "NumPy is missing in CI"
    else echo "SKIP: NumPy not installed: the Frechet distance not cross-checked"; fi
else bad "tests/example_helpers.c builds" "$TMP/cc.log"; fi

# --onnx files are run in ONNX Runtime at the end
for ex in xor linreg; do
    if "$TMP/$ex" --seed 3 --log "$TMP/$ex.csv" --onnx "$TMP/$ex.onnx" >"$TMP/$ex.out" 2>"$TMP/$ex.err" && result "$TMP/$ex.out" &&
       above "$(acc "$TMP/$ex.out")" 0.99 && [ "$(wc -l <"$TMP/$ex.csv")" -ge 2 ] && [ -s "$TMP/$ex.onnx" ]; then
        ok "$ex trains and writes --onnx: $(tail -n 1 "$TMP/$ex.out")"
    else bad "$ex trains" "$TMP/$ex.out"; fi
done

# the README's API tour compiles and runs as written
awk '/^## API tour/ { f = 1 } f && /^```c$/ { g = 1; next } g && /^```$/ { exit } g' README.md >"$TMP/tour.c"
if [ -s "$TMP/tour.c" ] && gcc -std=c99 -pedantic -Wall -Wextra -Werror -O2 -I. "$TMP/tour.c" -o "$TMP/tour" -lm >"$TMP/tour.log" 2>&1 &&
   "$TMP/tour" >>"$TMP/tour.log" 2>&1 && grep -q 'step 9 loss' "$TMP/tour.log"; then ok "README API tour builds and runs"
else bad "README API tour builds and runs" "$TMP/tour.log"; fi

# Fashion-MNIST: a short run on part of the data must clearly learn
FM=data/fashion-mnist
[ -f "$FM/t10k-labels-idx1-ubyte" ] || tools/fetch_data.sh fashion-mnist >"$TMP/fetch.log" 2>&1 || cat "$TMP/fetch.log"
if [ -f "$FM/t10k-labels-idx1-ubyte" ]; then
    for model in mlp cnn; do
        if "$TMP/fashion_mnist" --model $model --limit 3000 --epochs 1 --quiet --log "$TMP/fm.csv" --onnx "$TMP/fashion_mnist_$model.onnx" \
               --save "$TMP/fm_$model.safetensors" \
               >"$TMP/fm.out" 2>"$TMP/fm.err" && result "$TMP/fm.out" && above "$(acc "$TMP/fm.out")" 0.65 &&
           [ -s "$TMP/fashion_mnist_$model.onnx" ]; then ok "fashion_mnist --model $model learns: $(tail -n 1 "$TMP/fm.out")"
        else bad "fashion_mnist --model $model learns" "$TMP/fm.out"; cat "$TMP/fm.err" | tail -5; fi
    done
    # --int8, --prune, --prune-channels: the int8 model within a point of the float one, the
    # sparsity reached, a slimmer model that learns
    if "$TMP/fashion_mnist" --limit 3000 --epochs 1 --quiet --int8 --prune 0.7 --prune-channels 0.5 >"$TMP/fm.out" 2>"$TMP/fm.err" &&
       result "$TMP/fm.out" && grep -q '^RESULT.* sparsity=0.7000' "$TMP/fm.out" &&
       grep -q '^RESULT.* slim_channels=16,32 slim_accuracy=0\.[5-9]' "$TMP/fm.out" &&
       awk '/^RESULT/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
            END { d = v["fp32_accuracy"] - v["int8_accuracy"]; exit !(v["int8_accuracy"] > 0.5 && d < 0.01 && d > -0.01) }' "$TMP/fm.out"; then
        ok "fashion_mnist --int8 --prune 0.7 --prune-channels 0.5: $(grep '^int8\|^channel' "$TMP/fm.out" | tr '\n' ' ')"
    else bad "fashion_mnist --int8 --prune 0.7 --prune-channels 0.5" "$TMP/fm.out"; tail -5 "$TMP/fm.err"; fi
    # --val/--patience: the weights of the epoch kept come back before the final test (its
    # test accuracy in the log is the RESULT's), and --val must leave training samples
    if "$TMP/fashion_mnist" --model mlp --limit 3000 --val 1000 --patience 1 --epochs 5 --quiet --log "$TMP/v.csv" \
           >"$TMP/v.out" 2>"$TMP/v.err" && result "$TMP/v.out" && best=$(tail -n 1 "$TMP/v.out" | sed -n 's/.* best_epoch=\([0-9]*\).*/\1/p') &&
       [ -n "$best" ] && head -n 1 "$TMP/v.csv" | grep -q ',val_loss,val_accuracy$' && grep -q 'val_accuracy=' <(grep '^epoch 1/5' "$TMP/v.out") &&
       [ "$(awk -F, -v e="$best" '$1 == e { printf "%.4f", $5 }' "$TMP/v.csv")" = "$(acc "$TMP/v.out")" ]; then
        ok "fashion_mnist --val 1000 --patience 1 keeps the best epoch: $(tail -n 1 "$TMP/v.out" | grep -o 'test_accuracy=[^ ]*\|best_epoch.*' | tr '\n' ' ')"
    else bad "fashion_mnist --val 1000 --patience 1 keeps the best epoch" "$TMP/v.out"; fi
    if ! "$TMP/fashion_mnist" --limit 3000 --val 3000 >"$TMP/o" 2>&1 && grep -q -- '--val 3000 .*whole training set of 3000' "$TMP/o"; then
        ok "fashion_mnist rejects --val as large as the training set: $(head -n 1 "$TMP/o")"
    else bad "fashion_mnist rejects --val as large as the training set" "$TMP/o"; fi
    if ! "$TMP/fashion_mnist" --patience 2 >"$TMP/o" 2>&1 && grep -q -- '--patience needs --val' "$TMP/o"; then ok "fashion_mnist: --patience needs --val"
    else bad "fashion_mnist: --patience needs --val" "$TMP/o"; fi
    # the GAN: a few steps on 256 images, a grid of samples per epoch, scored by the CNN above
    if "$TMP/gan" --limit 256 --batch 32 --epochs 2 --width 16 --samples "$TMP" --log "$TMP/gan.csv" --quiet \
           --classifier "$TMP/fm_cnn.safetensors" --fd-samples 500 --write-samples "$TMP/gan.f32" --onnx "$TMP/gan_generator.onnx" \
           >"$TMP/g.out" 2>"$TMP/g.err" && tail -n 1 "$TMP/g.out" | grep -q '^RESULT fd=[0-9.]* fd_floor=[0-9.]* min_class_share=[0-9.]* samples=500 .*epochs=2' &&
       [ "$(wc -l <"$TMP/gan.csv")" -eq 3 ] && [ "$(stat -c %s "$TMP/gan.f32")" -eq $((500 * 784 * 4)) ] &&
       [ "$(python3 "$TMP/png_check.py" "$TMP/epoch_2.png")" = 280x280 ] && [ -s "$TMP/epoch_1.png" ] && grep -q 'Ankle boot' "$TMP/g.out"; then
        ok "gan trains 2 short epochs, writes 280x280 PNG grids, scores its samples: $(tail -n 1 "$TMP/g.out" | cut -d' ' -f1-4)"
    else bad "gan trains, writes PNG grids, scores its samples" "$TMP/g.out"; tail -n 5 "$TMP/g.err"; fi
    # --score: test images scored against themselves are at distance 0
    python3 - "$FM/t10k-images-idx3-ubyte" "$TMP/test.f32" <<'PY'
import sys, numpy as np
x = np.fromfile(sys.argv[1], dtype=np.uint8, offset=16)[:500 * 784]
(x.astype('<f4') / 255 * 2 - 1).tofile(sys.argv[2])
PY
    if "$TMP/gan" --score "$TMP/test.f32" --classifier "$TMP/fm_cnn.safetensors" --fd-samples 500 >"$TMP/o" 2>&1 &&
       awk '/^RESULT/ { split($2, f, "="); exit !(f[2] + 0 < 1e-3) }' "$TMP/o"; then ok "gan --score of the test images themselves: $(tail -n 1 "$TMP/o" | cut -d' ' -f1-3)"
    else bad "gan --score of the test images themselves is 0" "$TMP/o"; fi
    if ! "$TMP/gan" --score "$TMP/test.f32" --classifier "$TMP/fm_mlp.safetensors" >"$TMP/o" 2>&1 && grep -q 'does not fit the scoring network' "$TMP/o"; then
        ok "gan refuses a classifier that does not fit: $(head -c 150 "$TMP/o")"
    else bad "gan refuses a classifier that does not fit" "$TMP/o"; fi
    # tools/gan_pytorch.py, the cross-check's other half, writes images gan --score reads (skipped without PyTorch)
    if python3 -c 'import torch' >/dev/null 2>&1; then
        if python3 tools/gan_pytorch.py --limit 128 --batch 32 --epochs 1 --width 8 --samples 500 --threads 1 --out "$TMP/torch.f32" \
               >"$TMP/o" 2>&1 && "$TMP/gan" --score "$TMP/torch.f32" --classifier "$TMP/fm_cnn.safetensors" --fd-samples 500 >>"$TMP/o" 2>&1 &&
           grep -q '^RESULT fd=[0-9.]* .*samples=500' "$TMP/o"; then ok "tools/gan_pytorch.py's images are scored by gan --score: $(tail -n 1 "$TMP/o" | cut -d' ' -f1-3)"
        else bad "tools/gan_pytorch.py's images are scored by gan --score" "$TMP/o"; fi
    else echo "SKIP: PyTorch is not installed: tools/gan_pytorch.py not run"; fi
    head -c 1000 "$TMP/test.f32" >"$TMP/cut.f32"
    if ! "$TMP/gan" --score "$TMP/cut.f32" --classifier "$TMP/fm_cnn.safetensors" >"$TMP/o" 2>&1 && grep -q 'not a whole number' "$TMP/o"; then
        ok "gan --score names a file that is not whole images"
    else bad "gan --score names a file that is not whole images" "$TMP/o"; fi
    # bad data: a missing directory and a truncated file name the file
    mkdir -p "$TMP/cut"
    cp "$FM"/*-ubyte "$TMP/cut/"
    head -c 1000 "$FM/t10k-images-idx3-ubyte" >"$TMP/cut/t10k-images-idx3-ubyte"
    if ! "$TMP/fashion_mnist" --data "$TMP/cut" --epochs 1 >"$TMP/o" 2>&1 && grep -q 't10k-images-idx3-ubyte' "$TMP/o" &&
       grep -qi 'truncated' "$TMP/o"; then ok "fashion_mnist names a truncated file"
    else bad "fashion_mnist names a truncated file" "$TMP/o"; fi
    if ! "$TMP/fashion_mnist" --data "$TMP/nowhere" >"$TMP/o" 2>&1 && grep -q 'nowhere' "$TMP/o"; then ok "fashion_mnist names a missing directory"
    else bad "fashion_mnist names a missing directory" "$TMP/o"; fi
elif [ "${CI:-}" = true ]; then
    bad "Fashion-MNIST data is missing in CI (tools/fetch_data.sh fashion-mnist)"
else
    echo "SKIP: Fashion-MNIST data not found (run tools/fetch_data.sh fashion-mnist)"
fi

# CIFAR-10: the contract and bad batch files on small synthetic batches in the
# official layout (no data needed), then a short run on 2,000 real images.
make_cifar() {  # FILE RECORDS [LABEL]: 1 label byte (0..9 in turn, or LABEL) + 3072 pixel bytes each
    local i
    for ((i = 0; i < $2; i++)); do
        printf "\\$(printf '%03o' "${3:-$((i % 10))}")"
        head -c 3072 /dev/urandom
    done >"$1"
}
CF=$TMP/cifar-fake
mkdir -p "$CF"
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do make_cifar "$CF/$f.bin" 20; done
if "$TMP/cifar10" --data "$CF" --model small --epochs 2 --tta 2 --seed 4 --log "$TMP/c.csv" --onnx "$TMP/cifar10_small.onnx" \
       >"$TMP/c.out" 2>"$TMP/c.err" && result "$TMP/c.out" && grep -q 'images_per_second=' <(tail -n 1 "$TMP/c.out") &&
   [ "$(wc -l <"$TMP/c.csv")" -eq 3 ] && grep -q 'automobile' "$TMP/c.out" && [ -s "$TMP/cifar10_small.onnx" ]; then ok "cifar10 follows the contract on synthetic batches: $(tail -n 1 "$TMP/c.out")"
else bad "cifar10 follows the contract on synthetic batches" "$TMP/c.out"; tail -n 5 "$TMP/c.err"; fi
if "$TMP/cifar10" --data "$CF" --model small --epochs 2 --batch 32 --tta 0 --val 40 --patience 1 --quiet >"$TMP/c.out" 2>"$TMP/c.err" &&
   result "$TMP/c.out" && grep -q 'best_epoch=[12] val_accuracy=[0-9.]* epochs_run=[12]' <(tail -n 1 "$TMP/c.out") &&
   grep -q '60 training / 40 validation' "$TMP/c.out"; then ok "cifar10 --val 40 holds out 40 of 100 images: $(tail -n 1 "$TMP/c.out" | grep -o 'best_epoch.*')"
else bad "cifar10 --val 40" "$TMP/c.out"; tail -n 5 "$TMP/c.err"; fi
# --prune, --prune-channels: the sparsity reached, every group's two convs at half width
if "$TMP/cifar10" --data "$CF" --model small --epochs 2 --batch 32 --tta 0 --prune 0.5 --prune-channels 0.5 --quiet >"$TMP/c.out" 2>"$TMP/c.err" &&
   result "$TMP/c.out" && grep -q '^RESULT.* slim_channels=24,24,48,48,96,96 slim_accuracy=[0-9.]* .* sparsity=0.5000' "$TMP/c.out" &&
   grep -q '^channel pruning: convs 48,48,96,96,192,192 -> 24,24,48,48,96,96 channels' "$TMP/c.out"; then
    ok "cifar10 --prune 0.5 --prune-channels 0.5 on synthetic batches: $(grep '^channel pruning' "$TMP/c.out" | cut -c1-120)"
else bad "cifar10 --prune 0.5 --prune-channels 0.5 on synthetic batches" "$TMP/c.out"; tail -n 5 "$TMP/c.err"; fi
# transfer: the contract on the synthetic batches (10 images of each class; the log: 1 pretraining
# epoch, 2 of scratch and frozen, 10 + 2 of finetuned), then bad --shots
if "$TMP/transfer" --data "$CF" --shots 4 --pretrain-epochs 1 --epochs 2 --width 4 --quiet --log "$TMP/t.csv" \
       --save-pretrained "$TMP/pre.safetensors" >"$TMP/t.out" 2>"$TMP/t.err" && result "$TMP/t.out" &&
   grep -q 'scratch_accuracy=[0-9.]* frozen_accuracy=[0-9.]* finetuned_accuracy=[0-9.]*' <(tail -n 1 "$TMP/t.out") &&
   [ "$(wc -l <"$TMP/t.csv")" -eq 18 ] && [ -s "$TMP/pre.safetensors" ]; then ok "transfer follows the contract on synthetic batches: $(tail -n 1 "$TMP/t.out" | cut -d' ' -f2-4)"
else bad "transfer follows the contract on synthetic batches" "$TMP/t.out"; tail -n 5 "$TMP/t.err"; fi
if ! "$TMP/transfer" --data "$CF" --shots 11 >"$TMP/o" 2>&1 && grep -q -- '--shots 11: the training set has only 10 images of class dog' "$TMP/o"; then
    ok "transfer rejects more --shots than there are: $(head -n 1 "$TMP/o")"
else bad "transfer rejects more --shots than there are" "$TMP/o"; fi
# --val from the class 5-9 images outside the shots (50 - 5 x 4 = 30 here), the probe epochs, one run's flags
if "$TMP/transfer" --data "$CF" --shots 4 --epochs 2 --width 4 --quiet --pretrained "$TMP/pre.safetensors" --runs finetuned,frozen \
       --val 30 --probe-epochs 2 --finetune-lr 0.02 --log "$TMP/t.csv" >"$TMP/t.out" 2>"$TMP/t.err" && result "$TMP/t.out" &&
   grep -q '^RESULT.* frozen_accuracy=[0-9.]* finetuned_accuracy=[0-9.]* frozen_val_accuracy=[0-9.]* frozen_best_epoch=[12] .*finetuned_best_epoch=[1-4] finetuned_epochs_run=4 .*finetuned_lr=0.02 ' "$TMP/t.out" &&
   ! grep -q 'scratch_accuracy' "$TMP/t.out" && grep -q '(20), 30 validation / 10 test' "$TMP/t.out" &&
   [ "$(head -n 1 "$TMP/t.csv")" = epoch,run,train_loss,train_accuracy,val_accuracy,seconds ] && [ "$(grep -c ',probe,' "$TMP/t.csv")" -eq 2 ]; then
    ok "transfer --val 30 --probe-epochs 2 --runs finetuned,frozen: $(grep -c . "$TMP/t.csv") log lines, $(grep 'kept epoch' "$TMP/t.out" | tr '\n' ' ')"
else bad "transfer --val 30 --probe-epochs 2 --runs finetuned,frozen" "$TMP/t.out"; tail -n 5 "$TMP/t.err"; fi
if ! "$TMP/transfer" --data "$CF" --shots 4 --val 31 >"$TMP/o" 2>&1 && grep -q -- '--val 31: only 30 training images of classes 5-9 are not among the shots' "$TMP/o"; then
    ok "transfer rejects a --val larger than the images outside the shots: $(head -n 1 "$TMP/o")"
else bad "transfer rejects a --val larger than the images outside the shots" "$TMP/o"; fi
if ! "$TMP/transfer" --data "$CF" --shots 4 --epochs 1 --width 8 --pretrained "$TMP/pre.safetensors" >"$TMP/o" 2>&1 &&
   grep -q 'loading the pretrained backbone: .* does not fit the model' "$TMP/o"; then ok "transfer refuses a pretrained file of another width: $(head -c 160 "$TMP/o")"
else bad "transfer refuses a pretrained file of another width" "$TMP/o"; fi
if ! "$TMP/cifar10" --data "$CF" --model small --val 100 >"$TMP/o" 2>&1 && grep -q -- '--val 100 holds out the whole training set of 100' "$TMP/o"; then ok "cifar10 rejects --val 100 of 100 images"
else bad "cifar10 rejects --val 100 of 100 images" "$TMP/o"; fi
if ! "$TMP/cifar10" --data "$CF" --tta 3 >"$TMP/o" 2>&1 && grep -q -- '--tta' "$TMP/o"; then ok "cifar10 rejects --tta 3"
else bad "cifar10 rejects --tta 3" "$TMP/o"; fi
cifar_bad() {  # NAME FILE PATTERN: make FILE bad (by the caller), expect an error naming it
    local rc
    "$TMP/cifar10" --data "$CB" --model small --epochs 1 >"$TMP/o" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q "$2" "$TMP/o" && grep -qi "$3" "$TMP/o"; then ok "cifar10 rejects $1: $(head -n 1 "$TMP/o")"
    else bad "cifar10 rejects $1 (exit $rc)" "$TMP/o"; fi
    rm -rf "$CB"
    cp -R "$CF" "$CB"
}
CB=$TMP/cifar-bad
cp -R "$CF" "$CB"
head -c 5000 "$CF/data_batch_3.bin" >"$CB/data_batch_3.bin"
cifar_bad "a truncated batch" data_batch_3.bin truncated
make_cifar "$CB/test_batch.bin" 4
make_cifar "$TMP/rec" 1 12
cat "$TMP/rec" >>"$CB/test_batch.bin"
cifar_bad "a label byte above 9" test_batch.bin 'label 12'
head -c $((3074 * 3)) /dev/zero >"$CB/data_batch_5.bin"
cifar_bad "a file of the wrong size (CIFAR-100 records)" data_batch_5.bin 'CIFAR-100'
: >"$CB/data_batch_2.bin"
cifar_bad "an empty batch" data_batch_2.bin empty
rm -rf "$CB"
if ! "$TMP/cifar10" --data "$TMP/nowhere" >"$TMP/o" 2>&1 && grep -q 'nowhere/data_batch_1.bin' "$TMP/o"; then
    ok "cifar10 names a missing directory"
else bad "cifar10 names a missing directory" "$TMP/o"; fi
# the recipe against airbench94's own PyTorch code (reference values in tests/airbench_reference.txt)
if cc -O2 -I. tests/airbench_parity.c -o "$TMP/airbench_parity" -lm >"$TMP/cc.log" 2>&1 &&
   "$TMP/airbench_parity" tests/airbench_reference.txt >"$TMP/o" 2>&1; then ok "cifar10 training matches airbench94: $(grep -c PASS "$TMP/o") checks"
else bad "cifar10 training matches airbench94" "$TMP/o"; cat "$TMP/cc.log"; fi

CD=data/cifar-10-batches-bin
if [ ! -f "$CD/test_batch.bin" ]; then
    if [ -z "${NN_DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then export NN_DATA_MIRROR=../shared/data; fi
    if [ -n "${NN_DATA_MIRROR:-}" ] || [ "${CI:-}" = true ]; then
        tools/fetch_data.sh cifar10 >"$TMP/fetch.log" 2>&1 || tail -n 5 "$TMP/fetch.log"
    fi
fi
if [ -f "$CD/test_batch.bin" ]; then
    # 2,000 training and 2,000 test images (the other batches hold one record each)
    CS=$TMP/cifar-2000
    mkdir -p "$CS"
    head -c $((2000 * 3073)) "$CD/data_batch_1.bin" >"$CS/data_batch_1.bin"
    for i in 2 3 4 5; do head -c 3073 "$CD/data_batch_$i.bin" >"$CS/data_batch_$i.bin"; done
    head -c $((2000 * 3073)) "$CD/test_batch.bin" >"$CS/test_batch.bin"
    if "$TMP/cifar10" --data "$CS" --model small --limit 2000 --epochs 3 --batch 128 --tta 0 --quiet >"$TMP/c.out" 2>"$TMP/c.err" &&
       result "$TMP/c.out" && above "$(acc "$TMP/c.out")" 0.30; then ok "cifar10 --model small learns on 2,000 images: $(tail -n 1 "$TMP/c.out")"
    else bad "cifar10 --model small learns on 2,000 images" "$TMP/c.out"; tail -n 5 "$TMP/c.err"; fi
    # pruned to 70% zeros while training, then slimmed to half the channels and fine-tuned: both still learn
    if "$TMP/cifar10" --data "$CS" --model small --limit 2000 --epochs 3 --batch 128 --tta 0 --quiet --prune 0.7 --prune-channels 0.5 \
           >"$TMP/c.out" 2>"$TMP/c.err" && result "$TMP/c.out" && above "$(acc "$TMP/c.out")" 0.25 &&
       grep -q '^RESULT.* sparsity=0.7000' "$TMP/c.out" &&
       awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } exit !(v["slim_accuracy"] > 0.25) }' "$TMP/c.out"; then
        ok "cifar10 --prune 0.7 --prune-channels 0.5 learns on 2,000 images: $(grep '^channel pruning' "$TMP/c.out" | cut -c1-160)"
    else bad "cifar10 --prune 0.7 --prune-channels 0.5 learns on 2,000 images" "$TMP/c.out"; tail -n 5 "$TMP/c.err"; fi
    # transfer: pretraining on the subset's classes 0-4, 20 images of each new class
    if "$TMP/transfer" --data "$CS" --shots 20 --pretrain-epochs 2 --epochs 10 --width 8 --quiet >"$TMP/t.out" 2>"$TMP/t.err" &&
       result "$TMP/t.out" && awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
           exit !(v["scratch_accuracy"] > 0.25 && v["frozen_accuracy"] > 0.25 && v["finetuned_accuracy"] > 0.25 && v["pretrain_accuracy"] > 0.3) }' "$TMP/t.out"; then
        ok "transfer learns on 2,000 images: $(tail -n 1 "$TMP/t.out" | cut -d' ' -f3-7)"
    else bad "transfer learns on 2,000 images" "$TMP/t.out"; tail -n 5 "$TMP/t.err"; fi
elif [ "${CI:-}" = true ]; then
    bad "CIFAR-10 data is missing in CI (tools/fetch_data.sh cifar10)"
else
    echo "SKIP: CIFAR-10 data not found (run tools/fetch_data.sh cifar10)"
fi

# IMDb: a short run on a few hundred reviews must beat chance clearly
IM=data/aclImdb
if [ ! -d "$IM/test/neg" ]; then
    mirror=${NN_DATA_MIRROR:-}
    [ -n "$mirror" ] || [ ! -d ../shared/data ] || mirror=../shared/data
    NN_DATA_MIRROR=$mirror tools/fetch_data.sh imdb >"$TMP/fetch.log" 2>&1 || cat "$TMP/fetch.log"
fi
if [ -d "$IM/test/neg" ]; then
    if "$TMP/imdb" --help 2>&1 | grep -q -- '--maxlen' && "$TMP/imdb" --help 2>&1 | grep -q -- '--bidirectional'; then ok "imdb --help lists its own flags"
    else bad "imdb --help lists its own flags"; fi
    if "$TMP/imdb" --limit 600 --test-limit 1000 --epochs 4 --maxlen 160 --vocab 4000 --lr 0.006 --quiet --log "$TMP/im.csv" \
           >"$TMP/im.out" 2>"$TMP/im.err" && result "$TMP/im.out" && grep -q 'tokens_per_second=' <(tail -n 1 "$TMP/im.out") &&
       above "$(acc "$TMP/im.out")" 0.65 && grep -q 'ROC AUC' "$TMP/im.out" && [ "$(wc -l <"$TMP/im.csv")" -eq 5 ]; then
        ok "imdb learns from 600 reviews: $(tail -n 1 "$TMP/im.out")"
    else bad "imdb learns from 600 reviews" "$TMP/im.out"; tail -5 "$TMP/im.err"; fi
    if "$TMP/imdb" --limit 600 --test-limit 200 --epochs 2 --maxlen 80 --vocab 2000 --embed 32 --hidden 32 --val 200 --patience 1 --quiet \
           >"$TMP/o" 2>&1 && result "$TMP/o" && grep -q '400 training / 200 validation' "$TMP/o" &&
       grep -q 'best_epoch=[12] val_accuracy=[0-9.]* epochs_run=[12]' <(tail -n 1 "$TMP/o"); then
        ok "imdb --val 200 holds out 200 of 600 reviews: $(tail -n 1 "$TMP/o" | grep -o 'best_epoch.*')"
    else bad "imdb --val 200" "$TMP/o"; fi
    # --int8, --prune: the pruned net learns; the dense quantised (the GRU and the embedding float),
    # within a point of the float model, which is the one the run evaluated; 70% zeros over the
    # GRU's four weight matrices and the dense (12,544 weights: 8,780 zeros), each listed
    if "$TMP/imdb" --limit 600 --test-limit 400 --epochs 5 --maxlen 80 --vocab 2000 --embed 32 --hidden 32 --lr 0.01 --int8 \
           --prune 0.7 --quiet >"$TMP/o" 2>&1 && result "$TMP/o" && grep -q '^RESULT.* sparsity=0.6999' "$TMP/o" &&
       above "$(acc "$TMP/o")" 0.58 &&
       grep -q '^int8 (.*, 1 quantised layers, 512 calibration reviews)' "$TMP/o" &&
       [ "$(grep '^pruning' "$TMP/o" | grep -o 'weight_[ih]h_l0\(_reverse\)\? [0-9.]*%' | wc -l)" -eq 4 ] &&
       awk '/^RESULT/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
            END { d = v["fp32_accuracy"] - v["int8_accuracy"]; e = v["fp32_accuracy"] - v["test_accuracy"]
                  exit !(v["int8_reviews_per_second"] > 0 && d < 0.01 && d > -0.01 && e < 0.0051 && e > -0.0051) }' "$TMP/o"; then
        ok "imdb --int8 --prune 0.7: $(grep '^int8\|^pruning' "$TMP/o" | cut -c1-150 | tr '\n' ' ')"
    else bad "imdb --int8 --prune 0.7" "$TMP/o"; fi
    # bad data: a missing folder, an empty review, each named
    mkdir -p "$TMP/im/train/pos" "$TMP/im/train/neg" "$TMP/im/test/pos"
    printf 'A fine film.' >"$TMP/im/train/pos/0_9.txt"
    printf 'Dull.' >"$TMP/im/train/neg/0_2.txt"
    printf 'Good.' >"$TMP/im/test/pos/0_8.txt"
    if ! "$TMP/imdb" --data "$TMP/im" >"$TMP/o" 2>&1 && grep -q 'test/neg' "$TMP/o"; then ok "imdb names a missing folder"
    else bad "imdb names a missing folder" "$TMP/o"; fi
    mkdir -p "$TMP/im/test/neg"
    : >"$TMP/im/test/neg/0_1.txt"
    if ! "$TMP/imdb" --data "$TMP/im" >"$TMP/o" 2>&1 && grep -q '0_1.txt.*empty' "$TMP/o"; then ok "imdb names an empty review"
    else bad "imdb names an empty review" "$TMP/o"; fi
    if ! "$TMP/imdb" --maxlen 0 >"$TMP/o" 2>&1 && grep -q -- '--maxlen' "$TMP/o"; then ok "imdb rejects --maxlen 0"
    else bad "imdb rejects --maxlen 0" "$TMP/o"; fi
    # --onnx writes the bidirectional GRU with lengths and the pooling (run in ONNX Runtime below, its
    # inputs "ids" and "len" fed whole numbers in the ranges their doc_strings give)
    if "$TMP/imdb" --limit 100 --test-limit 100 --epochs 1 --maxlen 20 --vocab 500 --quiet --onnx "$TMP/imdb.onnx" >"$TMP/o" 2>&1 &&
       result "$TMP/o" && [ -s "$TMP/imdb.onnx" ]; then ok "imdb writes --onnx: $(tail -n 1 "$TMP/o")"
    else bad "imdb writes --onnx" "$TMP/o"; fi
elif [ "${CI:-}" = true ]; then
    bad "aclImdb is missing in CI (NN_DATA_MIRROR=../shared/data tools/fetch_data.sh imdb)"
else
    echo "SKIP: aclImdb not found (run NN_DATA_MIRROR=../shared/data tools/fetch_data.sh imdb)"
fi

# the --onnx files of the runs above, in ONNX Runtime (skipped without it, never in CI)
if python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
    if python3 tests/test_onnx.py --run "$TMP"/*.onnx >"$TMP/o" 2>&1; then ok "the examples' --onnx files run in ONNX Runtime: $(grep -c '^PASS' "$TMP/o") files"
    else bad "the examples' --onnx files run in ONNX Runtime" "$TMP/o"; fi
elif [ "${CI:-}" = true ]; then
    bad "Python's onnx and onnxruntime are not installed in CI (.ci/run installs them)"
else
    echo "SKIP: Python's onnx and onnxruntime are not installed: the examples' --onnx files not run"
fi

# --device opencl in a build with -DNN_OPENCL (on PoCL where there is no GPU);
# skipped only where OpenCL is not installed, never in CI
if printf '#include <CL/cl.h>\n#include <clblast_c.h>\n' | gcc -E -x c - >/dev/null 2>&1 || [ "${CI:-}" = true ]; then
    for ex in xor linreg fashion_mnist cifar10 imdb gan transfer; do
        if cc -O2 -I. -DNN_OPENCL "examples/$ex.c" -o "$TMP/${ex}_cl" -lOpenCL -lclblast -lm >"$TMP/cc.log" 2>&1 &&
           gcc -std=c99 -pedantic -Wall -Wextra -Werror -I. -DNN_OPENCL -fsyntax-only "examples/$ex.c" >>"$TMP/cc.log" 2>&1 &&
           g++ -x c++ -Wall -Wextra -Werror -I. -DNN_OPENCL -fsyntax-only "examples/$ex.c" >>"$TMP/cc.log" 2>&1; then
            ok "$ex builds warning-free with -DNN_OPENCL ... -lOpenCL -lclblast"
        else bad "$ex builds with -DNN_OPENCL" "$TMP/cc.log"; fi
    done
    for ex in xor linreg; do
        if "$TMP/${ex}_cl" --device opencl --seed 3 >"$TMP/$ex.out" 2>"$TMP/$ex.err" && result "$TMP/$ex.out" &&
           above "$(acc "$TMP/$ex.out")" 0.99 && grep -q 'OpenCL device' "$TMP/$ex.out"; then
            ok "$ex --device opencl trains: $(tail -n 1 "$TMP/$ex.out")"
        else bad "$ex --device opencl trains" "$TMP/$ex.err"; fi
    done
    if "$TMP/cifar10_cl" --device opencl --data "$CF" --model small --epochs 2 --tta 2 --seed 4 >"$TMP/c.out" 2>"$TMP/c.err" &&
       result "$TMP/c.out" && grep -q 'OpenCL device' "$TMP/c.out"; then
        ok "cifar10 --device opencl runs on synthetic batches: $(tail -n 1 "$TMP/c.out")"
    else bad "cifar10 --device opencl runs on synthetic batches" "$TMP/c.err"; fi
    if [ -d "$IM/test/neg" ] && "$TMP/imdb_cl" --device opencl --limit 600 --test-limit 200 --epochs 1 --maxlen 80 --embed 32 \
           --hidden 32 --vocab 2000 --quiet >"$TMP/im.out" 2>"$TMP/im.err" && result "$TMP/im.out"; then
        ok "imdb --device opencl runs on 600 reviews: $(tail -n 1 "$TMP/im.out")"
    elif [ -d "$IM/test/neg" ]; then bad "imdb --device opencl runs on 600 reviews" "$TMP/im.err"; fi
    # the GAN's two models on one OpenCL backend: images and gradients pass buffer to buffer
    if [ -f "$FM/t10k-labels-idx1-ubyte" ] && "$TMP/gan_cl" --device opencl --limit 128 --batch 16 --epochs 1 --width 8 \
           --samples "$TMP" >"$TMP/gcl.out" 2>"$TMP/gcl.err" && grep -q 'OpenCL device' "$TMP/gcl.out" &&
       "$TMP/gan" --limit 128 --batch 16 --epochs 1 --width 8 --quiet >"$TMP/gcpu.out" 2>&1 &&
       awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[FILENAME, kv[1]] = kv[2] } }
            END { d = v[ARGV[1], "d_loss"] - v[ARGV[2], "d_loss"]; g = v[ARGV[1], "g_loss"] - v[ARGV[2], "g_loss"]
                  exit !(v[ARGV[1], "d_loss"] != "" && d * d < 1e-5 && g * g < 1e-5) }' "$TMP/gcl.out" "$TMP/gcpu.out"; then
        ok "gan --device opencl trains as on the CPU: $(tail -n 1 "$TMP/gcl.out" | cut -d' ' -f2-3) / $(tail -n 1 "$TMP/gcpu.out" | cut -d' ' -f2-3)"
    elif [ -f "$FM/t10k-labels-idx1-ubyte" ]; then bad "gan --device opencl trains as on the CPU" "$TMP/gcl.out"; tail -n 5 "$TMP/gcl.err"; fi
    mkdir -p "$TMP/no_icd"
    OCL_ICD_VENDORS="$TMP/no_icd" "$TMP/xor_cl" --device opencl >"$TMP/o" 2>&1
    if [ $? -eq 1 ] && grep -q 'no OpenCL platform found' "$TMP/o"; then ok "--device opencl without a platform exits 1 with a clear message"
    else bad "--device opencl without a platform exits 1 with a clear message" "$TMP/o"; fi
else
    echo "SKIP: OpenCL is not installed: --device opencl builds not tested"
fi

summary

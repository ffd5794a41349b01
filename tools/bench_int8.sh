#!/usr/bin/env bash
# make bench-int8: int8 against fp32 inference, nn.h (nn_compress.h) and ONNX
# Runtime, on the Fashion-MNIST CNN and the airbench CIFAR-10 network, batch
# 256, 1 and 2 threads, all in one run on one machine.
#   tools/bench_int8.sh            (INT8_THREADS=1,2  INT8_SECONDS=3 to change)
# Weights: the examples' checkpoints where they exist, else random weights
# (speed does not depend on them):
#   build/fashion_mnist_cnn.ckpt     build/fashion_mnist --checkpoint build/fashion_mnist_cnn.ckpt
#   build/cifar10_airbench.ckpt      build/cifar10 --checkpoint build/cifar10_airbench.ckpt
# With a checkpoint, the example is also run with --resume --epochs <the
# checkpoint's> (nothing left to train) --int8 for the test accuracies of
# the float and the int8 model.
# ONNX Runtime (python3 with onnx, onnxruntime, numpy) times the same
# networks exported by nn_onnx.h, fp32 and quantised by its quantize_static;
# without it those ratios read "absent".  Ends with a RESULT line:
#   int8_vs_fp32_fmnist (1 thread), .._t2 (2 threads), the same for cifar,
#   int8_vs_ort_int8 (the smaller of the two nets, 1 thread), per net and
#   thread count, accuracy_loss_fmnist / _cifar in points (fp32 - int8);
#   int8_vs_ort_int8_cpu (and per net): the same at 1 thread by CPU time,
#   which holds on a loaded machine (nn.h and ONNX Runtime run one after
#   the other, so their wall-clock ratio moves with the load).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/int8
mkdir -p "$out"
threads=${INT8_THREADS:-1,2}
seconds=${INT8_SECONDS:-3}
flags=(-O3 -march=native -fopenmp -I.)
${CC:-cc} "${flags[@]}" tools/bench_int8.c -o build/bench_int8 -lm
fm=build/fashion_mnist_cnn.ckpt cf=build/cifar10_airbench.ckpt
args=()
[ -f "$fm" ] && args+=(--fmnist "$fm")
[ -f "$cf" ] && args+=(--cifar "$cf")
build/bench_int8 --threads "$threads" --seconds "$seconds" --onnx "$out" "${args[@]}" | tee "$out/nn.txt"
: >"$out/ort.txt"
if python3 -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
    python3 tools/bench_int8_ort.py "$out" --threads "$threads" --seconds "$seconds" 2>"$out/ort.log" | tee "$out/ort.txt"
else
    echo "bench-int8: ONNX Runtime not installed (pip install onnx onnxruntime numpy): its columns read absent" >&2
fi
: >"$out/accuracy.txt"
# the epochs a checkpoint has done, from its safetensors __metadata__
epochs_of() {
    python3 -c 'import json, struct, sys
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]
print(json.loads(f.read(n))["__metadata__"]["nn.epoch"])' "$1"
}
if [ -f "$fm" ]; then
    ${CC:-cc} "${flags[@]}" examples/fashion_mnist.c -o build/fashion_mnist -lm
    build/fashion_mnist --resume "$fm" --epochs "$(epochs_of "$fm")" --int8 --quiet | tee "$out/fashion_mnist.log" | grep '^int8' || true
    sed -n 's/^RESULT.* fp32_accuracy=\([0-9.]*\) int8_accuracy=\([0-9.]*\).*/fmnist \1 \2/p' "$out/fashion_mnist.log" >>"$out/accuracy.txt"
fi
if [ -f "$cf" ]; then
    ${CC:-cc} "${flags[@]}" examples/cifar10.c -o build/cifar10 -lm
    build/cifar10 --resume "$cf" --epochs "$(epochs_of "$cf")" --int8 --quiet --tta 0 | tee "$out/cifar10.log" | grep '^int8' || true
    sed -n 's/^RESULT.* fp32_accuracy=\([0-9.]*\) int8_accuracy=\([0-9.]*\).*/cifar \1 \2/p' "$out/cifar10.log" >>"$out/accuracy.txt"
fi
python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def rows(path):
    r = {}
    for line in open(path):
        kv = dict(re.findall(r"(\w+)=(\S+)", line))
        if "net" in kv:
            r[(kv["net"], kv["threads"])] = kv
    return r
nn, ort = rows(out + "/nn.txt"), rows(out + "/ort.txt")
acc = {l.split()[0]: (float(l.split()[1]), float(l.split()[2])) for l in open(out + "/accuracy.txt") if l.strip()}
res, vs_ort, vs_ort_cpu = [], [], []
for net in ("fmnist", "cifar"):
    for (n, t), kv in sorted(nn.items()):
        if n != net:
            continue
        suffix = "" if t == "1" else "_t" + t
        res.append(f"int8_vs_fp32_{net}{suffix}={float(kv['speedup']):.2f}")
        o = ort.get((n, t))
        if o:
            r = float(kv["int8_images_per_second"]) / float(o["int8_images_per_second"])
            res.append(f"int8_vs_ort_int8_{net}{suffix}={r:.2f}")
            res.append(f"ort_int8_vs_fp32_{net}{suffix}={float(o['speedup']):.2f}")
            if t == "1":
                vs_ort.append(r)
                rc = float(kv["int8_cpu_images_per_second"]) / float(o["int8_cpu_images_per_second"])
                res.append(f"int8_vs_ort_int8_cpu_{net}={rc:.2f}")
                vs_ort_cpu.append(rc)
        res.append(f"int8_images_per_second_{net}{suffix}={kv['int8_images_per_second']}")
    a = acc.get(net)
    res.append(f"accuracy_loss_{net}=" + (f"{100 * (a[0] - a[1]):.2f}" if a else "absent"))
head = [r for r in res if r.startswith(("int8_vs_fp32_fmnist=", "int8_vs_fp32_cifar="))]
head.append("int8_vs_ort_int8=" + (f"{min(vs_ort):.2f}" if vs_ort else "absent"))
head.append("int8_vs_ort_int8_cpu=" + (f"{min(vs_ort_cpu):.2f}" if vs_ort_cpu else "absent"))
res = head + [r for r in res if r not in head]
kernel = next(iter(nn.values()))["kernel"] if nn else "?"
print("RESULT " + " ".join(res) + f" kernel={kernel}")
PY

"""ONNX Runtime's own fp32 and int8 inference on the networks nn.h exported
(tools/bench_int8.c --onnx DIR writes DIR/<net>.onnx and the calibration
images DIR/<net>_calib.f32), for tools/bench_int8.sh: the int8 model is
made by ONNX Runtime's quantiser (quantize_static: QDQ format, per-channel
s8 weights, u8 activations with MinMax calibration on the same 256
images nn.h calibrated on), batch 256, one session per thread count with
intra_op_num_threads set, fp32 and int8 runs interleaved.

    python3 tools/bench_int8_ort.py DIR [--threads 1,2] [--seconds S] [--nets fmnist,cifar]

Prints one line per net and thread count:
    ort net=fmnist threads=1 fp32_images_per_second=... int8_images_per_second=... speedup=...
      ... fp32_cpu_images_per_second=... int8_cpu_images_per_second=...
(the _cpu_ rates by the process's CPU time, as tools/bench_int8.c's)
"""
import argparse
import os
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

BATCH = 256


class Images(CalibrationDataReader):
    def __init__(self, name, x, batch=32):
        self.name, self.x, self.batch, self.at = name, x, batch, 0

    def get_next(self):
        if self.at >= len(self.x):
            return None
        b = self.x[self.at:self.at + self.batch]
        self.at += self.batch
        return {self.name: b}


def session(path, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--nets", default="fmnist,cifar")
    a = ap.parse_args()
    for net in a.nets.split(","):
        path = os.path.join(a.dir, net + ".onnx")
        model = onnx.load(path)
        inp = model.graph.input[0]
        shape = [d.dim_value for d in inp.type.tensor_type.shape.dim][1:]
        x = np.fromfile(os.path.join(a.dir, net + "_calib.f32"), dtype=np.float32).reshape([-1] + shape)
        qpath = os.path.join(a.dir, net + ".int8.onnx")
        quantize_static(path, qpath, Images(inp.name, x), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        feed = {inp.name: x[:BATCH]}
        for t in [int(v) for v in a.threads.split(",")]:
            fp, q = session(path, t), session(qpath, t)
            fp.run(None, feed)
            q.run(None, feed)
            tf = tq = cf = cq = 0.0
            reps = 0
            while tf + tq < a.seconds or reps < 3:
                t0, c0 = time.perf_counter(), time.process_time()
                fp.run(None, feed)
                tf += time.perf_counter() - t0
                cf += time.process_time() - c0
                t0, c0 = time.perf_counter(), time.process_time()
                q.run(None, feed)
                tq += time.perf_counter() - t0
                cq += time.process_time() - c0
                reps += 1
            d = np.abs(fp.run(None, feed)[0] - q.run(None, feed)[0]).max()
            print(f"ort net={net} threads={t} fp32_images_per_second={BATCH * reps / tf:.0f} "
                  f"int8_images_per_second={BATCH * reps / tq:.0f} speedup={tf / tq:.2f} max_logit_diff={d:.4f} "
                  f"onnxruntime={ort.__version__} fp32_cpu_images_per_second={BATCH * reps / cf:.0f} "
                  f"int8_cpu_images_per_second={BATCH * reps / cq:.0f}", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Round trip of every layer type between PyTorch and nn.h, no renaming.

For each case: build the module in PyTorch with random weights (batch-norm
running statistics and layer-norm parameters too), save its state_dict with
safetensors.torch.save_file, write random inputs, and run the same
architecture in nn.h (tools/pytorch_roundtrip.c, built here with cc), which
loads the file with flags 0.  Compared with PyTorch's forward:
  eval   nn.h's eval-mode output as loaded,
  train  one forward pass in training mode (batch-norm batch statistics),
  after  nn.h trains TRAIN_STEPS SGD steps, saves, and PyTorch loads that
         file with load_state_dict(strict=True): its eval-mode output
         against nn.h's (and num_batches_tracked against the passes made).
The reference is PyTorch in float64 from the same float32 weights and
inputs, so the error is nn.h's float32 rounding alone.  The error of an
output is the largest |nn.h - PyTorch| / |PyTorch| over the values with
|PyTorch| > 1e-3.  A case passes ("ok") when every output is within 1e-5.
A small value that is the sum of much larger terms loses digits in any
float32 arithmetic, PyTorch's included (which values lose most depends on
the order of the sums): where an output is not within 1e-5, the case
passes ("ok, float32 floor") only if nn.h's largest absolute error over
that output is at most twice that of PyTorch's own float32 forward pass,
i.e. nn.h is as exact as PyTorch in float32.  The table prints both.

    python3 tools/pytorch_roundtrip.py [--keep DIR] [CASE ...]
Needs torch, safetensors and numpy; exits 0 and ends with "N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, TRAIN_STEPS, LIMIT = 3, 5, 1e-5


class Recurrent(torch.nn.Module):
    """nn.h's recurrent op: x [B, T, F] and lengths -> [B, T, dirs*H], zeros past each length"""

    def __init__(self, kind, layers, bidirectional, lengths):
        super().__init__()
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        self.rnn = cls(4, 3, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        self.lengths = lengths

    def forward(self, x, lengths=None):
        if not self.lengths:
            return self.rnn(x)[0]
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.reshape(-1).long().cpu(), batch_first=True,
                                                         enforce_sorted=False)
        return torch.nn.utils.rnn.pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=x.shape[1])[0]


class Single(torch.nn.Module):
    """one layer under the attribute name nn.h's graph gives it"""

    def __init__(self, name, layer):
        super().__init__()
        setattr(self, name, layer)
        self.name = name

    def forward(self, x):
        return getattr(self, self.name)(x)


class ConvBN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, (3, 3), stride=1, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 6 * 5, 3)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.bn(self.conv(x))), 1))


class Generator(torch.nn.Module):
    """a DCGAN-style generator block: transposed conv, batch norm, relu, nearest upsampling, conv, tanh"""

    def __init__(self):
        super().__init__()
        self.convt = torch.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(3)
        self.up = torch.nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        return torch.tanh(self.conv(self.up(torch.relu(self.bn(self.convt(x))))))


def rec(kind, layers=1, bidirectional=False, lengths=True):
    return lambda: Recurrent(kind, layers, bidirectional, lengths), (5, 4), lengths


# name: (module maker, shape of one input sample, has lengths); "ids" for embedding
CASES = {
    "dense": (lambda: Single("fc", torch.nn.Linear(7, 5)), (7,), False),
    "dense_seq": (lambda: Single("fc", torch.nn.Linear(6, 3, bias=False)), (4, 6), False),
    "conv2d": (lambda: Single("conv", torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)), (3, 9, 8), False),
    "conv_bn": (ConvBN, (2, 6, 5), False),
    "conv_transpose": (lambda: Single("convt", torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)),
                       (4, 5, 6), False),
    "generator": (Generator, (4, 3, 5), False),
    "batchnorm1d": (lambda: Single("bn", torch.nn.BatchNorm1d(6, eps=1e-3, momentum=0.3)), (6,), False),
    "layernorm": (lambda: Single("ln", torch.nn.LayerNorm(7)), (3, 7), False),
    "embedding": (lambda: Single("emb", torch.nn.Embedding(11, 5)), "ids", False),
    "rnn": rec("rnn"),
    "rnn_bi": rec("rnn", bidirectional=True),
    "lstm": rec("lstm"),
    "lstm_bi": rec("lstm", bidirectional=True),
    "lstm_bi2": rec("lstm", 2, True),
    "lstm_2_nolen": rec("lstm", 2, lengths=False),
    "gru": rec("gru"),
    "gru_bi": rec("gru", bidirectional=True),
    "gru_bi2": rec("gru", 2, True),
}


def randomize(module, gen):
    """random values for what PyTorch initialises to constants"""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif name.endswith(("running_mean", "bias")) or (name.endswith("weight") and t.dim() == 1):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.5 + (1.0 if name.endswith("weight") else 0.0))


def error(mine, ref):
    """largest relative difference where |ref| > 1e-3, largest absolute difference"""
    mine, ref = mine.astype(np.float64).ravel(), ref.astype(np.float64).ravel()
    big = np.abs(ref) > 1e-3
    rel = float(np.max(np.abs(mine[big] - ref[big]) / np.abs(ref[big]))) if big.any() else 0.0
    return rel, float(np.max(np.abs(mine - ref)))


def forward(module, inputs, train, dtype):
    m = module.to(dtype)
    m.train(train)
    with torch.no_grad():
        args = [torch.from_numpy(inputs["x"]).to(dtype) if "x" in inputs else torch.from_numpy(inputs["ids"]).long()]
        if "len" in inputs:
            args.append(torch.from_numpy(inputs["len"]))
        return m(*args).double().numpy()


def run_case(name, exe, work):
    make, shape, has_len = CASES[name]
    gen = torch.Generator().manual_seed(sum(map(ord, name)))
    torch.manual_seed(sum(map(ord, name)))
    module = make()
    randomize(module, gen)
    os.makedirs(work, exist_ok=True)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, os.path.join(work, "torch.safetensors"))
    inputs = {}
    if shape == "ids":
        inputs["ids"] = torch.randint(0, 11, (BATCH, 6), generator=gen).float().numpy()
    else:
        inputs["x"] = torch.randn((BATCH, *shape), generator=gen).numpy()
    if has_len:
        inputs["len"] = np.array([[5], [2], [4]], dtype=np.float32)
    # float64, then float32 (float32 weights survive the round trip exactly)
    ref_eval, f32_eval = forward(module, inputs, False, torch.float64), forward(module, inputs, False, torch.float32)
    # batch statistics (each pass also moves PyTorch's running ones, which eval no longer needs)
    ref_train, f32_train = forward(module, inputs, True, torch.float64), forward(module, inputs, True, torch.float32)
    inputs["target"] = torch.randn(ref_eval.shape, generator=gen).numpy()
    for k, v in inputs.items():
        v.astype("<f4").tofile(os.path.join(work, k + ".f32"))
    run = subprocess.run([exe, name, work], capture_output=True, text=True)
    if run.returncode != 0:
        return None, (run.stdout + run.stderr).strip()
    got = {k: np.fromfile(os.path.join(work, k + ".f32"), dtype="<f4").reshape(ref_eval.shape) for k in ("eval", "train", "after")}
    saved = load_file(os.path.join(work, "nnh.safetensors"))
    back = make()
    back.load_state_dict(saved, strict=True)   # raises on any missing, unexpected or misshapen tensor
    counts = [int(v) for k, v in saved.items() if k.endswith("num_batches_tracked")]
    if any(c != 1 + TRAIN_STEPS for c in counts):
        return None, f"num_batches_tracked {counts}, expected {1 + TRAIN_STEPS} (1 + {TRAIN_STEPS} training passes)"
    ref_after, f32_after = forward(back, inputs, False, torch.float64), forward(back, inputs, False, torch.float32)
    errs = [error(got["eval"], ref_eval), error(got["train"], ref_train), error(got["after"], ref_after)]
    f32 = [error(f32_eval, ref_eval), error(f32_train, ref_train), error(f32_after, ref_after)]
    moved = float(np.max(np.abs(ref_after - ref_eval)))
    return {"tensors": len(saved), "errs": errs, "f32": f32, "moved": moved}, None


def main(argv):
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    names = [a for a in argv if a in CASES] or list(CASES)
    unknown = [a for a in argv if not a.startswith("--") and a not in CASES and a != keep]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; cases: {' '.join(CASES)}")
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    exe = os.path.join(ROOT, "build", "pytorch_roundtrip")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=c99", "-O2", "-I" + ROOT, os.path.join(ROOT, "tools", "pytorch_roundtrip.c"), "-o", exe, "-lm"],
                   check=True)
    base = keep or tempfile.mkdtemp(prefix="nn_roundtrip_")
    print(f"nn.h and PyTorch {torch.__version__} float32 against PyTorch float64: max relative error where |value| > 1e-3")
    print(f"| case | tensors | eval as loaded: nn.h / PyTorch f32 | train mode | after {TRAIN_STEPS} SGD steps, strict load "
          "| max abs error: nn.h / PyTorch f32 | moved by training | result |")
    print("|---|---|---|---|---|---|---|---|")
    passed = failed = 0
    for name in names:
        res, why = run_case(name, exe, os.path.join(base, name))
        if res is None:
            failed += 1
            print(f"| {name} | | | | | | | FAIL: {why} |")
            continue
        within = all(e[0] <= LIMIT for e in res["errs"])
        floor = all(e[0] <= LIMIT or e[1] <= 2 * f[1] for e, f in zip(res["errs"], res["f32"]))
        ok = (within or floor) and res["moved"] > 1e-4
        passed += ok
        failed += not ok
        cols = " | ".join(f"{e[0]:.1e} / {f[0]:.1e}" for e, f in zip(res["errs"], res["f32"]))
        absolute = f"{max(e[1] for e in res['errs']):.1e} / {max(f[1] for f in res['f32']):.1e}"
        verdict = "ok" if ok and within else "ok, float32 floor" if ok else "FAIL"
        print(f"| {name} | {res['tensors']} | {cols} | {absolute} | {res['moved']:.2g} | {verdict} |")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

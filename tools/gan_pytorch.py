#!/usr/bin/env python3
"""examples/gan.c's DCGAN recipe in PyTorch, for the cross-check of its
quality score: the same networks, initialisation, losses, optimizers,
batches and epochs on the same Fashion-MNIST files.  It writes its
generated images in the format gan.c --score reads (raw little-endian
float32, 28x28 each in [-1, 1]), so both are scored by the same nn.h
classifier:

  python3 tools/gan_pytorch.py --epochs 5 --out build/gan_torch.f32
  build/gan --score build/gan_torch.f32 --classifier build/fm_cnn.safetensors

Recipe (see examples/gan.c): generator noise 100 -> linear 7*7*W (no bias)
-> bn -> relu -> ConvTranspose2d(W, W/2, 4, 2, 1, no bias) -> bn -> relu
-> ConvTranspose2d(W/2, 1, 4, 2, 1) -> tanh; discriminator Conv2d(1, W/2,
4, 2, 1) -> leaky relu 0.2 -> Conv2d(W/2, W, 4, 2, 1) -> leaky relu 0.2 ->
linear 1.  Weights N(0, 0.02), biases 0.  Each step: the discriminator on
one batch of B real (target 1) and B generated images (target 0), mean BCE
on the logits; then the generator on the same generated batch against
target 1.  Adam lr 2e-4, betas (0.5, 0.999), batch 64, the last partial
batch of an epoch dropped.  Samples in evaluation mode (running batch-norm
statistics).
"""
import argparse
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx_images(path):
    with open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            sys.exit(f"gan_pytorch: '{path}' is not an IDX image file")
        x = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
    if x.size != n * rows * cols:
        sys.exit(f"gan_pytorch: '{path}' is truncated")
    return x.reshape(n, 1, rows, cols).astype(np.float32) / 255.0


def normal_init(module):
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def build(width):
    g = nn.Sequential(
        nn.Linear(100, width * 7 * 7, bias=False),
        nn.Unflatten(1, (width, 7, 7)),
        nn.BatchNorm2d(width), nn.ReLU(),
        nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(width // 2), nn.ReLU(),
        nn.ConvTranspose2d(width // 2, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, width // 2, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(width // 2, width, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(width * 7 * 7, 1))
    g.apply(normal_init)
    d.apply(normal_init)
    return g, d


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/fashion-mnist")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    p.add_argument("--samples", type=int, default=10000, help="images written")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", required=True, help="the generated images (raw float32)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed + 2)
    x = torch.from_numpy(read_idx_images(os.path.join(a.data, "train-images-idx3-ubyte")) * 2 - 1)
    if a.limit:
        x = x[:a.limit]
    batch = min(a.batch, len(x))
    steps = len(x) // batch
    g, d = build(a.width)
    opt_g = torch.optim.Adam(g.parameters(), lr=a.lr, betas=(0.5, 0.999), eps=1e-8)
    opt_d = torch.optim.Adam(d.parameters(), lr=a.lr, betas=(0.5, 0.999), eps=1e-8)
    bce = nn.BCEWithLogitsLoss()
    targets = torch.cat([torch.ones(batch, 1), torch.zeros(batch, 1)])
    ones = torch.ones(batch, 1)
    print(f"gan_pytorch: {len(x)} training images, batch {batch}, {a.epochs} epochs ({steps} steps each), "
          f"lr {a.lr}, width {a.width}, {torch.get_num_threads()} thread(s)", flush=True)
    t_start = time.time()
    train_seconds = 0.0
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        order = torch.from_numpy(rng.permutation(len(x)))
        d_sum = g_sum = 0.0
        for s in range(steps):
            real = x[order[s * batch:(s + 1) * batch]]
            fake = g(torch.randn(batch, 100))
            opt_d.zero_grad()
            d_loss = bce(d(torch.cat([real, fake.detach()])), targets)
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = bce(d(fake), ones)
            g_loss.backward()
            opt_g.step()
            d_sum += d_loss.item()
            g_sum += g_loss.item()
        seconds = time.time() - t0
        train_seconds += seconds
        print(f"epoch {epoch}/{a.epochs} d_loss={d_sum / steps:.4f} g_loss={g_sum / steps:.4f} seconds={seconds:.2f}", flush=True)
    g.eval()
    gen = torch.Generator().manual_seed(a.seed + 6)
    with torch.no_grad():
        out = torch.cat([g(torch.randn(min(1000, a.samples - i), 100, generator=gen)) for i in range(0, a.samples, 1000)])
    out.numpy().astype("<f4").tofile(a.out)
    print(f"RESULT samples={a.samples} file={a.out} d_loss={d_sum / steps:.4f} g_loss={g_sum / steps:.4f} "
          f"train_seconds={train_seconds:.1f} epochs={a.epochs} width={a.width} total_seconds={time.time() - t_start:.1f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Independent reference for the recurrent ops of nn.h.

Computes, in float64 with numpy, a small bidirectional LSTM and GRU from the
PyTorch/cuDNN equations written out below (not from nn.h's code) and prints
the outputs as the C constants that tests/test_nn.c compares against.
The inputs and weights are closed-form functions of their flat index, which
the C test generates the same way:

    x[i]    = sin(1 + 0.37 i)          [B, T, F]
    W_ih[i] = 0.5 sin(0.11 i + 0.3)     [dirs*G*H, F]
    W_hh[i] = 0.5 cos(0.13 i + 0.2)     [dirs*G*H, H]
    b_ih[i] = 0.1 sin(0.7 i)            [dirs*G*H]
    b_hh[i] = 0.1 cos(0.9 i)            [dirs*G*H]

Sample 1 has 2 valid steps of 4: its steps 2 and 3 hold input values that
must not matter, its outputs there are zeros, and its reverse direction
starts at step 1.

Run: python3 tests/rnn_reference.py   (needs numpy)
"""
import numpy as np

B, T, F, H = 2, 4, 3, 2
LENGTHS = [4, 2]


def closed_form(n, scale, fn, a, b):
    i = np.arange(n, dtype=np.float64)
    return scale * fn(a * i + b)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def lstm_cell(x, h, c, wih, whh, bih, bhh):
    a = wih @ x + bih + whh @ h + bhh
    i, f, g, o = sigmoid(a[0:H]), sigmoid(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:4 * H])
    c = f * c + i * g
    return o * np.tanh(c), c


def gru_cell(x, h, c, wih, whh, bih, bhh):
    gi = wih @ x + bih
    gh = whh @ h + bhh
    r = sigmoid(gi[0:H] + gh[0:H])
    z = sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gi[2 * H:3 * H] + r * gh[2 * H:3 * H])
    return (1 - z) * n + z * h, c


def run(cell, gates):
    dirs = 2
    GH = gates * H
    x = closed_form(B * T * F, 1.0, np.sin, 0.37, 1.0).reshape(B, T, F)
    wih = closed_form(dirs * GH * F, 0.5, np.sin, 0.11, 0.3).reshape(dirs, GH, F)
    whh = closed_form(dirs * GH * H, 0.5, np.cos, 0.13, 0.2).reshape(dirs, GH, H)
    bih = closed_form(dirs * GH, 0.1, np.sin, 0.7, 0.0).reshape(dirs, GH)
    bhh = closed_form(dirs * GH, 0.1, np.cos, 0.9, 0.0).reshape(dirs, GH)
    y = np.zeros((B, T, dirs * H))
    for b in range(B):
        L = LENGTHS[b]
        for d in range(dirs):
            h, c = np.zeros(H), np.zeros(H)
            steps = range(L) if d == 0 else range(L - 1, -1, -1)
            for t in steps:
                h, c = cell(x[b, t], h, c, wih[d], whh[d], bih[d], bhh[d])
                y[b, t, d * H:(d + 1) * H] = h
    return y


def c_array(name, y):
    vals = ", ".join("%.9ff" % v for v in y.ravel())
    return "static const float %s[%d] = {%s};" % (name, y.size, vals)


if __name__ == "__main__":
    print(c_array("lstm_expected", run(lstm_cell, 4)))
    print(c_array("gru_expected", run(gru_cell, 3)))

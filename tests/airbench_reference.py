"""Reference values for tests/airbench_parity.c (see there for the commands).

Reads the start written by `airbench_parity --dump FILE` (inputs, labels,
parameters) and trains it with the training code of airbench94
(github.com/KellerJordan/cifar10-airbench, legacy/airbench94.py): its
network classes, SGD parameter groups, learning-rate schedule and lookahead,
at widths 32/32/32 (nn.h runs their 3x3 convolutions by Winograd), batch
16, 12 steps, in float64 on the CPU.  The whitening bias stops training at
step 7, as it does at airbench's epoch 3.  Prints the loss of every step
and the eval-mode logits of the first batch.
Needs numpy and torch."""
import sys

import numpy as np
import torch
from torch import nn

torch.set_default_dtype(torch.float64)
B, T, FREEZE, WIDTHS = 16, 12, 7, (32, 32, 32)

raw = open(sys.argv[1], 'rb').read()
pos = 0


def take(count, dtype=np.float32):
    global pos
    a = np.frombuffer(raw, dtype, count, pos)
    pos += a.nbytes
    return a


images = torch.tensor(take(T * B * 3072).reshape(T, B, 3, 32, 32).astype(np.float64))
labels = torch.tensor(take(T * B).reshape(T, B).astype(np.int64))


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, channels, momentum=0.6, eps=1e-12):
        super().__init__(channels, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad = False


class Conv(nn.Conv2d):
    def __init__(self, cin, cout, kernel_size=3, padding='same', bias=False):
        super().__init__(cin, cout, kernel_size=kernel_size, padding=padding, bias=bias)


class ConvGroup(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = Conv(cin, cout)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = BatchNorm(cout)
        self.conv2 = Conv(cout, cout)
        self.norm2 = BatchNorm(cout)
        self.activ = nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Mul(nn.Module):
    def forward(self, x):
        return x * (1 / 9)


net = nn.Sequential(Conv(3, 24, 2, padding=0, bias=True), nn.GELU(), ConvGroup(24, WIDTHS[0]),
                    ConvGroup(WIDTHS[0], WIDTHS[1]), ConvGroup(WIDTHS[1], WIDTHS[2]), nn.MaxPool2d(3),
                    nn.Flatten(), nn.Linear(WIDTHS[2], 10, bias=False), Mul())
net[0].weight.requires_grad = False
with torch.no_grad():  # nn.h's parameters come in the order of PyTorch's state_dict
    for key, value in net.state_dict().items():
        if 'num_batches' not in key:
            count = int(take(1, np.int32)[0])
            assert count == value.numel(), key
            value.copy_(torch.tensor(take(count).astype(np.float64)).view(value.shape))
assert pos == len(raw)

momentum = 0.85
kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
lr = 11.5 / kilostep_scale
wd = 0.0153 * B / kilostep_scale
lr_biases = lr * 64.0
norm_biases = [p for k, p in net.named_parameters() if 'norm' in k and p.requires_grad]
other_params = [p for k, p in net.named_parameters() if 'norm' not in k and p.requires_grad]
optimizer = torch.optim.SGD([dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
                             dict(params=other_params, lr=lr, weight_decay=wd / lr)],
                            momentum=momentum, nesterov=True)


def get_lr(step):
    warmup_steps = int(T * 0.23)
    if step < warmup_steps:
        frac = step / warmup_steps
        return 0.2 * (1 - frac) + 1.0 * frac
    frac = (step - warmup_steps) / (T - warmup_steps)
    return 1.0 * (1 - frac) + 0.07 * frac


scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, get_lr)
alpha_schedule = 0.95**5 * (torch.arange(T + 1) / T)**3
net_ema = {k: v.clone() for k, v in net.state_dict().items()}


def lookahead(decay):
    for ema_param, net_param in zip(net_ema.values(), net.state_dict().values()):
        if net_param.dtype in (torch.half, torch.float, torch.double):
            ema_param.lerp_(net_param, 1 - decay)
            net_param.copy_(ema_param)


loss_fn = nn.CrossEntropyLoss(label_smoothing=0.2, reduction='none')
for step in range(T):
    net[0].bias.requires_grad = step < FREEZE
    net.train()
    loss = loss_fn(net(images[step]), labels[step]).sum()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    scheduler.step()
    print('loss %d %.9g' % (step, loss.item()))
    if (step + 1) % 5 == 0:
        lookahead(alpha_schedule[step + 1].item())
    if step + 1 >= T:
        lookahead(1.0)
net.eval()
with torch.no_grad():
    logits = net(images[0])
for i in range(B):
    for j in range(10):
        print('logit %d %d %.9g' % (i, j, logits[i, j].item()))

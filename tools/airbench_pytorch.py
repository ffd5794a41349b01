# The airbench94 recipe (K. Jordan, github.com/KellerJordan/cifar10-airbench,
# legacy/airbench94.py) in PyTorch, float32 on the CPU: the reference that
# examples/cifar10.c is compared with on the same data, epoch by epoch.
#   python3 tools/airbench_pytorch.py DATA_DIR [--seed N] [--log FILE.csv]
# DATA_DIR holds CIFAR-10's binary batches (data_batch_1..5.bin, test_batch.bin).
# Writes the same CSV columns as the example's --log (test_loss left empty);
# the last line is "RESULT test_accuracy=.. test_accuracy_no_tta=.. seconds=..".
import argparse, math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EPOCHS, BATCH, LR, MOMENTUM, WD, BIAS_SCALER, SMOOTHING = 9.9, 1024, 11.5, 0.85, 0.0153, 64.0, 0.2


class BatchNorm(nn.BatchNorm2d):   # scale frozen at 1; running statistics keep 0.6 of the old value
    def __init__(self, c):
        super().__init__(c, eps=1e-12, momentum=0.4)
        self.weight.requires_grad = False


class Conv(nn.Conv2d):             # identity on the input channels, PyTorch's default elsewhere
    def __init__(self, cin, cout, k=3, padding="same", bias=False):
        super().__init__(cin, cout, k, padding=padding, bias=bias)

    def reset_parameters(self):
        super().reset_parameters()
        if self.bias is not None:
            self.bias.data.zero_()
        torch.nn.init.dirac_(self.weight.data[:self.weight.size(1)])


class ConvGroup(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.norm1 = Conv(cin, cout), BatchNorm(cout)
        self.conv2, self.norm2 = Conv(cout, cout), BatchNorm(cout)

    def forward(self, x):
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


class Scale(nn.Module):
    def forward(self, x):
        return x / 9


def airbench_net():   # the whitening conv's weight is frozen: main() sets it from the data
    net = nn.Sequential(Conv(3, 24, 2, padding=0, bias=True), nn.GELU(), ConvGroup(24, 64), ConvGroup(64, 256),
                        ConvGroup(256, 256), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(256, 10, bias=False), Scale())
    net = net.to(memory_format=torch.channels_last)
    net[0].weight.requires_grad = False
    return net


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log")
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    def load(names):
        raw = np.concatenate([np.fromfile(f"{args.data}/{n}", np.uint8).reshape(-1, 3073) for n in names])
        return torch.tensor(raw[:, 1:].reshape(-1, 3, 32, 32)).float() / 255, torch.tensor(raw[:, 0].astype(np.int64))

    x_train, y_train = load([f"data_batch_{i}.bin" for i in range(1, 6)])
    x_test, y_test = load(["test_batch.bin"])
    mean, std = x_train.mean((0, 2, 3), keepdim=True), x_train.std((0, 2, 3), keepdim=True)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    net = airbench_net()

    # whitening filters: eigenvectors of the 2x2-patch second moments of 5,000 images, and their negations
    patches = x_train[:5000].unfold(2, 2, 1).unfold(3, 2, 1).transpose(1, 3).reshape(-1, 12)
    values, vectors = torch.linalg.eigh(patches.T @ patches / len(patches))   # ascending
    values, vectors = values.flip(0), vectors.flip(1)
    filters = vectors.T.reshape(12, 3, 2, 2) / torch.sqrt(values + 5e-4).view(-1, 1, 1, 1)
    net[0].weight.data[:] = torch.cat((filters, -filters))

    # decoupled lr and weight decay, per 1024 examples, translated for PyTorch's SGD
    kilostep = 1024 * (1 + 1 / (1 - MOMENTUM))
    lr, wd = LR / kilostep, WD * BATCH / kilostep
    norm_biases = [p for k, p in net.named_parameters() if "norm" in k and p.requires_grad]
    others = [p for k, p in net.named_parameters() if "norm" not in k and p.requires_grad]
    opt = torch.optim.SGD([dict(params=norm_biases, lr=lr * BIAS_SCALER, weight_decay=wd / (lr * BIAS_SCALER)),
                           dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=MOMENTUM, nesterov=True)
    steps_per_epoch = len(x_train) // BATCH
    total = math.ceil(steps_per_epoch * EPOCHS)
    warmup = int(total * 0.23)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.2 + 0.8 * s / warmup if s < warmup else 1 - 0.93 * (s - warmup) / (total - warmup))
    lookahead_decay = 0.95 ** 5 * (torch.arange(total + 1) / total) ** 3
    average = {k: v.clone() for k, v in net.state_dict().items()}

    def lookahead(decay):   # weights and batch-norm statistics move to their average
        for a, v in zip(average.values(), net.state_dict().values()):
            if v.dtype == torch.float:
                a.lerp_(v, 1 - decay)
                v.copy_(a)

    # alternating flips: a random flip once, all images flipped every other epoch; +-2 px reflect-padded shifts
    flipped = torch.where((torch.rand(len(x_train)) < 0.5).view(-1, 1, 1, 1), x_train.flip(-1), x_train)
    padded = F.pad(flipped, (2,) * 4, "reflect")

    def random_crops():
        shift = torch.randint(-2, 3, (len(padded), 2))
        out = torch.empty(len(padded), 3, 32, 32)
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                m = (shift[:, 0] == dy) & (shift[:, 1] == dx)
                out[m] = padded[m, :, 2 + dy:34 + dy, 2 + dx:34 + dx]
        return out

    def accuracy(tta):   # tta 2: mirrors and the two diagonal 1 px shifts, weighted as airbench does
        net.eval()
        right = 0
        with torch.no_grad():
            for x, y in zip(x_test.split(2000), y_test.split(2000)):
                x = x.contiguous(memory_format=torch.channels_last)
                mirrored = lambda z: 0.5 * net(z) + 0.5 * net(z.flip(-1))
                if tta:
                    p = F.pad(x, (1,) * 4, "reflect")
                    logits = 0.5 * mirrored(x) + 0.25 * (mirrored(p[:, :, 0:32, 0:32]) + mirrored(p[:, :, 2:34, 2:34]))
                else:
                    logits = net(x)
                right += (logits.argmax(1) == y).sum().item()
        net.train()
        return right / len(y_test)

    loss_fn = nn.CrossEntropyLoss(label_smoothing=SMOOTHING, reduction="none")
    log = open(args.log, "w") if args.log else None
    if log:
        log.write("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n")
    step, start = 0, time.time()
    for epoch in range(math.ceil(EPOCHS)):
        t0 = time.time()
        net[0].bias.requires_grad = epoch < 3
        images = random_crops()
        if epoch % 2 == 1:
            images = images.flip(-1)
        order = torch.randperm(len(images))
        loss_sum, right, seen = 0.0, 0, 0
        for i in range(steps_per_epoch):
            idx = order[i * BATCH:(i + 1) * BATCH]
            out = net(images[idx].contiguous(memory_format=torch.channels_last))
            loss = loss_fn(out, y_train[idx]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            loss_sum += loss.item()
            right += (out.argmax(1) == y_train[idx]).sum().item()
            seen += BATCH
            if step % 5 == 0:
                lookahead(lookahead_decay[step].item())
            if step >= total:
                lookahead(1.0)
                break
        acc = accuracy(0)
        print(f"epoch {epoch + 1} train_loss {loss_sum / seen:.4f} train_acc {right / seen:.4f} test_acc {acc:.4f} "
              f"seconds {time.time() - t0:.0f}", flush=True)
        if log:
            log.write(f"{epoch + 1},{loss_sum / seen:.6f},{right / seen:.6f},,{acc:.6f},{time.time() - t0:.3f}\n")
    if log:
        log.close()
    print(f"RESULT test_accuracy={accuracy(2):.4f} test_accuracy_no_tta={acc:.4f} seconds={time.time() - start:.0f}")


if __name__ == "__main__":
    main()

"""The training steps tools/bench_opencl.c counts, in PyTorch fp32 with TF32
off, on the first CUDA (or ROCm) GPU, else the CPU: the Fashion-MNIST CNN
(batch 128) and the IMDb bidirectional GRU (batch 64, 400 tokens, lengths
200..400), Nesterov SGD.  tools/gpu_check.sh compares them with
nn_opencl.h's.  Prints one RESULT line."""
import time
import torch
import torch.nn as nn

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.manual_seed(3)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def best_step(model, step, reps=5):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.85, nesterov=True, weight_decay=5e-4)
    best = 1e30
    for r in range(2 + reps):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        step().backward()
        opt.step()
        sync()
        if r >= 2:
            best = min(best, time.perf_counter() - t0)
    return best


cnn = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10)).to(dev)
x = torch.randn(128, 1, 28, 28, device=dev)
y = torch.arange(128, device=dev) % 10
cnn_s = best_step(cnn, lambda: nn.functional.cross_entropy(cnn(x), y))


class Gru(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30000, 128)
        self.gru = nn.GRU(128, 128, batch_first=True, bidirectional=True)
        self.head = nn.Linear(512, 2)
        self.drop = nn.Dropout(0.4)

    def forward(self, ids, lens):
        h = self.drop(self.emb(ids))
        packed = nn.utils.rnn.pack_padded_sequence(h, lens.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = nn.utils.rnn.pad_packed_sequence(self.gru(packed)[0], batch_first=True, total_length=ids.shape[1])
        mask = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lens[:, None]).unsqueeze(2)
        mx = out.masked_fill(~mask, float("-inf")).amax(1)
        mean = out.sum(1) / lens[:, None]
        return self.head(self.drop(torch.cat([mx, mean], 1)))


gru = Gru().to(dev)
ids = torch.randint(2, 30000, (64, 400), device=dev)
lens = torch.randint(200, 401, (64,), device=dev)
lab = torch.arange(64, device=dev) % 2
gru_s = best_step(gru, lambda: nn.functional.cross_entropy(gru(ids, lens), lab))
print("RESULT torch_device=\"%s\" torch_cnn_step_ms=%.2f torch_images_per_s=%.1f torch_gru_step_ms=%.2f torch_tokens_per_s=%.0f"
      % (torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", cnn_s * 1e3, 128 / cnn_s, gru_s * 1e3,
         float(lens.sum()) / gru_s))

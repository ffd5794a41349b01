# PyTorch's side of tools/bench.c: the same training steps (CPU, float32),
# on the shapes bench.c passes, each the best of --reps after a warm-up step,
# on each thread count of --threads.  bench.c runs it (make bench) and reads
# the KEY_tTHREADS=ITEMS_PER_SECOND lines; other lines are notes.  Without
# PyTorch it says so and prints no numbers.
#   python3 tools/bench_torch.py --reps 3 --threads 1,2 --airbench 128,1024 --fmnist 128 \
#       --imdb VOCAB,EMBED,HIDDEN,STEPS --lengths L1,L2,...   (one length per review of the batch)
import argparse, os, sys, time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from airbench_pytorch import airbench_net
except ImportError as e:
    print(f"PyTorch is not importable ({e}): no PyTorch numbers")
    sys.exit(0)

ints = lambda s: [int(v) for v in s.split(",")]
ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--threads", type=ints, default=[1, 2])
ap.add_argument("--airbench", type=ints, default=[])
ap.add_argument("--fmnist", type=ints, default=[])
ap.add_argument("--imdb", type=ints, help="VOCAB,EMBED,HIDDEN,STEPS")
ap.add_argument("--lengths", type=ints, help="IMDb review lengths, one per review of the batch")
args = ap.parse_args()


def fmnist_cnn():   # examples/fashion_mnist.c's --model cnn
    block = lambda cin, cout: [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                               nn.MaxPool2d(2)]
    return nn.Sequential(*block(1, 32), *block(32, 64), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
                         nn.Dropout(0.3), nn.Linear(128, 10))


class Imdb(nn.Module):   # tools/bench_common.h's imdb_graph, over packed sequences
    def __init__(self, cell, vocab, embed, hidden):
        super().__init__()
        self.embed, self.rnn = nn.Embedding(vocab, embed), cell(embed, hidden, batch_first=True, bidirectional=True)
        self.drop, self.fc = nn.Dropout(0.4), nn.Linear(4 * hidden, 2)

    def forward(self, ids, lengths):
        steps = ids.shape[1]
        packed = pack_padded_sequence(self.drop(self.embed(ids)), lengths, batch_first=True, enforce_sorted=False)
        h = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=steps)[0]   # zeros past the end
        valid = (torch.arange(steps) < lengths[:, None])[:, :, None]
        pooled = torch.cat([h.masked_fill(~valid, float("-inf")).amax(1), h.sum(1) / lengths[:, None]], 1)
        return self.fc(self.drop(pooled))


def best_step(net, opt, loss_fn, inputs, target):   # seconds: best of --reps after a warm-up step
    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(net(*inputs), target).backward()
        opt.step()
    step()
    best = float("inf")
    for _ in range(args.reps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return best


def images(batch, shape):   # standard normal images, labels 0..9, as bench_common.h's random_image_batch
    return torch.randn(batch, *shape), torch.arange(batch) % 10


def sgd(net, momentum):   # bench.c's nn_sgd(m, 0.01, momentum, 5e-4, NN_NESTEROV)
    return torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.01, momentum=momentum,
                           weight_decay=5e-4, nesterov=True)


print(f"PyTorch {torch.__version__}, CPU, float32", flush=True)
for threads in args.threads:
    torch.set_num_threads(threads)
    for batch in args.airbench:   # bench.c: Nesterov SGD, label smoothing 0.2, summed loss
        torch.manual_seed(0)
        net = airbench_net()
        x, y = images(batch, (3, 32, 32))
        loss = nn.CrossEntropyLoss(label_smoothing=0.2, reduction="sum")
        secs = best_step(net, sgd(net, 0.85), loss, (x.contiguous(memory_format=torch.channels_last),), y)
        print(f"airbench_b{batch}_t{threads}={batch / secs:.2f}", flush=True)
    for batch in args.fmnist:
        torch.manual_seed(0)
        net = fmnist_cnn()
        x, y = images(batch, (1, 28, 28))
        print(f"fmnist_cnn_t{threads}={batch / best_step(net, sgd(net, 0.9), F.cross_entropy, (x,), y):.2f}", flush=True)
    if args.imdb:
        vocab, embed, hidden, steps = args.imdb
        lengths = torch.tensor(args.lengths)
        for name, cell in (("gru", nn.GRU), ("lstm", nn.LSTM)):   # Adam, as bench.c
            torch.manual_seed(0)
            net = Imdb(cell, vocab, embed, hidden)
            ids = torch.randint(2, vocab, (len(lengths), steps))
            opt = torch.optim.Adam(net.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
            secs = best_step(net, opt, F.cross_entropy, (ids, lengths), torch.arange(len(lengths)) % 2)
            print(f"{name}_t{threads}={lengths.sum().item() / secs:.2f}", flush=True)

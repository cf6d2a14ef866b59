#!/usr/bin/env python3
"""PyTorch's time to a test accuracy on MNIST with ResLab's `cnn` and recipe,
for BENCHMARKS.md's "time to accuracy".

    python3 scripts/peers/torch_mnist_time_to_accuracy.py --data ../shared/data/mnist \
        [--target 0.98] [--threads 2] [--eval-every 50] [--seed 1]

The net is ResLab's `cnn` (225,034 parameters): conv 3x3 32 (valid), ReLU,
max-pool 2, conv 3x3 64 (valid), ReLU, max-pool 2, dense 128, ReLU, dense 10.
The recipe is ResLab's default for it: Adam (lr 1e-3, betas 0.9/0.999, eps
1e-8), batch 64, no weight decay, no augmentation, pixels scaled to [0, 1]
minus the per-pixel training mean, the training set reshuffled each epoch.
PyTorch's default initialisation is kept (ResLab uses He initialisation), so
the curves agree in shape, not step for step.

Training time is counted from the first step; the test evaluations every
`--eval-every` steps are timed apart and left out, and the time to load the
data is printed separately. Needs torch (the peers' venv: /tmp/peers/venv).
"""

import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn


def idx(path):
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def net():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--target", type=float, default=0.98)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--max-steps", type=int, default=3000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    t0 = time.perf_counter()
    xtr = idx(os.path.join(a.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    ytr = idx(os.path.join(a.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xte = idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    yte = idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    mean = xtr.mean(axis=0, keepdims=True)
    xtr = torch.from_numpy(xtr - mean).unsqueeze(1)
    xte = torch.from_numpy(xte - mean).unsqueeze(1)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    load = time.perf_counter() - t0

    model = net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {a.threads} threads, {params} parameters, data loaded in {load:.2f} s")

    def test_accuracy():
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000))
        model.train()
        return correct / len(xte)

    step, train_time, order, pos = 0, 0.0, rng.permutation(len(xtr)), 0
    while step < a.max_steps:
        t = time.perf_counter()
        if pos + 64 > len(order):
            order, pos = rng.permutation(len(xtr)), 0
        b = torch.from_numpy(order[pos:pos + 64])
        pos += 64
        opt.zero_grad()
        loss = loss_fn(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
        loss.item()
        train_time += time.perf_counter() - t
        step += 1
        if step % a.eval_every == 0:
            acc = test_accuracy()
            print(f"step {step}: test accuracy {100 * acc:.2f} %, training time {train_time:.2f} s")
            if acc >= a.target:
                print(f"reached {100 * a.target:.0f} % at step {step}: {train_time:.2f} s of training (+ {load:.2f} s loading)")
                return
    print(f"did not reach {100 * a.target:.0f} % in {a.max_steps} steps")


if __name__ == "__main__":
    main()

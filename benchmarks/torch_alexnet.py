#!/usr/bin/env python3
"""The baseline for benchmarks/step.ts: the same AlexNet in PyTorch (227 input,
groups 2 in conv2/4/5, cross-map LRN within each group with PyTorch's alpha = 5 x the
paper's, 60,965,224 parameters). Times a training step (forward, loss, backward, SGD) and
inference at a batch size, each layer forward and backward, and peak resident memory, on the
CPU or (--device cuda) on a GPU, where it uses cuDNN with its autotuner on and the clock waits
for the GPU.

    python3 benchmarks/torch_alexnet.py [--batch 128] [--warmups 1] [--repeats 3] [--threads 2] [--device cpu|cuda]
        [--layers [--all-layers]] [--json FILE]
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn


class GroupedLRN(nn.Module):
    """LocalResponseNorm whose window never crosses a group boundary (the paper's columns)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups
        # the paper's alpha = 1e-4 applies to the sum; PyTorch divides alpha by the size
        self.lrn = nn.LocalResponseNorm(size=5, alpha=5e-4, beta=0.75, k=2.0)

    def forward(self, x):
        return torch.cat([self.lrn(part) for part in x.chunk(self.groups, dim=1)], dim=1)


def alexnet():
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), GroupedLRN(2), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), GroupedLRN(2), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(4096, 1000),
    )


# our layer names (lib/nn/model.ts), one per module of alexnet()
ALL_NAMES = ['conv1', 'relu1', 'lrn1', 'pool1', 'conv2', 'relu2', 'lrn2', 'pool2', 'conv3', 'relu3', 'conv4', 'relu4',
             'conv5', 'relu5', 'pool5', 'flatten', 'fc6', 'relu6', 'drop6', 'fc7', 'relu7', 'drop7', 'fc8']
NAMES = {i: n for i, n in enumerate(ALL_NAMES) if not n.startswith(('relu', 'flatten', 'drop'))}


SYNC = lambda: None  # noqa: E731  (torch.cuda.synchronize on a GPU)


WARMUPS = 1


def median_ms(f, repeats):
    for _ in range(WARMUPS):
        f()
    SYNC()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        SYNC()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--warmups', type=int, default=1, help='untimed runs before the timed ones')
    ap.add_argument('--layers', action='store_true', help='also time each layer forward and backward')
    ap.add_argument('--all-layers', action='store_true',
                    help='with --layers: every module (activations, flatten, dropout too), and each one\'s inference forward')
    ap.add_argument('--device', default='cpu', help='cpu or cuda')
    ap.add_argument('--precision', choices=['fp32', 'tf32'], default='fp32',
                    help='fp32 (the default) or tf32: let cuDNN and cuBLAS use TF32 tensor cores')
    ap.add_argument('--json')
    args = ap.parse_args()
    global SYNC, WARMUPS
    WARMUPS = args.warmups
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    dev = torch.device(args.device)
    if dev.type == 'cuda':
        if not torch.cuda.is_available():
            raise SystemExit('torch_alexnet.py: --device cuda, but this PyTorch sees no GPU')
        SYNC = torch.cuda.synchronize
        torch.backends.cudnn.benchmark = True
        # FP32 as in the paper: no TF32 tensor-core shortcuts in the baseline either, unless
        # --precision tf32 asks for the baseline of our tf32 kernels
        torch.backends.cuda.matmul.allow_tf32 = args.precision == 'tf32'
        torch.backends.cudnn.allow_tf32 = args.precision == 'tf32'
    model = alexnet().to(dev)
    params = sum(p.numel() for p in model.parameters())
    assert params == 60_965_224, params
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=0.0005)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, 3, 227, 227, device=dev) * 50
    y = torch.arange(args.batch, device=dev) % 1000

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    model.train()
    train_ms = median_ms(train_step, args.repeats)
    model.eval()
    with torch.no_grad():
        infer_ms = median_ms(lambda: model(x), args.repeats)

    layers = []
    if args.layers:
        h = x
        model.train()
        for i, m in enumerate(model):
            inp = h.detach().requires_grad_(True)
            out = m(inp)
            if i in NAMES or args.all_layers:
                fwd = median_ms(lambda: m(inp), args.repeats)
                g = torch.randn_like(out)
                bwd = median_ms(lambda: torch.autograd.grad(m(inp), [inp] + list(m.parameters()), g), args.repeats) - fwd
                row = {'layer': ALL_NAMES[i], 'forward_ms': fwd, 'backward_ms': bwd}
                if args.all_layers:
                    m.eval()
                    with torch.no_grad():
                        row['infer_ms'] = median_ms(lambda: m(inp), args.repeats)
                    m.train()
                layers.append(row)
            h = out.detach()

    result = {
        'system': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(), 'batch': args.batch,
        'warmups': args.warmups, 'repeats': args.repeats, 'parameters': params, 'mkldnn': torch.backends.mkldnn.is_available(),
        'device': args.device, 'gpu': torch.cuda.get_device_name(dev) if dev.type == 'cuda' else None,
        'cudnn': torch.backends.cudnn.version() if dev.type == 'cuda' else None,
        'train_ms': train_ms, 'train_images_per_s': args.batch * 1000 / train_ms,
        'infer_ms': infer_ms, 'infer_images_per_s': args.batch * 1000 / infer_ms,
        'peak_rss_mib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'layers': layers,
        'peak_gpu_mib': torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == 'cuda' else None,
    }
    where = (f"{result['gpu']}, cuDNN {result['cudnn']}" if dev.type == 'cuda'
             else f"cpu, {result['threads']} threads, oneDNN {result['mkldnn']}")
    print(f"pytorch {torch.__version__} ({where}, batch {args.batch}): "
          f"train {train_ms:.0f} ms/step = {result['train_images_per_s']:.1f} img/s, "
          f"inference {infer_ms:.0f} ms = {result['infer_images_per_s']:.1f} img/s, peak RSS {result['peak_rss_mib']:.0f} MiB")
    for l in layers:
        print(f"  {l['layer']:<6} forward {l['forward_ms']:8.2f} ms  backward {l['backward_ms']:8.2f} ms")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()

"""Shared pieces: the data, the seeded model, the interleaved timer, machine facts."""
import copy, gc, gzip, os, platform, statistics, struct, sys, time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
FASHION_DIR = Path('/usr/share/datasets/fashion-mnist')  # apt-get install -y dataset-fashion-mnist
BS, LR, SEED = 64, 0.1, 42


# ----------------------------------------------------------------------------------------------------------- data
def _read_idx(path):
    "Minimal IDX reader (used only when trainkit.datasets is not importable)."
    raw = gzip.open(path).read() if str(path).endswith('.gz') else Path(path).read_bytes()
    if raw[:2] != b'\0\0' or raw[2] != 8: raise ValueError(f'{path}: not an unsigned-byte IDX file')
    nd = raw[3]; dims = struct.unpack(f'>{nd}I', raw[4:4 + 4 * nd])
    return torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)


def _fashion():
    "Fashion-MNIST from the Debian package, through trainkit.datasets when it exists. -> (x, y, xt, yt, how)"
    try:
        from trainkit.datasets import load_fashion_mnist
        x, y, xt, yt = load_fashion_mnist(FASHION_DIR, download=False)
        how = 'trainkit.datasets.load_fashion_mnist'
    except ImportError:
        f = lambda n: _read_idx(FASHION_DIR / n)
        x, y = f('train-images-idx3-ubyte.gz'), f('train-labels-idx1-ubyte.gz')
        xt, yt = f('t10k-images-idx3-ubyte.gz'), f('t10k-labels-idx1-ubyte.gz')
        x, xt = x.reshape(len(x), -1).float() / 255, xt.reshape(len(xt), -1).float() / 255
        y, yt, how = y.long(), yt.long(), 'bench.common._read_idx'
    return x, y, xt, yt, how


def _mnist_sample():
    "The bundled 5k MNIST sample tiled to 60k (the fallback when Fashion-MNIST is not installed)."
    try:
        from trainkit.datasets import mnist_sample
        x, y, xt, yt = mnist_sample()
        how = 'trainkit.datasets.mnist_sample'
    except ImportError:
        d = ROOT / 'trainkit' / 'assets' / 'mnist'
        x, y = _read_idx(d / 'train5k-images-idx3-ubyte.gz'), _read_idx(d / 'train5k-labels-idx1-ubyte.gz')
        xt, yt = _read_idx(d / 't10k-images-idx3-ubyte.gz'), _read_idx(d / 't10k-labels-idx1-ubyte.gz')
        x, xt = x.reshape(len(x), -1).float() / 255, xt.reshape(len(xt), -1).float() / 255
        p = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED))
        x, y, yt, how = x[p], y[p].long(), yt.long(), 'bench.common._read_idx'
    reps = -(-60000 // len(x))
    return x.repeat(reps, 1)[:60000], y.repeat(reps)[:60000], xt, yt, how


def load_data(quick=False, n_quick=2000):
    "Train/test tensors (float32 (N,784) normalized, int64 labels) and a description of where they came from."
    if (FASHION_DIR / 'train-images-idx3-ubyte.gz').exists():
        x, y, xt, yt, how = _fashion(); name = 'Fashion-MNIST (60k train, 10k test)'
    else:
        x, y, xt, yt, how = _mnist_sample()
        name = 'bundled MNIST sample (5k) tiled to 60k; 10k test (Fashion-MNIST not installed)'
    mean, std = x.mean(), x.std()
    x, xt = ((x - mean) / std).contiguous(), ((xt - mean) / std).contiguous()
    if quick:
        x, y, xt, yt = x[:n_quick].clone(), y[:n_quick].clone(), xt[:n_quick // 4].clone(), yt[:n_quick // 4].clone()
        name = f'{name.split(" (")[0]}, first {len(x)} train / {len(xt)} test samples (--quick)'
    return dict(x=x, y=y, xt=xt, yt=yt, name=name, loader=how)


# ---------------------------------------------------------------------------------------------------------- model
def mlp():
    "The 784-50-10 MLP every contender trains (torch's nn.Sequential)."
    return nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))


def master_model():
    "One seeded init; every contender trains a deep copy of it, so all start from the same numbers."
    torch.manual_seed(SEED)
    return mlp()


def fresh(master): return copy.deepcopy(master)


# --------------------------------------------------------------------------------------------------------- timing
class Sink:
    "Where progress bars and prints go during a timed run: os.devnull, so their formatting/writing cost is counted."
    def __enter__(self):
        self.f = open(os.devnull, 'w'); self.old = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.f
        return self.f
    def __exit__(self, *a):
        sys.stdout, sys.stderr = self.old; self.f.close()


def interleave(cases, repeats, warmup=1, log=None):
    """Time `cases` {name: make} where `make()` sets up (untimed) and returns `run`, the timed callable.
    Rounds go A B C, B C A, C A B, ... (interleaved, rotated), after `warmup` untimed rounds. -> {name: [seconds]}.
    A `run` may return a float: then that is its time (for runs that time only a part of themselves)."""
    names = list(cases)
    times = {k: [] for k in names}
    for _ in range(warmup):
        for k in names: cases[k]()()
    for r in range(repeats):
        for k in names[r % len(names):] + names[:r % len(names)]:
            run = cases[k]()
            gc.collect()
            t0 = time.perf_counter()
            out = run()
            t = time.perf_counter() - t0
            times[k].append(out if isinstance(out, float) else t)
        if log: log(f'  round {r + 1}/{repeats} done')
    return times


def med(ts): return statistics.median(ts)


# -------------------------------------------------------------------------------------------------------- machine
def machine():
    "CPU model, cores, torch/python versions: what a reader needs to judge the numbers."
    cpu = 'unknown'
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): cpu = line.split(':', 1)[1].strip(); break
    except OSError: pass
    return dict(cpu=cpu, cores=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
                platform=platform.platform(), threads=torch.get_num_threads(), loadavg_start=loadavg())


def loadavg():
    "The 1-minute load average (how busy the machine was: > cores means other work competed with the benchmark)."
    try: return round(os.getloadavg()[0], 2)
    except OSError: return None

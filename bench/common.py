"""What every contender shares: the data, the seeded model, the one timer, and what the machine was."""
import contextlib, copy, gc, os, platform, statistics, time
from pathlib import Path

import torch
from torch import nn

from trainkit.datasets import load_fashion_mnist, mnist_sample

ROOT = Path(__file__).resolve().parents[1]
FASHION = Path('/usr/share/datasets/fashion-mnist')  # apt-get install -y dataset-fashion-mnist
BS, LR, SEED = 64, 0.1, 42

def load_data(quick=False, n_quick=2000):
    "Normalized float32 (N, 784) pixels and int64 labels, train and test, and where they came from."
    if (FASHION/'train-images-idx3-ubyte.gz').exists():
        x, y, xt, yt = load_fashion_mnist(FASHION, download=False); name = 'Fashion-MNIST (60k train, 10k test)'
    else:
        x, y, xt, yt = mnist_sample(); k = -(-60000 // len(x))
        x, y = x.repeat(k, 1)[:60000], y.repeat(k)[:60000]
        name = 'bundled MNIST sample (5k) tiled to 60k; 10k test (Fashion-MNIST not installed)'
    mean, std = x.mean(), x.std()
    x, xt = ((x - mean) / std).contiguous(), ((xt - mean) / std).contiguous()
    if quick:
        x, y, xt, yt = x[:n_quick].clone(), y[:n_quick].clone(), xt[:n_quick // 4].clone(), yt[:n_quick // 4].clone()
        name = f'{name.split(" (")[0]}, first {len(x)} train / {len(xt)} test samples (--quick)'
    return dict(x=x, y=y, xt=xt, yt=yt, name=name)

def master_model():
    "One seeded 784-50-10 MLP (torch's nn.Sequential); every contender trains a deep copy of it."
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))

def fresh(master): return copy.deepcopy(master)

@contextlib.contextmanager
def Sink():
    "Send prints and progress bars to os.devnull during a timed run (their formatting and writing still count)."
    with open(os.devnull, 'w') as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f): yield

def case(master, fn, model=fresh):
    "A contender for `interleave`: its setup copies `master` (untimed); its run calls `fn(copy)`, printing to devnull."
    def make():
        m = model(master)
        def run():
            with Sink(): fn(m)
        return run
    return make

def interleave(cases, rounds, warmup=1, log=print, clock=time.process_time):
    """Time `cases` {name: make}: `make()` sets up, untimed, and returns the `run` to time. Rounds go A B C, B C A,
    C A B, ... (rotated, never A A A B B B) after `warmup` untimed rounds. -> {name: [seconds per round]}
    The clock is this process's CPU time: on one thread it is what the work costs, whatever else the machine runs
    (pass `time.perf_counter` where a contender uses other threads or processes)."""
    names, times = list(cases), {k: [] for k in cases}
    for _ in range(warmup):
        for k in names: cases[k]()()
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            run = cases[k](); gc.collect()
            t0 = clock(); run(); times[k].append(clock() - t0)
        log(f'  round {r + 1}/{rounds} done')
    return times

def med(ts): return statistics.median(ts)

def loadavg():
    "The 1-minute load average (above the core count, other work competed with the benchmark)."
    try: return round(os.getloadavg()[0], 2)
    except OSError: return None

def machine():
    "CPU model, cores, torch and Python versions: what a reader needs to judge the numbers."
    info = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').exists() else ''
    cpu = next((l.split(':', 1)[1].strip() for l in info.splitlines() if l.startswith('model name')), platform.processor())
    return dict(cpu=cpu, cores=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
                platform=platform.platform(), threads=torch.get_num_threads(), loadavg_start=loadavg())

"""`python -m bench.ddp [--quick] [--gpu] [--json PATH]`: distributed training and mixed precision, timed.

Figures (each run in fresh processes; wall-clock epoch times, the first epoch of each run untimed; medians over
--rounds rounds, the configurations interleaved A B C, B C A, ...; ratios against a baseline of the same round):
  procs   one epoch of `train` (train + test pass, 784-50-10 MLP, 64 samples a step) as 1 process x 1 thread,
          1 process x 2 threads and 2 processes x 1 thread (torchrun, DDP, 32 samples a rank): seconds, samples/s
  comm    in the same 2 processes: an epoch of a plain loop whose gradients DDP averages, vs the hand-written
          `average_gradients` (one all_reduce per parameter after backward), vs no averaging at all (each rank
          alone: what the exchange costs); the weights of DDP and the hand average must agree to 1e-5
  amp     one process, 1 thread (its CPU time): an epoch in float32 vs bfloat16 autocast (`train(precision=)`),
          for the 784-50-10 MLP and for a 784-1024-1024-10 one
  --gpu   (bench/gpu.sh) the same amp figures on cuda:0 with '16-mixed' too, and DDP over every GPU vs one GPU
Speed is never asserted. A failed check (DDP and the hand average disagree, a run fails) makes the exit status 1.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch, torch.nn as nn, torch.nn.functional as F
import torch.distributed as dist

from .common import ROOT, load_data, loadavg, machine

SEED, LR, GLOBAL_BS = 42, 0.1, 64
CHECKS = []

def mlp(width=50):
    "The seeded 784-width-10 MLP (784-width-width-10 for a width over 50)."
    torch.manual_seed(SEED)
    hidden = [nn.Linear(width, width), nn.ReLU()] if width > 50 else []
    return nn.Sequential(nn.Linear(784, width), nn.ReLU(), *hidden, nn.Linear(width, 10))

def data(quick):
    "The bench's data (Fashion-MNIST if installed, else the MNIST sample tiled), smaller with --quick."
    return load_data(quick, n_quick=4000)

class EpochTimer:
    "A callback that records each epoch's time (train and test pass), after a barrier when distributed."
    def __init__(self, clock=time.perf_counter): self.times, self.clock = [], clock
    def before_epoch(self, s):
        if dist.is_initialized(): dist.barrier()
        self.t0 = self.clock()
    def after_epoch(self, s): self.times.append(self.clock() - self.t0)

def train_epochs(d, epochs, batch_size, precision='32', width=50, device=None, clock=time.perf_counter):
    "`train` on the bench data; the epoch times after the first (wall time, or `clock`)."
    from trainkit.data import DataLoader, TensorDataset
    from trainkit.train import train
    x, y, xt, yt = (d[k].to(device) if device else d[k] for k in ('x', 'y', 'xt', 'yt'))
    model = mlp(width)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    dl = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
    tdl = DataLoader(TensorDataset(xt, yt), batch_size=1000)
    timer = EpochTimer(clock)
    train(model, dl, tdl, F.cross_entropy, opt, epochs, device=device, progress=False, verbose=False,
          precision=precision, callbacks=[timer])
    return timer.times[1:]

def comm_rounds(d, rounds):
    "In each of 2 ranks: epochs of a plain loop with DDP, the hand average, no averaging; rank 0's times."
    from torch.nn.parallel import DistributedDataParallel as DDP
    from trainkit.distributed import DistributedSampler, average_gradients
    x, y = d['x'], d['y']
    order = DistributedSampler(x, seed=SEED).indices()
    def epoch(model, average):
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        dist.barrier(); t0 = time.perf_counter()
        for idx in order.split(GLOBAL_BS // 2):
            opt.zero_grad(); F.cross_entropy(model(x[idx]), y[idx]).backward()
            if average: average(model)
            opt.step()
        dist.barrier()
        return time.perf_counter() - t0
    modes = {'ddp': lambda: (DDP(mlp()), None), 'hand': lambda: (mlp(), average_gradients),
             'alone': lambda: (mlp(), None)}
    times, models = {k: [] for k in modes}, {}
    names = list(modes)
    for r in range(rounds + 1):                                # round 0 warms up
        for k in names[r % 3:] + names[:r % 3]:
            models[k], average = modes[k]()
            t = epoch(models[k], average)
            if r: times[k].append(t)
    ddp, hand = models['ddp'].module, models['hand']
    gap = max((p - q).abs().max().item() for p, q in zip(ddp.parameters(), hand.parameters()))
    return times, gap

def worker(a):
    "What each process of a run does: its figure's work; rank 0 writes the result as JSON to --out."
    from trainkit.distributed import init_distributed
    rank = init_distributed()[0] if 'RANK' in os.environ else 0
    torch.set_num_threads(a.threads)
    d = data(a.quick)
    if a.worker == 'train': res = dict(times=train_epochs(d, a.epochs, a.batch_size))
    elif a.worker == 'comm':
        times, gap = comm_rounds(d, a.rounds); res = dict(times=times, gap=gap)
    elif a.worker == 'gpu-ddp':
        res = dict(times=train_epochs(d, a.epochs, a.batch_size, device=torch.device('cuda', rank)))
    res['samples'] = len(d['x'])
    if rank == 0: Path(a.out).write_text(json.dumps(res))

def run(args, nproc=1, threads=1, timeout=1200):
    "Run this module as a worker in `nproc` fresh processes (torchrun when more than 1); its JSON result."
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)/'out.json'
        launcher = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
                    f'--nproc-per-node={nproc}', '-m'] if nproc > 1 else [sys.executable, '-m']
        cmd = [*launcher, 'bench.ddp', '--threads', str(threads), '--out', str(out), *map(str, args)]
        env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'PYTHONPATH': str(ROOT)}
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        if r.returncode or not out.exists():
            CHECKS.append(f"{' '.join(cmd[-8:])} failed ({r.returncode}): {r.stderr[-1500:]}")
            return None
        return json.loads(out.read_text())

def med(ts): return statistics.median(ts)

def interleaved(configs, rounds):
    "{name: (args, nproc, threads)} run round by round in rotated order -> {name: [median epoch s per round]}"
    names, times = list(configs), {k: [] for k in configs}
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            res = run(*configs[k])
            if res: times[k].append(med(res['times'])); times['samples'] = res['samples']
        print(f'  round {r + 1}/{rounds} done', flush=True)
    return times

def table(title, rows, base):
    "Print rows {name: seconds} as seconds, samples/s and the ratio to `base`."
    print(f"\n{title}")
    for name, (t, n) in rows.items():
        print(f"  {name:34} {t:7.3f} s  {n / t:9.0f} samples/s  {t / rows[base][0]:5.2f}x")

def main(argv=None):
    p = argparse.ArgumentParser(prog='python -m bench.ddp', description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='a smoke run: 4k samples, 1 round (< 2 min)')
    p.add_argument('--gpu', action='store_true', help='the GPU figures (bench/gpu.sh)')
    p.add_argument('--rounds', type=int, help='rounds of each figure (default 3; 1 with --quick)')
    p.add_argument('--json', help='also save the results to this file')
    p.add_argument('--only', default='procs,comm,amp', help='figures to run, e.g. --only comm,amp')
    for k, v in dict(worker=None, out=None, threads=1, epochs=3, batch_size=GLOBAL_BS).items():
        p.add_argument(f'--{k.replace("_", "-")}', default=v, type=type(v) if v is not None else str,
                       help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.rounds = a.rounds or (1 if a.quick else 3)
    if a.worker: return worker(a)
    q, ep, res = ['--quick'] if a.quick else [], ['--epochs', 2 if a.quick else 3], {}
    print(f"bench.ddp on {machine()['cpu']}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"load {loadavg()}; data: {data(a.quick)['name']}", flush=True)
    if a.gpu: return gpu(a, q, ep)
    only = a.only.split(',')
    if 'procs' in only: res['procs'] = procs(a, q, ep)
    if 'comm' in only: res['comm'] = comm(a, q)
    if 'amp' in only: res['amp'] = amp_rounds(a, q, ep)
    finish(a, res)

def procs(a, q, ep):
    "1 process x 1 thread, 1 x 2 and 2 processes x 1 thread: an epoch of train, each in fresh processes."
    configs = {'1 process x 1 thread': (['--worker', 'train', *q, *ep], 1, 1),
               '1 process x 2 threads': (['--worker', 'train', *q, *ep], 1, 2),
               '2 processes x 1 thread (DDP)': (['--worker', 'train', '--batch-size', GLOBAL_BS // 2, *q, *ep],
                                               2, 1)}
    t = interleaved(configs, a.rounds); n = t.pop('samples', 1)
    res = {k: dict(epoch_s=med(v), samples_per_s=n / med(v), rounds=v) for k, v in t.items() if v}
    if len(res) == 3:
        table('train, one epoch (train + test pass), 64 samples a step:',
              {k: (v['epoch_s'], n) for k, v in res.items()}, '1 process x 2 threads')
    return res

def comm(a, q):
    "In 2 processes: an epoch of a plain loop with DDP, with the hand-written average, with no averaging."
    c = run(['--worker', 'comm', *q, '--rounds', a.rounds], 2, 1)
    if c is None: return None
    if c['gap'] > 1e-5: CHECKS.append(f"DDP and the hand-written average differ by {c['gap']:.1e}")
    m, n = {k: med(v) for k, v in c['times'].items()}, c['samples']
    table('2 processes, one epoch of a plain loop (32 samples a rank a step):',
          {'DDP': (m['ddp'], n), 'average_gradients (by hand)': (m['hand'], n),
           'no averaging (each rank alone)': (m['alone'], n)}, 'average_gradients (by hand)')
    print(f"  DDP vs the hand average: weights agree to {c['gap']:.1e}")
    return c

def amp_rounds(a, q, ep, device=None, precisions=('32', 'bf16')):
    "Epoch times per precision (in this process; on a CPU one thread, CPU time), interleaved; two widths."
    torch.set_num_threads(1)
    clock = time.perf_counter if device else time.process_time    # one thread: CPU time is what it costs
    d, out = data(a.quick), {}
    wide = {k: v[:8192] if k in ('x', 'y') else v[:2048] for k, v in d.items() if k != 'name'}
    for width, bs, dd in ((50, GLOBAL_BS, d), (1024, 256, wide)):
        times = {p: [] for p in precisions}
        for r in range(a.rounds):
            for prec in precisions[r % len(precisions):] + precisions[:r % len(precisions)]:
                times[prec].append(med(train_epochs(dd, ep[1], bs, prec, width, device, clock)))
        out[f'784-{width}-10' if width == 50 else f'784-{width}-{width}-10'] = times
        base = med(times['32'])
        print(f"\nprecision, one epoch of the 784-{width}{f'-{width}' if width > 50 else ''}-10 MLP, "
              f"{len(dd['x'])} samples in batches of {bs}{' on ' + str(device) if device else ', 1 thread'}:")
        for prec, ts in times.items():
            print(f"  {prec:10} {med(ts):7.3f} s  {med(ts) / base:5.2f}x")
    return out

def gpu(a, q, ep):
    "GPU figures: precision on cuda:0, and DDP over every GPU against one."
    if not torch.cuda.is_available(): sys.exit("bench.ddp --gpu: no CUDA GPU here (torch.cuda.is_available() is False)")
    res = dict(gpus=[torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])
    res['amp'] = amp_rounds(a, q, ep, torch.device('cuda', 0), ('32', 'bf16', '16-mixed'))
    n = torch.cuda.device_count()
    if n > 1:
        one = run(['--worker', 'gpu-ddp', *q, *ep], 1, 1)
        many = run(['--worker', 'gpu-ddp', '--batch-size', max(1, GLOBAL_BS // n), *q, *ep], n, 1)
        if one and many:
            res['ddp'] = dict(one=one, many=many)
            table(f'train on GPUs, one epoch, {GLOBAL_BS} samples a step:',
                  {'1 GPU': (med(one['times']), one['samples']),
                   f'{n} GPUs (DDP)': (med(many['times']), many['samples'])}, '1 GPU')
    finish(a, res)

def finish(a, res):
    "Save the JSON if asked; report the checks; exit 1 if one failed."
    res.update(machine=machine(), loadavg_end=loadavg(), checks=CHECKS)
    if a.json: Path(a.json).write_text(json.dumps(res, indent=1)); print(f"\nsaved {a.json}")
    for c in CHECKS: print(f"CHECK FAILED: {c}")
    sys.exit(1 if CHECKS else 0)

if __name__ == '__main__': main()

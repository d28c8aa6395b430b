"""Reliability checks that need real processes: a checkpoint survives SIGKILL, and resuming is exact.

1. Fault injection: a child process saves checkpoints in a loop (each one's weights all equal to its step number);
   the parent kills it with SIGKILL at a random moment, many times. Every time, the file on disk must load with
   `load_checkpoint` and be one that was fully written (weights consistent with the step it records).
2. Exact resume across processes: train N epochs in one process; in another, train k epochs and save; in a third,
   load and train N-k more. The final weights must be bit-identical.

    python tools/check_reliability.py [--trials 60]
"""
import argparse, json, os, random, signal, subprocess, sys, tempfile, textwrap, time
from pathlib import Path

import torch

from trainkit.train import save_checkpoint, load_checkpoint


def _model():
    return torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))


def _saver(path):
    "Child: save checkpoints forever; checkpoint i has every weight equal to i."
    model, i = _model(), 0
    while True:
        with torch.no_grad():
            for p in model.parameters(): p.fill_(i)
        save_checkpoint(path, model, step=i)
        i += 1


def fault_injection(trials, seed=0):
    "Kill a saving process `trials` times; return how many kills landed after at least one complete save."
    rng, survived = random.Random(seed), 0
    with tempfile.TemporaryDirectory() as d:
        path = Path(d)/'ckpt.pt'
        for t in range(trials):
            pid = os.fork()
            if pid == 0:  # child
                try: _saver(path)
                finally: os._exit(1)
            time.sleep(rng.uniform(0.02, 0.25))
            os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
            if not path.exists(): continue  # killed before its first save finished: nothing to lose
            model = _model()
            ck = load_checkpoint(path, model)  # raises if the file is broken
            step = ck['step']
            bad = [n for n, p in model.named_parameters() if not bool((p == step).all())]
            if bad: raise AssertionError(f'trial {t}: checkpoint says step {step} but {bad} hold other values')
            survived += 1
        leftovers = sorted(p.name for p in Path(d).iterdir() if p.name != 'ckpt.pt')
    return survived, leftovers


RESUME_SCRIPT = textwrap.dedent('''
    import sys, torch, torch.nn.functional as F
    from trainkit.datasets import mnist_sample, normalize
    from trainkit.data import DataLoader, TensorDataset
    from trainkit.module import Linear, ReLU
    from trainkit.sequential import Sequential
    from trainkit.optimizer import SGD
    from trainkit.train import train, set_seed, save_checkpoint, load_checkpoint
    epochs, start, ckpt, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    set_seed(0)
    x, y, xt, yt = mnist_sample()
    x, y, xt, yt = normalize(x[:1000]), y[:1000], normalize(xt[:500]), yt[:500]
    train_dl = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    test_dl = DataLoader(TensorDataset(xt, yt), batch_size=250)
    model = Sequential(Linear(784, 50), ReLU(), Linear(50, 10))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    resume = ckpt if start else None
    train(model, train_dl, test_dl, F.cross_entropy, opt, epochs, progress=False, resume=resume,
          save_path=ckpt if not start else None)
    torch.save(model.state_dict(), out)
''')


def exact_resume(n=4, k=2):
    "Train n epochs straight vs k, save, load in a new process, n-k more: are the weights bit-identical?"
    with tempfile.TemporaryDirectory() as d:
        d = Path(d); script = d/'run.py'; script.write_text(RESUME_SCRIPT)
        run = lambda *a: subprocess.run([sys.executable, str(script), *map(str, a)], check=True, cwd=d)
        run(n, 0, d/'unused.pt', d/'straight.pt')
        run(k, 0, d/'ck.pt', d/'first.pt')
        run(n, 1, d/'ck.pt', d/'resumed.pt')
        a, b = torch.load(d/'straight.pt'), torch.load(d/'resumed.pt')
        c = torch.load(d/'first.pt')
    diff = [key for key in a if not torch.equal(a[key], b[key])]
    moved = any(not torch.equal(a[key], c[key]) for key in a)
    return diff, moved


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--trials', type=int, default=60)
    a = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    survived, leftovers = fault_injection(a.trials)
    print(f'fault injection: {a.trials} SIGKILLs during saves, {survived} hit an existing checkpoint and every one '
          f'loaded intact ({time.perf_counter()-t0:.1f} s); temp files left: {len(leftovers)}')
    # each save removes what earlier killed writers left, so at most the very last kill's temp file remains
    if len(leftovers) > 1: sys.exit(f'killed writers\' temporary files pile up: {leftovers}')
    if survived < a.trials // 2: sys.exit('too few kills landed after a complete save: the check proved little')
    diff, moved = exact_resume()
    if diff: sys.exit(f'exact resume FAILED: these weights differ after resuming: {diff}')
    if not moved: sys.exit('exact resume proved nothing: the second half did not change the weights')
    print('exact resume: 4 epochs straight == 2 epochs + save + load in a new process + 2 epochs (bit-identical)')

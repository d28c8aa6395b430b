"""CPU time-to-accuracy on Fashion-MNIST: trainkit's CNN record, against Lightning and a learnpytorch-style engine.

    python -m bench.cnn_record                  # the record: every target, 3 seeds, all contenders (~30 min)
    python -m bench.cnn_record --quick          # smoke run: 2,048 images, 1 epoch, 1 seed (< 2 min)
    python -m bench.cnn_record --targets 0.90 --contenders trainkit --seeds 0,1,2

Each target of `trainkit.conv.FASHION_RECIPES` (a test accuracy, and the model, epochs, batch size and schedule
that reach it) is trained from scratch on the full Fashion-MNIST (60,000 training images, the official 10,000 test
images) by each contender, once per seed, each run in a fresh process. A run's time starts before
`load_fashion_mnist()` and ends with the last test accuracy: data loading, training and a test pass after every
epoch are all inside; starting Python and importing torch (and Lightning) are not. The contenders train the same
model (`trainkit.conv.fashion_cnn`), with the same loss, optimizer and schedule (trainkit's `SGD` and
`OneCycleLR`, which torch and Lightning accept), batch size and seed:

  trainkit      trainkit.train.train, trainkit DataLoader(shuffle=True), the scheduler stepped every batch
  learnpytorch  the train_step/test_step/train engine of learnpytorch.io (going_modular/engine.py), as in
                bench/baselines.py: torch DataLoader(shuffle=True), .item() every batch; plus scheduler.step()
  lightning     lightning.Trainer(max_epochs, accelerator='cpu', devices=1) with logging, checkpoints, the
                progress bar and the model summary off; skipped, with the reason, when lightning is not installed

Runs rotate the order of the contenders from seed to seed (A B C, B C A, C A B), and each ratio is the median over
seeds of contender time / trainkit time for the same seed. Timings on a shared machine are noisy: the results
record the 1-minute load average before and after each run, and the share of two cores the run got (its CPU
time / (wall time x threads)); --max-load waits for a quiet machine before each run. Nothing is asserted.
The results go to bench/results/<date>-cnn-record.json (or --json PATH) and the table is printed.
"""
import argparse, datetime, json, os, platform, resource, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENDERS = ('trainkit', 'learnpytorch', 'lightning')
GOALS = {0.90: 12.0, 0.92: 60.0, 0.93: 180.0}   # target test accuracy -> seconds (the goals)

# ------------------------------------------------------------------------------------------ one run (a worker)
def fashion_dir():
    "Where the runs read Fashion-MNIST: $TRAINKIT_DATA, else the apt-get package's folder, else ~/.cache/trainkit."
    from trainkit.datasets import data_dir
    apt = Path('/usr/share/datasets/fashion-mnist')              # apt-get install -y dataset-fashion-mnist
    if 'TRAINKIT_DATA' not in os.environ and (apt / 'train-images-idx3-ubyte.gz').exists(): return apt
    return data_dir()

def load_data(quick):
    "Fashion-MNIST as normalised (N, 1, 28, 28) images and int64 labels; --quick: the first 2,048 / 1,000."
    from trainkit.datasets import load_fashion_mnist, mnist_sample, normalize, FASHION_MEAN, FASHION_STD
    try: x, y, xt, yt = load_fashion_mnist(fashion_dir())
    except (OSError, RuntimeError):
        if not quick: raise
        x, y, xt, yt = mnist_sample()                                # a smoke run only needs images
    x = normalize(x, FASHION_MEAN, FASHION_STD).view(-1, 1, 28, 28)
    xt = normalize(xt, FASHION_MEAN, FASHION_STD).view(-1, 1, 28, 28)
    if quick: x, y, xt, yt = x[:2048], y[:2048], xt[:1000], yt[:1000]
    return x, y, xt, yt

def optimizer(model, r, steps_per_epoch):
    "trainkit's SGD (Nesterov momentum, weight decay) and OneCycleLR: torch's classes accept both, Lightning too."
    from trainkit.cli import one_cycle_sgd                          # what trainkit-train --model cnn uses
    return one_cycle_sgd(model.parameters(), r, r['max_lr'], r['epochs'], steps_per_epoch)

def loss_fn(r):
    "Cross-entropy, with the recipe's label smoothing."
    import functools
    import torch.nn.functional as F
    return functools.partial(F.cross_entropy, label_smoothing=r.get('label_smoothing', 0.0))

def run_trainkit(model, data, r):
    from trainkit.data import DataLoader, TensorDataset
    from trainkit.train import train
    x, y, xt, yt = data
    dl = DataLoader(TensorDataset(x, y), batch_size=r['batch_size'], shuffle=True)
    tdl = DataLoader(TensorDataset(xt, yt), batch_size=1000)
    opt, sched = optimizer(model, r, len(dl))
    h = train(model, dl, tdl, loss_fn(r), opt, r['epochs'], progress=False, verbose=False,
              scheduler=sched, scheduler_interval='batch')
    return h['test_acc']

def run_learnpytorch(model, data, r):
    "learnpytorch.io's engine (bench/baselines.py's lp_train_step/lp_test_step), stepping the scheduler too."
    from torch.utils.data import DataLoader, TensorDataset
    from .baselines import lp_train_step, lp_test_step
    x, y, xt, yt = data
    train_dataloader = DataLoader(TensorDataset(x, y), batch_size=r['batch_size'], shuffle=True)
    test_dataloader = DataLoader(TensorDataset(xt, yt), batch_size=1000, shuffle=False)
    optimizer_, scheduler = optimizer(model, r, len(train_dataloader))
    loss_fn_, accs = loss_fn(r), []
    for epoch in range(r['epochs']):
        lp_train_step(model, train_dataloader, loss_fn_, optimizer_, scheduler=scheduler)
        accs.append(lp_test_step(model, test_dataloader, loss_fn_)[1])
    return accs

def run_lightning(model, data, r):
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset
    x, y, xt, yt = data
    dl = DataLoader(TensorDataset(x, y), batch_size=r['batch_size'], shuffle=True)
    tdl = DataLoader(TensorDataset(xt, yt), batch_size=1000)
    loss = loss_fn(r)

    class Classifier(L.LightningModule):
        def __init__(self):
            super().__init__(); self.model, self.accs = model, []
        def training_step(self, batch, i):
            xb, yb = batch
            return loss(self.model(xb), yb)
        def validation_step(self, batch, i):
            xb, yb = batch
            self.log('test_acc', (self.model(xb).argmax(1) == yb).float().mean(), batch_size=len(yb))
        def on_validation_epoch_end(self):
            if not self.trainer.sanity_checking: self.accs.append(self.trainer.callback_metrics['test_acc'].item())
        def configure_optimizers(self):
            opt, sched = optimizer(self.model, r, len(dl))
            return {'optimizer': opt, 'lr_scheduler': {'scheduler': sched, 'interval': 'step'}}

    net = Classifier()
    trainer = L.Trainer(max_epochs=r['epochs'], accelerator='cpu', devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(net, dl, tdl)
    return net.accs

def worker(spec):
    "One timed run in this process: `spec` = contender, recipe, seed, threads, quick. Prints one JSON line."
    import torch
    torch.set_num_threads(spec['threads'])
    if spec['contender'] == 'lightning':
        import lightning, logging                                     # import outside the timed region
        logging.getLogger('lightning').setLevel(logging.ERROR)
        logging.getLogger('lightning.pytorch').setLevel(logging.ERROR)
    from trainkit.checkpoint import set_seed
    from trainkit.conv import fashion_cnn
    run = {'trainkit': run_trainkit, 'learnpytorch': run_learnpytorch, 'lightning': run_lightning}
    r, load0 = spec['recipe'], os.getloadavg()[0]
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    data = load_data(spec['quick'])                                     # timed: data loading included
    t_data = time.perf_counter() - t0
    set_seed(spec['seed'])
    accs = run[spec['contender']](fashion_cnn(r['widths']), data, r)
    wall, cpu1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(json.dumps(dict(spec, time=round(wall, 3), data_time=round(t_data, 3), acc=accs[-1], accs=accs,
                          cpu_share=round(cpu / (wall * spec['threads']), 3), load_before=load0,
                          load_after=os.getloadavg()[0])))

# -------------------------------------------------------------------------------------------- the whole record
def wait_quiet(max_load, wait, log):
    "Wait (up to `wait` s) until the 1-minute load average is at most `max_load`."
    t0 = time.time()
    while max_load is not None and os.getloadavg()[0] > max_load and time.time() - t0 < wait:
        time.sleep(5)
    if max_load is not None and os.getloadavg()[0] > max_load:
        log(f'  (load {os.getloadavg()[0]:.2f} is still above {max_load}: running anyway)')

def spawn(spec):
    "Run `spec` in a fresh Python; its JSON result, or {'error': ...}."
    cmd = [sys.executable, '-m', 'bench.cnn_record', '--worker', json.dumps(spec)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith('{')]
    if p.returncode or not lines:
        return dict(spec, error=(p.stderr.strip().splitlines() or ['no output'])[-1])
    return json.loads(lines[-1])

def available(name):
    "None if contender `name` can run here, else why not."
    if name != 'lightning': return None
    try: import lightning  # noqa: F401
    except ImportError as e: return f'lightning is not installed ({e}): pip install lightning'
    return None

def med(xs): return statistics.median(xs)

def summarize(runs, targets, contenders):
    "Per target and contender: median, min, max of time and accuracy; ratios to trainkit by seed."
    rows = []
    for t in targets:
        tk = {r['seed']: r['time'] for r in runs if r['target'] == t and r['contender'] == 'trainkit' and 'time' in r}
        for c in contenders:
            rs = [r for r in runs if r['target'] == t and r['contender'] == c and 'time' in r]
            if not rs: continue
            times, accs = [r['time'] for r in rs], [r['acc'] for r in rs]
            ratios = [r['time'] / tk[r['seed']] for r in rs if r['seed'] in tk]
            row = dict(target=t, goal_s=GOALS.get(t), contender=c, n=len(rs),
                       time=med(times), time_min=min(times), time_max=max(times),
                       acc=med(accs), acc_min=min(accs), acc_max=max(accs),
                       seeds_at_target=sum(a >= t for a in accs),
                       ratio_to_trainkit=med(ratios) if ratios else None,
                       load=[min(r['load_before'] for r in rs), max(r['load_after'] for r in rs)],
                       cpu_share=med([r['cpu_share'] for r in rs]))
            if GOALS.get(t): row['met'] = row['acc'] >= t and row['time'] <= GOALS[t]
            rows.append(row)
    return rows

def table(rows, skipped):
    out = ['| target | goal | contender | runs | time: median (min-max) | test accuracy: median (min-max) '
           '| vs trainkit | load | met |', '|---|---|---|---:|---|---|---:|---|---|']
    for r in rows:
        ratio = '' if r['ratio_to_trainkit'] is None else f"{r['ratio_to_trainkit']:.2f}x"
        met = {True: 'yes', False: 'no'}.get(r.get('met'), '')
        out.append(f"| >= {r['target']:.2f} | <= {r['goal_s']:.0f} s | {r['contender']} | {r['n']} | "
                   f"{r['time']:.1f} s ({r['time_min']:.1f}-{r['time_max']:.1f}) | {r['acc']:.4f} "
                   f"({r['acc_min']:.4f}-{r['acc_max']:.4f}) | {ratio} | {r['load'][0]:.1f}-{r['load'][1]:.1f} "
                   f"| {met if r['contender'] == 'trainkit' else ''} |")
    out += [f'| | | {c} | skipped: {why} | | | | | |' for c, why in skipped.items()]
    return '\n'.join(out)

def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m bench.cnn_record', description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('--quick', action='store_true', help='smoke run: 2,048 images, 1 epoch, 1 seed, target 0.90')
    ap.add_argument('--targets', default=None, help='comma-separated, e.g. 0.90,0.92 (default: every recipe)')
    ap.add_argument('--contenders', default=','.join(CONTENDERS), help='comma-separated (default: all three)')
    ap.add_argument('--seeds', default='0,1,2', help='comma-separated seeds (default 0,1,2)')
    ap.add_argument('--threads', type=int, default=os.cpu_count(), help='torch threads per run (default: cores)')
    ap.add_argument('--max-load', type=float, default=None, help='before each run, wait for a load average <= this')
    ap.add_argument('--wait', type=float, default=600, help='... for at most this many seconds (default 600)')
    ap.add_argument('--json', type=Path, default=None, help='where to save (default bench/results/DATE-cnn-record.json;'
                    ' --quick: not saved)')
    ap.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker: return worker(json.loads(a.worker))
    sys.path.insert(0, str(ROOT))
    from trainkit.conv import FASHION_RECIPES
    log = lambda *s: print(*s, flush=True)
    targets = [float(t) for t in a.targets.split(',')] if a.targets else sorted(FASHION_RECIPES)
    if a.quick: targets = targets[:1]
    seeds = [int(s) for s in a.seeds.split(',')][:1 if a.quick else None]
    wanted = a.contenders.split(',')
    unknown = sorted(set(wanted) - set(CONTENDERS)) + [t for t in targets if t not in FASHION_RECIPES]
    if unknown: ap.error(f'unknown contender or target {unknown}: contenders are {CONTENDERS}, '
                         f'targets {sorted(FASHION_RECIPES)}')
    from trainkit.datasets import find_idx_files
    root = fashion_dir()
    if not (find_idx_files(root / 'FashionMNIST' / 'raw') or find_idx_files(root)):
        log(f'Fashion-MNIST is not in {root}: each run will try to download it through torchvision '
            '(--quick falls back to the bundled digits). Set TRAINKIT_DATA to a folder with its four IDX files.')
    skipped = {c: why for c in wanted if (why := available(c))}
    contenders = [c for c in wanted if c not in skipped]
    for c, why in skipped.items(): log(f'skipping {c}: {why}')
    started, t_start, runs = datetime.datetime.now(), time.perf_counter(), []
    for t in targets:
        recipe = dict(FASHION_RECIPES[t], **({'epochs': 1} if a.quick else {}))
        log(f'\ntarget {t}: {recipe}')
        for k, seed in enumerate(seeds):
            for c in contenders[k % len(contenders):] + contenders[:k % len(contenders)]:
                wait_quiet(a.max_load, a.wait, log)
                r = spawn(dict(contender=c, target=t, recipe=recipe, seed=seed, threads=a.threads, quick=a.quick))
                runs.append(r)
                if 'error' in r: log(f'  {c:12s} seed {seed}: FAILED: {r["error"]}'); continue
                log(f"  {c:12s} seed {seed}: {r['time']:6.1f} s (data {r['data_time']:.1f} s), test acc "
                    f"{r['acc']:.4f}, load {r['load_before']:.2f} -> {r['load_after']:.2f}, "
                    f"cpu share {r['cpu_share']:.2f}")
    rows = summarize(runs, targets, contenders)
    log('\n' + table(rows, skipped))
    import torch
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines()
                if l.startswith('model name')), platform.processor())
    out = dict(date=started.date().isoformat(), command='python -m bench.cnn_record ' + ' '.join(argv or sys.argv[1:]),
               machine=dict(cpu=cpu, cores=os.cpu_count(), threads=a.threads, torch=torch.__version__,
                            python=platform.python_version()),
               dataset='Fashion-MNIST (60,000 train, official 10,000 test)' if not a.quick else 'quick subset',
               recipes={str(t): FASHION_RECIPES[t] for t in targets}, goals={str(k): v for k, v in GOALS.items()},
               skipped=skipped, wall_s=round(time.perf_counter() - t_start, 1), summary=rows, runs=runs)
    path = a.json or (None if a.quick else ROOT / 'bench' / 'results' / f'{out["date"]}-cnn-record.json')
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1) + '\n')
        log(f'\nsaved {path}')
    return 1 if any('error' in r for r in runs) else 0

if __name__ == '__main__':
    sys.exit(main())

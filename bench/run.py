"""`python -m bench [--quick] [--json PATH]`: trainkit's loop, optimizer and loader timed against torch baselines.

Groups (each interleaved on its own, medians of --repeats rounds, 1 thread; --only picks some):
  epoch       1-2. one epoch (train + test pass): trainkit's train vs a hand-written loop and a learnpytorch-style engine
  ladder      l.   the hand-written loop turned into train() one piece at a time (information)
  sgd         3.   SGD.step()+zero_grad(): trainkit vs torch.optim.SGD (+ exactly equal after 50 steps)
  fetch       4.   a shuffled epoch of batches alone: trainkit's DataLoader vs randperm+index and torch's DataLoader
  knobs       k.   the hand-written loop with one CPU knob turned at a time (information)
  nbdev_test  5.   nbdev_test --n_workers 2 wall time (full mode only)
"""
import argparse, datetime, json, math, shutil, subprocess, sys, time, traceback
from pathlib import Path

import torch
import torch.nn.functional as F

from trainkit.train import ProgressBar, train, train_step

from . import baselines as B, tk
from .common import BS, LR, ROOT, Sink, case, fresh, interleave, load_data, loadavg, machine, master_model, med

GOALS = {'train_vs_hand': ('<= 1.00x', 1.00), 'sched_vs_hand': ('<= 1.05x', 1.05), 'train_vs_lp': ('>= 2.0x faster', 0.50), 'sgd_vs_torch': ('<= 0.80x', 0.80),
         'dl_vs_raw': ('<= 1.10x', 1.10), 'dl_vs_torch': ('>= 1.7x faster', 1 / 1.7), 'nbdev_test': ('<= 120 s', 120.0)}
GROUPS, ROWS, CHECKS, EXTRA = {}, [], [], {}

def log(*a): print(*a, flush=True)

def group(fn):
    "Register a group of contenders: `fn(d, master, a)` times them and records rows (`--only` names it)."
    GROUPS[fn.__name__.removeprefix('group_')] = fn
    return fn

def row(key, fig, what, times, name, base, info=False, **extra):
    "Record one figure: the medians of `times[name]` and `times[base]` and the median of their per-round ratios."
    t, tb = med(times[name]), med(times[base])
    r = dict(key=key, fig=fig, what=what, contender=name, baseline=base, t=t, t_base=tb, info=info,
             ratio=med([a / b for a, b in zip(times[name], times[base])]), ratio_of_medians=t / tb,
             times=times[name], times_base=times[base], **extra)   # paired by round: cancels slow load drift
    if key in GOALS: r.update(goal=GOALS[key][0], bound=GOALS[key][1], met=r['ratio'] <= GOALS[key][1])
    ROWS.append(r)

def check(name, ok, detail=''):
    CHECKS.append(dict(name=name, ok=bool(ok), detail=detail))
    log(f'  check {"ok  " if ok else "FAIL"} {name}{": " + detail if detail else ""}')

@group
def group_epoch(d, master, a):
    log('\n[1-2] one epoch (train + test pass): trainkit.train.train vs a hand-written loop vs a learnpytorch engine')
    res = {}
    c = lambda name, epoch, model=fresh: case(master, lambda m: res.setdefault(name, []).append(
        epoch(m, d['x'], d['y'], d['xt'], d['yt'])), model)
    times = interleave({'hand': c('hand', B.hand_epoch), 'learnpytorch': c('learnpytorch', B.lp_epoch),
                        'trainkit.train': c('trainkit.train', tk.train_epoch),
                        'trainkit.train+schedule': c('sched', tk.train_epoch_sched),
                        'trainkit.train+own model': c('own', tk.train_epoch, tk.own_model)}, a.rounds, a.warmup, log)
    row('train_vs_hand', '1', 'trainkit.train.train (its DataLoader with shuffle, its SGD, metrics, progress bar) vs '
        'hand-written slicing loop + torch.optim.SGD', times, 'trainkit.train', 'hand')
    row('train_vs_lp', '2', 'trainkit.train.train vs learnpytorch-style engine (torch DataLoader with shuffle, .item() '
        'per batch)', times, 'trainkit.train', 'learnpytorch')
    row('sched_vs_hand', '1s', 'trainkit.train with progress bar, metrics and a OneCycle schedule stepped every batch '
        '(scheduler=) vs the hand-written loop', times, 'trainkit.train+schedule', 'hand')
    row('own_vs_hand', 'i', 'trainkit.train.train with trainkit\'s own Sequential/Linear vs hand-written loop', times,
        'trainkit.train+own model', 'hand', info=True)
    row('lp_vs_hand', 'i', 'learnpytorch-style engine vs hand-written loop', times, 'learnpytorch', 'hand', info=True)
    floor, (hl, ha), acc = 0.5 if len(d['x']) >= 10000 else 0.25, res['hand'][-1], res['trainkit.train'][-1]['test_acc']
    check('the hand loop trains', math.isfinite(hl) and ha > floor, f'test loss {hl:.3f}, acc {ha:.3f}')   # > chance
    check('trainkit.train trains like the hand loop', len(acc) == 1 and acc[0] > floor and abs(acc[0] - ha) < 0.1,
          f'test acc {acc} vs {ha:.3f}')

@group
def group_ladder(d, master, a):
    log('\n[l] ladder: the hand-written training loop turned into trainkit\'s train() one piece at a time')
    x, y, sgd, dl = d['x'], d['y'], lambda m: tk.sgd(m.parameters()), lambda: tk.loader(d['x'], d['y'])
    rungs = {'hand loop (torch.optim.SGD)': lambda m: B.hand_train(m, torch.optim.SGD(m.parameters(), lr=LR), x, y),
             '+ trainkit SGD': lambda m: B.hand_train(m, sgd(m), x, y),
             '+ trainkit DataLoader(shuffle=True)': lambda m: B.loader_train(m, dl(), sgd(m)),
             '+ metrics: trainkit train_step': lambda m: train_step(m, dl(), F.cross_entropy, sgd(m)),
             '+ progress bar and epoch line: train(test_dl=None)':
                 lambda m: train(m, dl(), None, F.cross_entropy, sgd(m), 1, progress=True)}
    times = interleave({k: case(master, v) for k, v in rungs.items()}, a.rounds, a.warmup, log)
    for k in list(rungs)[1:]: row('ladder', 'l', k, times, k, 'hand loop (torch.optim.SGD)', info=True)

@group
def group_sgd(d, master, a):
    n = -(-len(d['x']) // BS)
    log(f'\n[3] SGD.step()+zero_grad(), {n} steps on the 784-50-10 MLP\'s parameters')
    m = fresh(master); gs = []
    for i in range(16):                                        # real gradients of 16 batches, reused in turn
        F.cross_entropy(m(d['x'][i * BS:(i + 1) * BS]), d['y'][i * BS:(i + 1) * BS]).backward()
        gs.append([p.grad.clone() for p in m.parameters()]); m.zero_grad()
    grads = [gs[i % len(gs)] for i in range(n)]

    def stepper(make_opt):
        def make():
            ps = [p.detach().clone().requires_grad_() for p in master.parameters()]
            opt = make_opt(ps)
            return lambda: B.steps(opt, ps, grads)
        return make
    times = interleave({'torch.optim.SGD': stepper(lambda ps: torch.optim.SGD(ps, lr=LR)), 'trainkit SGD': stepper(tk.sgd),
                        'hand update': stepper(lambda ps: None)}, a.rounds, a.warmup, log)
    row('sgd_vs_torch', '3', 'trainkit SGD.step()+zero_grad() vs torch.optim.SGD\'s (same params, same grads)', times,
        'trainkit SGD', 'torch.optim.SGD', steps=n)
    row('hand_sgd_vs_torch', 'i', 'hand-written update p.add_(grad, alpha=-lr); grad=None vs torch.optim.SGD', times,
        'hand update', 'torch.optim.SGD', info=True, steps=n)
    ma, mb = fresh(master), fresh(master)       # the lessons test every option; the measured one must be exact
    for m, o in ((ma, torch.optim.SGD(ma.parameters(), lr=LR)), (mb, tk.sgd(mb.parameters()))):
        for i in range(50): F.cross_entropy(m(d['x'][i:i + BS]), d['y'][i:i + BS]).backward(); o.step(); o.zero_grad()
    check('trainkit SGD == torch.optim.SGD after 50 steps (bit for bit)',
          all(torch.equal(p, q) for p, q in zip(ma.parameters(), mb.parameters())))

@group
def group_fetch(d, master, a):
    log('\n[4] one shuffled epoch of batches, fetched and touched (no model)')
    x, y = d['x'], d['y']
    times = interleave({'randperm+index': lambda: lambda: B.fetch(x, y),
                        'torch DataLoader': lambda: (lambda dl: lambda: B.fetch_loader(dl))(B.torch_loader(x, y)),
                        'randperm+index_select': lambda: lambda: B.fetch(x, y, index_select=True),
                        'trainkit DataLoader': lambda: (lambda dl: lambda: B.fetch_loader(dl))(tk.loader(x, y))},
                       a.rounds, a.warmup, log)
    row('dl_vs_raw', '4a', 'trainkit DataLoader(shuffle=True) epoch vs randperm + x[idx] per batch', times,
        'trainkit DataLoader', 'randperm+index')
    row('dl_vs_torch', '4b', 'trainkit DataLoader(shuffle=True) epoch vs torch DataLoader(shuffle=True)', times,
        'trainkit DataLoader', 'torch DataLoader')
    row('isel_vs_raw', 'i', 'randperm + x.index_select(0, idx) vs randperm + x[idx]', times, 'randperm+index_select',
        'randperm+index', info=True)
    row('torchdl_vs_raw', 'i', 'torch DataLoader(shuffle=True) vs randperm + x[idx]', times, 'torch DataLoader',
        'randperm+index', info=True)
    idx = torch.arange(len(x))                  # the lessons test the loader; the order claim is checked here too
    torch.manual_seed(0); ours = torch.cat([b[0] for b in tk.loader(idx, idx)])
    torch.manual_seed(0); theirs = torch.cat([b[0] for b in B.torch_loader(idx, idx)])
    check('trainkit DataLoader visits the samples in torch\'s order for the same torch.manual_seed', torch.equal(ours, theirs))

def _two_threads(m, x, y):
    torch.set_num_threads(2)
    try: B.knob_train(m, x, y)
    finally: torch.set_num_threads(1)

@group
def group_knobs(d, master, a):
    """The hand-written training epoch (train set only) with one thing changed, in interleaved groups of their own:
    single-thread knobs; knobs that use the second core (their spinning threads and exiting workers would slow
    whatever runs next); torch.compile."""
    x, y, n = d['x'], d['y'], -(-len(d['x']) // BS)
    knob = lambda **kw: case(master, lambda m: B.knob_train(m, x, y, **kw))
    loader = lambda w: case(master, lambda m: B.loader_train(m, B.torch_loader(x, y, num_workers=w)))
    bar = lambda s: knob(bar=ProgressBar(n, interval=s))    # trainkit's bar, redrawn at most every s seconds
    groups = {'single-thread knobs': {
        'hand loop': knob(), 'batch size 256': knob(bs=256), 'batch size 6000 (arithmetic floor)': knob(bs=6000),
        '.item() per batch (loss, acc)': knob(item=True), 'progress bar, redraw <= 10/s': bar(0.1),
        'progress bar, redraw every batch': bar(0), 'hand SGD update (no torch.optim)': knob(sgd='hand'),
        'shuffle: randperm + x[idx]': knob(shuffle=True), 'shuffle: randperm + index_select': knob(shuffle='index_select'),
        'torch DataLoader(shuffle=True)': loader(0), 'bf16 autocast': knob(autocast=True)},
        'the second core': {'hand loop': knob(), '2 threads': case(master, lambda m: _two_threads(m, x, y)),
                            'torch DataLoader(shuffle=True)': loader(0), 'torch DataLoader num_workers=2': loader(2)}}
    cc = {}
    if a.quick: cc['skipped'] = 'skipped in --quick (a cold compile takes 5-20 s)'
    else:
        try:
            m = fresh(master); c = torch.compile(m); t0 = time.perf_counter()
            with Sink(): F.cross_entropy(c(x[:BS]), y[:BS]).backward(); m.zero_grad()
            cc['cold_s'] = time.perf_counter() - t0
            warm = lambda: (m.load_state_dict(master.state_dict()), lambda: B.knob_train(m, x, y, fwd=c))[1]
            groups['torch.compile'] = {'hand loop': knob(), 'torch.compile (warm)': warm}
        except Exception as e:   # no C++ compiler, unsupported platform...: say so, don't fail the run
            cc['error'] = f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'; log(f'  torch.compile: {cc["error"]}')
    EXTRA['overhead'] = dict(steps=n, compile=cc)
    for g, cases in groups.items():
        log(f'\n[k] knobs, {g}: the hand-written training epoch (train set only) with one thing changed')
        times = interleave(cases, min(a.rounds, 7), a.warmup, log, time.perf_counter)   # wall: threads, workers
        for k in cases:
            if k == 'hand loop' or (g == 'the second core' and k == 'torch DataLoader(shuffle=True)'): continue
            extra = dict(group=g, compile_cold_s=cc.get('cold_s')) if 'compile' in k else dict(group=g)
            if 'workers' in k: extra['vs_no_workers'] = med([p / q for p, q in zip(times[k], times['torch DataLoader(shuffle=True)'])])
            row('knob', 'k', k, times, k, 'hand loop', info=True, **extra)
        if g == 'single-thread knobs':
            floor, hand = med(times['batch size 6000 (arithmetic floor)']), med(times['hand loop'])
            EXTRA['overhead'].update(floor_ms=floor * 1e3, hand_ms=hand * 1e3, per_step_us=(hand - floor) / n * 1e6)

@group
def group_nbdev_test(d, master, a):
    "Figure 5: the whole test suite's wall time, one run in a subprocess (full mode only)."
    if a.quick: return
    log('\n[5] nbdev_test --n_workers 2 (one run, in a subprocess, from the repo root)')
    exe, p = shutil.which('nbdev_test') or str(Path(sys.executable).with_name('nbdev_test')), []
    t = interleave({'nbdev_test': lambda: lambda: p.append(subprocess.run([exe, '--n_workers', '2'], cwd=ROOT,
                                                                          capture_output=True))}, 1, 0, log, time.perf_counter)['nbdev_test'][0]
    rc = p[0].returncode
    ROWS.append(dict(key='nbdev_test', fig='5', what='nbdev_test --n_workers 2 wall time (whole test suite)', t=t, rc=rc,
                     goal=GOALS['nbdev_test'][0], bound=120.0, met=rc == 0 and t <= 120, info=False))
    check('nbdev_test passes', rc == 0, f'exit {rc}')

def table(rows):
    "The results as text: figure, what, contender time, baseline time, ratio, goal, met or missed."
    fmt = lambda t, r: f'{t:9.1f} s ' if r['key'] == 'nbdev_test' else f'{t / r["steps"] * 1e6:8.0f} us' if 'steps' in r \
        else f'{t * 1e3:8.1f} ms'
    out = [f'{"#":<3} {"what":<74} {"contender":>11} {"baseline":>11} {"ratio":>7}  {"goal":<15} result', '-' * 135]
    for r in rows:
        res = ('met' if r['met'] else 'MISSED' if r.get('rc', 0) == 0 else f'FAILED (exit {r["rc"]})') if 'met' in r else ''
        if 'faster' in r.get('goal', ''): res += f' ({1 / r["ratio"]:.2f}x faster)'
        what = r['what'] if len(r['what']) <= 74 else r['what'][:71] + '...'
        base, ratio = (fmt(r['t_base'], r), f'{r["ratio"]:.2f}x') if 'ratio' in r else ('', '')
        out.append(f'{r["fig"]:<3} {what:<74} {fmt(r["t"], r)} {base:>11} {ratio:>7}  {r.get("goal", "info"):<15} {res}')
    return '\n'.join(out)

def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m bench', description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--quick', action='store_true', help='smoke run: 2k samples, 1 round, no warm-up, no nbdev_test, '
                    'no torch.compile (< 60 s); checks still fail the run')
    ap.add_argument('--repeats', type=int, help='timed rounds per group (default 9; --quick 1)')
    ap.add_argument('--json', type=Path, help='also save the results (with machine info) to this file')
    ap.add_argument('--only', default=','.join(GROUPS), help=f'comma-separated groups (default: {",".join(GROUPS)})')
    a = ap.parse_args(argv)
    if set(a.only.split(',')) - set(GROUPS): ap.error(f'--only takes groups from {", ".join(GROUPS)}, got {a.only}')
    a.rounds, a.warmup, t0 = a.repeats or (1 if a.quick else 9), 0 if a.quick else 1, time.perf_counter()
    torch.set_num_threads(1)
    info, d, master = machine(), load_data(quick=a.quick), master_model()
    log(f'trainkit bench: {info["cpu"]}, {info["cores"]} cores, torch {info["torch"]}, 1 thread, {a.rounds} interleaved '
        f'rounds per group, batch size {BS}, lr {LR}\ndata: {d["name"]}')
    m = fresh(master)   # pay one-time costs (autograd engine, kernels' lazy init) before any timing
    B.hand_train(m, torch.optim.SGD(m.parameters(), lr=LR), d['x'][:BS * 4], d['y'][:BS * 4])
    try:
        for g in a.only.split(','): GROUPS[g](d, master, a)
        broke = None
    except Exception: broke = traceback.format_exc()
    wall, o, bad = time.perf_counter() - t0, EXTRA.get('overhead') or {}, [c for c in CHECKS if not c['ok']]
    log(f'\ntrainkit benchmark, {datetime.date.today()}, {info["cpu"]} ({info["cores"]} cores), torch {info["torch"]}; '
        f'data: {d["name"]}; load average {info["loadavg_start"]} at start, {loadavg()} at end\ntimes: medians of '
        'interleaved rounds; ratio: median over rounds of contender/baseline in the same round (< 1: faster)\n')
    log(table(ROWS))
    if 'hand_ms' in o: log(f'\nhand loop: {o["hand_ms"]:.0f} ms/epoch = arithmetic floor {o["floor_ms"]:.0f} ms + '
                          f'{o["per_step_us"]:.0f} us fixed overhead per step x {o["steps"]} steps')
    if 'compile' in o: log('torch.compile: ' + (f'first step (cold compile) {o["compile"]["cold_s"]:.1f} s'
                                                if 'cold_s' in o['compile'] else ', '.join(o['compile'].values())))
    goals = [r for r in ROWS if r['key'] in GOALS]
    log(f'\nchecks: {len(CHECKS) - len(bad)} ok, {len(bad)} failed' + ''.join(f'\n  FAILED: {c["name"]}' for c in bad)
        + f'\ngoals: {sum(r["met"] for r in goals)} met, {sum(not r["met"] for r in goals)} missed; wall time {wall:.0f} s')
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(dict(
            date=str(datetime.date.today()), machine=info, dataset=d['name'], quick=a.quick, repeats=a.rounds,
            knob_repeats=min(a.rounds, 7), loadavg_end=loadavg(), batch_size=BS, lr=LR, threads=1, wall_s=wall,
            rows=ROWS, checks=CHECKS, overhead=o, goals={k: v[0] for k, v in GOALS.items()},
            command='python -m bench' + (' --quick' if a.quick else '')), indent=1) + '\n')
        log(f'saved {a.json}')
    if broke: log('\nthe benchmark broke:\n' + broke)
    if broke or bad: sys.exit(1)

"""`python -m bench [--quick] [--json PATH]`: measure trainkit's loop, optimizer and loader against torch baselines.

Groups (each interleaved on its own, medians of --repeats rounds, 1 thread):
  1-2. one epoch (train 60k + test 10k): trainkit.train.train vs the hand-written slicing loop and a learnpytorch-style engine
  l.   ladder (information): the hand loop turned into train() one piece at a time (SGD, loader, metrics, bar)
  3.   SGD.step()+zero_grad(): trainkit vs torch.optim.SGD (+ exact-equality check after N steps)
  4.   a shuffled epoch of batches alone: trainkit DataLoader vs randperm+index and vs torch's DataLoader
  k.   knobs (information): the hand loop with one CPU knob turned at a time
  5.   nbdev_test --n_workers 2 wall time (full mode only, once, in a subprocess)
"""
import argparse, datetime, json, math, os, shutil, subprocess, sys, time, traceback
from pathlib import Path

import torch
import torch.nn.functional as F

from . import baselines as B, tk
from .common import BS, LR, ROOT, Sink, fresh, interleave, load_data, loadavg, machine, master_model, med

# goal per figure: (operator, bound) on ratio = contender time / baseline time
GOALS = {
    'train_vs_hand': ('<=', 1.00, '<= 1.00x'),
    'train_vs_lp': ('<=', 0.50, '>= 2.0x faster'),
    'sgd_vs_torch': ('<=', 0.80, '<= 0.80x'),
    'dl_vs_raw': ('<=', 1.10, '<= 1.10x'),
    'dl_vs_torch': ('<=', 1 / 1.7, '>= 1.7x faster'),
    'nbdev_test': ('<=', 120.0, '<= 120 s'),
}

ROWS, CHECKS, MISSING = [], [], []


def log(*a): print(*a, flush=True)


def row(key, fig, what, times, name, base, unit='ms', info=False, extra=None):
    "Record one figure: medians of `times[name]` and `times[base]`, their ratio, the goal and whether it is met."
    if name not in times or base not in times:
        ROWS.append(dict(key=key, fig=fig, what=what, missing=True, info=info)); return
    t, tb = med(times[name]), med(times[base])
    ratio = med([a / b for a, b in zip(times[name], times[base])])  # paired by round: cancels slow load drift
    r = dict(key=key, fig=fig, what=what, contender=name, baseline=base, t=t, t_base=tb, ratio=ratio,
             ratio_of_medians=t / tb,
             times=times[name], times_base=times[base], info=info, **(extra or {}))
    if key in GOALS:
        op, bound, text = GOALS[key]
        r.update(goal=text, bound=bound, met=ratio <= bound)
    ROWS.append(r)


def check(name, ok, detail=''):
    CHECKS.append(dict(name=name, ok=bool(ok), detail=detail))
    log(f'  check {"ok  " if ok else "FAIL"} {name}{": " + detail if detail else ""}')


def try_case(cases, name, make):
    "Add `make` to `cases` if it can be set up and run once; else record why it is missing."
    try:
        make()  # setup only: imports trainkit parts, builds loaders/optimizers
        cases[name] = make
    except ImportError as e:
        MISSING.append(f'{name}: {e}'); log(f'  MISSING {name}: {e}')


# ------------------------------------------------------------------------------------------------ 1-2: an epoch
def group_epoch(d, master, repeats, warmup):
    log('\n[1-2] one epoch (train + test pass), trainkit.train.train vs hand-written loop vs learnpytorch engine')
    x, y, xt, yt = d['x'], d['y'], d['xt'], d['yt']
    cases = {}

    def hand():
        m = fresh(master); return lambda: hand_res.append(B.hand_epoch(m, x, y, xt, yt))

    def lp():
        m = fresh(master)
        def run():
            with Sink(): lp_res.append(B.lp_epoch(m, x, y, xt, yt))
        return run

    def tk_train():
        m = fresh(master); tk.need('train'); tk.need('data'); tk.need('optimizer')
        return lambda: tk_res.append(tk.train_epoch(m, x, y, xt, yt))

    def tk_own():
        m = tk.own_model(master); tk.need('train')
        return lambda: own_res.append(tk.train_epoch(m, x, y, xt, yt))

    hand_res, lp_res, tk_res, own_res = [], [], [], []
    cases['hand'] = hand; cases['learnpytorch'] = lp
    try_case(cases, 'trainkit.train', tk_train)
    try_case(cases, 'trainkit.train+own model', tk_own)
    times = interleave(cases, repeats, warmup, log=log)
    row('train_vs_hand', '1', 'trainkit.train.train (tk DataLoader shuffle, tk SGD, metrics, bar) vs hand-written '
        'slicing loop + torch.optim.SGD', times, 'trainkit.train', 'hand')
    row('train_vs_lp', '2', 'trainkit.train.train vs learnpytorch-style engine (torch DataLoader shuffle, '
        '.item() per batch)', times, 'trainkit.train', 'learnpytorch')
    row('own_vs_hand', 'i', 'trainkit.train.train with trainkit\'s own Sequential/Linear vs hand-written loop',
        times, 'trainkit.train+own model', 'hand', info=True)
    row('lp_vs_hand', 'i', 'learnpytorch-style engine vs hand-written loop', times, 'learnpytorch', 'hand', info=True)

    # correctness: the loop trained (finite, better than chance) and its metrics agree with the baselines' kind
    acc_floor = 0.5 if len(x) >= 10000 else 0.25
    hl, ha = hand_res[-1]
    check('hand loop trains', math.isfinite(hl) and ha > acc_floor, f'test loss {hl:.3f}, acc {ha:.3f}')
    if tk_res:
        h = tk_res[-1]
        keys = {'train_loss', 'train_acc', 'test_loss', 'test_acc'}
        ok = isinstance(h, dict) and keys <= set(h) and all(len(h[k]) == 1 and math.isfinite(h[k][0]) for k in keys)
        check('trainkit.train returns a 1-epoch history', ok, f'{ {k: h[k] for k in sorted(keys & set(h))} }'
              if isinstance(h, dict) else repr(h))
        if ok: check('trainkit.train trains', h['test_acc'][0] > acc_floor, f'test acc {h["test_acc"][0]:.3f}')
        # same data, same init, same optimizer maths: the test accuracy after one epoch is close to the hand loop's
        if ok: check('trainkit.train ~ hand loop accuracy', abs(h['test_acc'][0] - ha) < 0.1,
                     f'{h["test_acc"][0]:.3f} vs {ha:.3f}')
    return times


def group_ladder(d, master, repeats, warmup):
    "From the hand loop to trainkit's train(), one change at a time (training set only): where figure 1's time goes."
    log('\n[l] ladder: the hand-written training loop, turned into trainkit\'s train() one piece at a time')
    x, y = d['x'], d['y']
    tr = tk.need('train')

    def step(kind):
        def make():
            m = fresh(master)
            if kind == 'hand': return lambda: B.hand_train(m, torch.optim.SGD(m.parameters(), lr=LR), x, y)
            if kind == 'sgd': return lambda: B.hand_train(m, tk.sgd(m.parameters()), x, y)
            if kind == 'loader': return lambda: B.loader_train(m, tk.loader(x, y), tk.sgd(m.parameters()))
            if kind == 'train_step': return lambda: tr.train_step(m, tk.loader(x, y), F.cross_entropy, tk.sgd(m.parameters()))
            def run():
                with Sink(): tr.train(m, tk.loader(x, y), None, F.cross_entropy, tk.sgd(m.parameters()), 1, progress=True)
            return run
        return make
    cases = {'hand loop (torch.optim.SGD)': step('hand'), '+ trainkit SGD': step('sgd'),
             '+ trainkit DataLoader(shuffle=True)': step('loader'), '+ metrics: trainkit train_step': step('train_step'),
             '+ progress bar and epoch line: train(test_dl=None)': step('train')}
    times = interleave(cases, repeats, warmup, log=log)
    for k in list(cases)[1:]:
        row('ladder', 'l', k, times, k, 'hand loop (torch.optim.SGD)', info=True)


# ------------------------------------------------------------------------------------------------ 3: the optimizer
def grad_sets(master, x, y, k):
    "k sets of real gradients of the MLP (from k different batches), reused cyclically by the step timers."
    m = fresh(master); out = []
    for i in range(k):
        F.cross_entropy(m(x[i * BS:(i + 1) * BS]), y[i * BS:(i + 1) * BS]).backward()
        out.append([p.grad.clone() for p in m.parameters()]); m.zero_grad()
    return out


def group_sgd(d, master, repeats, warmup, steps):
    log(f'\n[3] SGD.step()+zero_grad(), {steps} steps on the 784-50-10 MLP\'s parameters')
    gs = grad_sets(master, d['x'], d['y'], 16)
    grads = [gs[i % len(gs)] for i in range(steps)]

    def params(): return [p.detach().clone().requires_grad_() for p in master.parameters()]

    def torch_sgd():
        ps = params(); opt = torch.optim.SGD(ps, lr=LR); return lambda: B.timed_steps(opt, ps, grads)

    def tk_sgd():
        ps = params(); opt = tk.sgd(ps); return lambda: B.timed_steps(opt, ps, grads)

    def hand_sgd():
        ps = params(); return lambda: B.hand_sgd_steps(ps, grads)

    cases = {'torch.optim.SGD': torch_sgd, 'hand update': hand_sgd}
    try_case(cases, 'trainkit SGD', tk_sgd)
    times = interleave(cases, repeats, warmup, log=log)
    row('sgd_vs_torch', '3', 'trainkit SGD.step()+zero_grad() vs torch.optim.SGD\'s (same params, same grads)',
        times, 'trainkit SGD', 'torch.optim.SGD', unit='us', extra=dict(steps=steps))
    row('hand_sgd_vs_torch', 'i', 'hand-written update p.add_(grad, alpha=-lr); grad=None vs torch.optim.SGD',
        times, 'hand update', 'torch.optim.SGD', unit='us', info=True, extra=dict(steps=steps))
    if 'trainkit SGD' in cases: sgd_parity(d, master)
    return times


def sgd_parity(d, master, n=50):
    "Train two copies n real steps, torch.optim.SGD vs trainkit SGD: every parameter must be exactly equal."
    x, y = d['x'], d['y']
    for kw in [dict(), dict(momentum=0.9), dict(momentum=0.9, weight_decay=5e-4, dampening=0.1),
               dict(momentum=0.9, nesterov=True, weight_decay=1e-3)]:
        ma, mb = fresh(master), fresh(master)
        oa, ob = torch.optim.SGD(ma.parameters(), lr=LR, **kw), tk.sgd(mb.parameters(), **kw)
        for i in range(n):
            j = (i * BS) % (len(x) - BS)
            for m, o in ((ma, oa), (mb, ob)):
                F.cross_entropy(m(x[j:j + BS]), y[j:j + BS]).backward(); o.step(); o.zero_grad()
        diff = max((pa - pb).abs().max().item() for pa, pb in zip(ma.parameters(), mb.parameters()))
        same = all(torch.equal(pa, pb) for pa, pb in zip(ma.parameters(), mb.parameters()))
        check(f'trainkit SGD({", ".join(f"{k}={v}" for k, v in kw.items()) or "lr=0.1"}) == torch.optim.SGD '
              f'after {n} steps (exact)', same, '' if same else f'max |diff| {diff:.3g}')
    ps = [p.detach().clone().requires_grad_() for p in master.parameters()]
    o = tk.sgd(ps)
    for p in ps: p.grad = torch.ones_like(p)
    o.zero_grad()
    check('trainkit SGD.zero_grad() sets grads to None (set_to_none=True default)', all(p.grad is None for p in ps))


# ------------------------------------------------------------------------------------------------ 4: the loader
def group_fetch(d, repeats, warmup):
    log('\n[4] one shuffled epoch of batches, fetched and touched (no model)')
    x, y = d['x'], d['y']
    cases = {'randperm+index': lambda: lambda: B.fetch_raw(x, y),
             'torch DataLoader': lambda: (lambda dl: lambda: B.fetch_loader(dl))(B.torch_loader(x, y)),
             'randperm+index_select': lambda: lambda: B.fetch_index_select(x, y)}
    try_case(cases, 'trainkit DataLoader', lambda: (lambda dl: lambda: B.fetch_loader(dl))(tk.loader(x, y)))
    times = interleave(cases, repeats, warmup, log=log)
    row('dl_vs_raw', '4a', 'trainkit DataLoader(shuffle=True) epoch vs randperm + x[idx] per batch', times,
        'trainkit DataLoader', 'randperm+index')
    row('dl_vs_torch', '4b', 'trainkit DataLoader(shuffle=True) epoch vs torch DataLoader(shuffle=True)', times,
        'trainkit DataLoader', 'torch DataLoader')
    row('isel_vs_raw', 'i', 'randperm + x.index_select(0, idx) vs randperm + x[idx]', times,
        'randperm+index_select', 'randperm+index', info=True)
    row('torchdl_vs_raw', 'i', 'torch DataLoader(shuffle=True) vs randperm + x[idx]', times, 'torch DataLoader',
        'randperm+index', info=True)
    if 'trainkit DataLoader' in cases: loader_checks(len(x))
    return times


def loader_checks(n):
    "Each sample exactly once per epoch, epochs differ, torch.manual_seed makes an epoch reproducible."
    idx = torch.arange(n)
    dl = tk.loader(idx, idx)

    def epoch(): return torch.cat([b[0] for b in dl])
    torch.manual_seed(0); e1 = epoch(); e2 = epoch()
    torch.manual_seed(0); e1b = epoch()
    check('trainkit DataLoader yields every sample once per epoch', torch.equal(e1.sort().values, idx))
    check('trainkit DataLoader reshuffles each epoch', not torch.equal(e1, e2))
    check('trainkit DataLoader epoch is reproducible under torch.manual_seed', torch.equal(e1, e1b))
    torch.manual_seed(0); t1 = torch.cat([b[0] for b in B.torch_loader(idx, idx)])
    check('trainkit DataLoader order == torch DataLoader order for the same torch.manual_seed', torch.equal(e1, t1))
    lens = [len(b[0]) for b in dl]
    check('trainkit DataLoader batch sizes', lens == [BS] * (n // BS) + ([n % BS] if n % BS else []),
          f'{len(lens)} batches')


# ------------------------------------------------------------------------------------------------- knobs (info)
def knob_groups(d, master, repeats, warmup, quick, use_compile):
    """The hand-written training epoch (train set only) with one thing changed, in three interleaved groups:
    single-thread knobs; knobs that use the second core (2 threads, DataLoader workers: kept apart because their
    idle-spinning threads and exiting workers would slow whatever runs next); torch.compile (kept apart too)."""
    x, y = d['x'], d['y']
    notes, compile_info = {}, {}

    def knob(**kw):
        def make():
            m = fresh(master); return lambda: B.knob_train(m, x, y, **kw)
        return make

    def threads2():
        m = fresh(master)
        def run():
            torch.set_num_threads(2)
            try: B.knob_train(m, x, y)
            finally: torch.set_num_threads(1)
        return run

    def bar(mininterval):
        def make():
            m = fresh(master); f = open(os.devnull, 'w')
            b, label = B.make_bar(-(-len(x) // BS), f, mininterval); notes['bar'] = label
            def run():
                B.knob_train(m, x, y, bar=b); f.close()
            return run
        return make

    def dl(workers):
        def make():
            m = fresh(master); loader = B.torch_loader(x, y, num_workers=workers)
            return lambda: B.loader_train(m, loader)
        return make

    groups = {
        'single-thread knobs': {
            'hand loop': knob(),
            'batch size 256': knob(bs=256),
            'batch size 6000 (arithmetic floor)': knob(bs=6000),
            '.item() per batch (loss, acc)': knob(item=True),
            'progress bar, redraw <= 10/s': bar(0.1),
            'progress bar, redraw every batch': bar(0),
            'hand SGD update (no torch.optim)': knob(sgd='hand'),
            'shuffle: randperm + x[idx]': knob(shuffle=True),
            'shuffle: randperm + index_select': knob(shuffle='index_select'),
            'torch DataLoader(shuffle=True)': dl(0),
            'bf16 autocast': knob(autocast=True)},
        'the second core': {
            'hand loop': knob(),
            '2 threads': threads2,
            'torch DataLoader(shuffle=True)': dl(0),
            'torch DataLoader num_workers=2': dl(2)},
    }
    if use_compile:
        state = {}

        def compiled():
            if 'c' not in state:
                m = fresh(master)
                t0 = time.perf_counter()
                c = torch.compile(m)
                F.cross_entropy(c(x[:BS]), y[:BS]).backward(); m.zero_grad()
                compile_info['cold_s'] = time.perf_counter() - t0
                state.update(m=m, c=c)
            m = state['m']; m.load_state_dict(master.state_dict())
            return lambda: B.knob_train(m, x, y, fwd=state['c'])
        try:
            with Sink(): compiled()
            groups['torch.compile'] = {'hand loop': knob(), 'torch.compile (warm)': compiled}
        except Exception as e:  # no C++ compiler, unsupported platform, ...: say so, don't fail the run
            compile_info['error'] = f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
            log(f'  torch.compile unavailable: {compile_info["error"]}')
    else:
        compile_info['skipped'] = 'skipped in --quick (a cold compile takes ~15-20 s here)' if quick else 'skipped'

    steps = -(-len(x) // BS)
    overhead = dict(steps=steps, compile=compile_info)
    for g, cases in groups.items():
        log(f'\n[k] knobs, {g}: the hand-written training epoch (train set only) with one thing changed')
        times = interleave(cases, repeats, warmup, log=log)
        for k in cases:
            if k == 'hand loop' or (g == 'the second core' and k == 'torch DataLoader(shuffle=True)'): continue
            extra = dict(group=g)
            if k == 'torch DataLoader num_workers=2':  # also against the same loader without workers, same rounds
                extra.update(vs_no_workers=med([a / b for a, b in zip(times[k], times['torch DataLoader(shuffle=True)'])]))
            if k == 'torch.compile (warm)': extra.update(compile_cold_s=compile_info.get('cold_s'))
            if k.startswith('progress'): extra.update(bar=notes.get('bar'))
            row('knob', 'k', k, times, k, 'hand loop', info=True, extra=extra)
        if g == 'single-thread knobs':
            floor, t_hand = med(times['batch size 6000 (arithmetic floor)']), med(times['hand loop'])
            overhead.update(floor_ms=floor * 1e3, hand_ms=t_hand * 1e3, per_step_us=(t_hand - floor) / steps * 1e6)
            log(f'  hand loop {t_hand * 1e3:.0f} ms/epoch = floor {floor * 1e3:.0f} ms (same FLOPs in 6000-sample '
                f'batches) + {overhead["per_step_us"]:.0f} us fixed overhead x {steps} steps')
    return overhead


# ------------------------------------------------------------------------------------------------ 5: nbdev_test
def nbdev_test_time():
    log('\n[5] nbdev_test --n_workers 2 (one run, subprocess, from the repo root)')
    exe = shutil.which('nbdev_test') or str(Path(sys.executable).with_name('nbdev_test'))
    t0 = time.perf_counter()
    p = subprocess.run([exe, '--n_workers', '2'], cwd=ROOT, capture_output=True, text=True)
    t = time.perf_counter() - t0
    tail = (p.stdout + p.stderr).strip().splitlines()[-5:]
    log(f'  {t:.1f} s, exit {p.returncode}' + (''.join('\n    ' + line for line in tail) if p.returncode else ''))
    op, bound, text = GOALS['nbdev_test']
    ROWS.append(dict(key='nbdev_test', fig='5', what='nbdev_test --n_workers 2 wall time (whole test suite)',
                     t=t, unit='s', rc=p.returncode, goal=text, bound=bound, met=p.returncode == 0 and t <= bound,
                     info=False, tail=tail))
    check('nbdev_test passes', p.returncode == 0, f'exit {p.returncode}')


# ---------------------------------------------------------------------------------------------------- output
def fmt_t(t, unit):
    return f'{t * 1e3:8.1f} ms' if unit == 'ms' else f'{t * 1e6:8.0f} us' if unit == 'us' else f'{t:8.1f} s '


def table(rows):
    "The results as text: figure, what, contender time, baseline time, ratio, goal, met/missed."
    out = [f'{"#":<3} {"what":<74} {"contender":>11} {"baseline":>11} {"ratio":>7}  {"goal":<15} result',
           '-' * 135]
    for r in rows:
        what = r['what'] if len(r['what']) <= 74 else r['what'][:71] + '...'
        if r.get('missing'):
            out.append(f'{r["fig"]:<3} {what:<74} {"n/a":>11} {"":>11} {"":>7}  {GOALS.get(r["key"], ("", "", "info"))[2]:<15} '
                       f'MISSING'); continue
        if r['key'] == 'nbdev_test':
            res = 'met' if r['met'] else ('MISSED' if r['rc'] == 0 else f'FAILED (exit {r["rc"]})')
            out.append(f'{r["fig"]:<3} {what:<74} {r["t"]:9.1f} s {"":>11} {"":>7}  {r["goal"]:<15} {res}'); continue
        unit = 'us' if r['key'].startswith(('sgd', 'hand_sgd')) else 'ms'
        t, tb = r['t'], r['t_base']
        if unit == 'us': t, tb = t / r['steps'], tb / r['steps']  # per step
        ratio = f'{r["ratio"]:.2f}x'
        goal = r.get('goal', 'info')
        res = ('met' if r['met'] else 'MISSED') if 'met' in r else ''
        if 'met' in r and r['bound'] < 1 and 'faster' in goal: res += f' ({1 / r["ratio"]:.2f}x faster)'
        if r.get('compile_cold_s'): res += f'cold compile {r["compile_cold_s"]:.1f} s'
        out.append(f'{r["fig"]:<3} {what:<74} {fmt_t(t, unit)} {fmt_t(tb, unit)} {ratio:>7}  {goal:<15} {res}')
    return '\n'.join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m bench', description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument('--quick', action='store_true', help='smoke run: 2k samples, 1 round, no warm-up, no nbdev_test, '
                    'no torch.compile (< 60 s); checks still fail the run')
    ap.add_argument('--repeats', type=int, default=None, help='timed rounds per group (default 9; --quick 1)')
    ap.add_argument('--json', type=Path, default=None, help='also save the results (with machine info) to this file')
    ap.add_argument('--no-nbdev-test', action='store_true', help='skip figure 5 (the nbdev_test run)')
    ap.add_argument('--no-compile', action='store_true', help='skip the torch.compile knob')
    ap.add_argument('--only', default='epoch,ladder,sgd,fetch,knobs,nbdev_test',
                    help='comma-separated groups to run (default: all of epoch,ladder,sgd,fetch,knobs,nbdev_test)')
    a = ap.parse_args(argv)
    repeats = a.repeats or (1 if a.quick else 9)
    if not a.quick and repeats < 7: log(f'note: --repeats {repeats} < 7: medians of so few runs are noisy')
    t_start = time.perf_counter()
    torch.set_num_threads(1)
    info = machine()
    d = load_data(quick=a.quick)
    master = master_model()
    log(f'trainkit bench: {info["cpu"]}, {info["cores"]} cores, torch {info["torch"]}, 1 thread, '
        f'{"--quick, " if a.quick else ""}{repeats} interleaved rounds per group, batch size {BS}, lr {LR}')
    log(f'data: {d["name"]} (loaded with {d["loader"]})')

    # first calls pay one-time costs (autograd engine, kernels' lazy init): pay them before any timing
    m = fresh(master); B.hand_train(m, torch.optim.SGD(m.parameters(), lr=LR), d['x'][:BS * 4], d['y'][:BS * 4])
    failed, overhead = None, None
    warmup = 0 if a.quick else 1  # --quick: every path runs, timings don't matter
    try:
        only = set(a.only.split(','))
        if 'epoch' in only: group_epoch(d, master, repeats, warmup)
        if 'ladder' in only: group_ladder(d, master, repeats, warmup)
        if 'sgd' in only: group_sgd(d, master, repeats, warmup, steps=-(-len(d['x']) // BS))
        if 'fetch' in only: group_fetch(d, repeats, warmup)
        if 'knobs' in only:
            # the knobs are information, not goals: 7 rounds (the minimum for a median we trust) keep the run shorter
            overhead = knob_groups(d, master, min(repeats, 7), warmup, a.quick, use_compile=not (a.quick or a.no_compile))
        if 'nbdev_test' in only and not (a.quick or a.no_nbdev_test): nbdev_test_time()
    except Exception:
        failed = traceback.format_exc()
    wall = time.perf_counter() - t_start

    log(f'\ntrainkit benchmark, {datetime.date.today()}, {info["cpu"]} ({info["cores"]} cores), torch {info["torch"]}, '
        f'1 thread; data: {d["name"]}; load average {info["loadavg_start"]} at start, {loadavg()} at end')
    log('times: medians of interleaved rounds; ratio = median over rounds of (contender time / baseline time in the '
        'same round); < 1 means faster than the baseline\n')
    log(table(ROWS))
    if overhead:
        log(f'\nhand loop: {overhead["hand_ms"]:.0f} ms/epoch = arithmetic floor {overhead["floor_ms"]:.0f} ms + '
            f'{overhead["per_step_us"]:.0f} us fixed overhead per step x {overhead["steps"]} steps')
        c = overhead['compile']
        if 'cold_s' in c: log(f'torch.compile: first step (cold compile) {c["cold_s"]:.1f} s')
        else: log(f'torch.compile: {c.get("error") or c.get("skipped")}')
    bad = [c for c in CHECKS if not c['ok']]
    log(f'\nchecks: {len(CHECKS) - len(bad)} ok, {len(bad)} failed' +
        ''.join(f'\n  FAILED: {c["name"]} {c["detail"]}' for c in bad))
    for m in MISSING: log(f'missing: {m}')
    goals = [r for r in ROWS if r.get('key') in GOALS]
    log(f'goals: {sum(bool(r.get("met")) for r in goals)} met, {sum(not r.get("met") for r in goals)} missed/missing'
        f' (of {len(goals)}); wall time {wall:.0f} s')
    if a.json:
        res = dict(date=str(datetime.date.today()), machine=info, dataset=d['name'], data_loader=d['loader'],
                   quick=a.quick, repeats=repeats, knob_repeats=min(repeats, 7), loadavg_end=loadavg(), batch_size=BS, lr=LR, threads=1, wall_s=wall, rows=ROWS,
                   checks=CHECKS, missing=MISSING, overhead=overhead, goals={k: v[2] for k, v in GOALS.items()},
                   command='python -m bench' + (' --quick' if a.quick else ''))
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=1) + '\n')
        log(f'saved {a.json}')
    if failed:
        log('\nthe benchmark broke:\n' + failed)
    if failed or bad or MISSING: sys.exit(1)

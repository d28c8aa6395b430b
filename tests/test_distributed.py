"""Distributed training in real processes: two gloo ranks on this machine against one process, exact resume,
a rank killed with SIGKILL, the CLI under torchrun; the CUDA paths when there is a GPU.

Every launch is `torchrun --standalone` (a free port, 127.0.0.1) or a FileStore, and is bounded by `LAUNCH`."""
import os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest, torch, torch.nn as nn, torch.nn.functional as F

from conftest import ROOT
from trainkit.data import DataLoader, TensorDataset
from trainkit.datasets import mnist_sample, normalize
from trainkit.distributed import DistributedSampler
from trainkit.train import load_checkpoint, set_seed, test_step, train

LAUNCH = 240          # seconds any one launch may take (a loaded 2-core machine needs ~10-30)
N, M = 2000, 1001     # training digits (1,000 a rank) and test digits (odd: the test shares differ)
pytestmark = pytest.mark.slow

# Each rank trains the 784-50-10 MLP with SGD and momentum, 32 samples a step (64 in all), and saves its final
# weights and history to OUT.RANK.pt. argv: epochs, save path, resume path or '', OUT, then 'kill' to have
# rank 1 SIGKILL itself in epoch 2, or 'file:STORE' to join a 2-process group through a FileStore (no torchrun).
SCRIPT = '''
import os, signal, sys, torch, torch.nn as nn, torch.nn.functional as F, torch.distributed as dist
from pathlib import Path
from trainkit.callbacks import Callback
from trainkit.data import DataLoader, TensorDataset
from trainkit.datasets import mnist_sample, normalize
from trainkit.train import train, set_seed
epochs, save, resume, out, *extra = sys.argv[1:]
if extra and extra[0].startswith('file:'):
    os.environ['RANK'] = extra[1]
    dist.init_process_group('gloo', init_method='file://' + extra[0][5:], rank=int(extra[1]), world_size=2)
rank = os.environ['RANK']
Path(f'pid.{rank}').write_text(str(os.getpid()))

class Kill(Callback):
    def after_train_batch(self, s):
        if s.epoch == 2 and s.batch == 3 and rank == '1': os.kill(os.getpid(), signal.SIGKILL)
class Ready(Callback):
    def before_epoch(self, s):
        if s.epoch == 2: Path(f'ready.{rank}').write_text('')

x, y, xt, yt = mnist_sample()
ds, tds = TensorDataset(normalize(x[:%d]), y[:%d]), TensorDataset(normalize(xt[:%d]), yt[:%d])
set_seed(0)
model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
cbs = [Kill()] if 'kill' in extra else [Ready()] if extra else []
h = train(model, DataLoader(ds, batch_size=32, shuffle=True), DataLoader(tds, batch_size=100),
          F.cross_entropy, opt, int(epochs), progress=False, save_path=save or None,
          save_every=1 if save else None, resume=resume or None, callbacks=cbs)
torch.save({'weights': model.state_dict(), 'history': h}, f'{out}.{rank}.pt')
''' % (N, N, M, M)

def launch(cmd, cwd, timeout=LAUNCH):
    "Run `cmd` in `cwd` with this repo's trainkit, within `timeout` s (then stop it and fail). -> CompletedProcess"
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'}
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try: out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.terminate()                                    # torchrun stops its processes when terminated
        try: p.communicate(timeout=30)
        except subprocess.TimeoutExpired: p.kill(); p.communicate()
        pytest.fail(f"{' '.join(map(str, cmd[-6:]))} still ran after {timeout} s: a process hangs")
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)

def torchrun(cwd, *args, timeout=LAUNCH):
    "The training script under `torchrun --standalone`, two processes."
    (cwd/'script.py').write_text(SCRIPT)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=2',
           '--max-restarts=0', 'script.py', *map(str, args)]
    return launch(cmd, cwd, timeout)

def kill_leftovers(folder):
    "SIGKILL every rank started in `folder` (each writes pid.RANK there) that is still alive."
    for f in folder.glob('pid.*'):
        pid = int(f.read_text())
        try: ours = Path(f'/proc/{pid}/cwd').resolve() == folder.resolve()   # not a reused pid
        except OSError: ours = False                                           # gone (or not Linux)
        if ours: os.kill(pid, signal.SIGKILL)

@pytest.fixture(autouse=True)
def reap(tmp_path):
    "After each test, whatever happened, no rank it started lives on."
    yield
    kill_leftovers(tmp_path)

def ok(r):
    assert r.returncode == 0, f"exit status {r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}"
    return r

def data():
    x, y, xt, yt = mnist_sample()
    return TensorDataset(normalize(x[:N]), y[:N]), TensorDataset(normalize(xt[:M]), yt[:M])

def one_process(epochs, resume=None):
    "The same run in this process: batches of 64 in the order the two ranks share. -> (model, history)"
    ds, tds = data()
    set_seed(0)
    model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    dl = DataLoader(ds, batch_size=64, sampler=DistributedSampler(ds, num_replicas=1, rank=0, seed=0))
    h = train(model, dl, DataLoader(tds, batch_size=M), F.cross_entropy, opt, epochs, progress=False,
              verbose=False, resume=resume)
    return model, h

def gap(a, b): return max((a[k] - b[k]).abs().max().item() for k in a)

@pytest.fixture(scope='module')
def two_ranks(tmp_path_factory):
    "Two epochs on two ranks, a checkpoint after each: -> (folder, rank 0's result, rank 1's result)."
    d = tmp_path_factory.mktemp('ddp')
    ok(torchrun(d, 2, d/'ddp.pt', '', d/'final'))
    try: yield d, torch.load(d/'final.0.pt'), torch.load(d/'final.1.pt')
    finally: kill_leftovers(d)

def test_both_ranks_end_equal_and_equal_one_process(two_ranks):
    d, r0, r1 = two_ranks
    assert all(torch.equal(r0['weights'][k], r1['weights'][k]) for k in r0['weights'])
    assert r0['history'] == r1['history']
    model, h = one_process(2)
    assert gap(r0['weights'], model.state_dict()) < 1e-5
    assert r0['history']['test_acc'] == h['test_acc']                        # every test sample once
    for k in ('train_loss', 'train_acc', 'test_loss'):
        assert r0['history'][k] == pytest.approx(h[k], abs=1e-6), k

def test_test_metrics_equal_one_process_evaluation(two_ranks):
    d, r0, _ = two_ranks
    model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
    model.load_state_dict(r0['weights'])
    res = test_step(model, DataLoader(data()[1], batch_size=M), F.cross_entropy)
    assert res['acc'] == r0['history']['test_acc'][-1]
    assert res['loss'] == pytest.approx(r0['history']['test_loss'][-1], abs=1e-6)

def test_rank0_checkpoint_loads_in_one_process_and_resumes(two_ranks):
    d, r0, _ = two_ranks
    ck = load_checkpoint(d/'ddp.pt')
    assert ck['epoch'] == 2 and not any(k.startswith('module.') for k in ck['model'])
    assert all(torch.equal(ck['model'][k], r0['weights'][k]) for k in ck['model'])
    resumed, h = one_process(3, resume=d/'ddp.pt')
    straight, hs = one_process(3)
    assert gap(resumed.state_dict(), straight.state_dict()) < 1e-5 and len(h['test_acc']) == 3

def test_resume_under_ddp_is_exact(two_ranks, tmp_path):
    d, r0, _ = two_ranks
    ok(torchrun(tmp_path, 1, tmp_path/'one.pt', '', tmp_path/'first'))
    r = ok(torchrun(tmp_path, 2, tmp_path/'one.pt', tmp_path/'one.pt', tmp_path/'resumed'))
    assert r.stdout.count('resumed from') == 1                                # printed by rank 0 only
    for rank in (0, 1):
        res = torch.load(tmp_path/f'resumed.{rank}.pt')
        assert all(torch.equal(res['weights'][k], r0['weights'][k]) for k in res['weights'])
        assert res['history'] == r0['history']

def test_a_sigkilled_rank_stops_the_run_and_leaves_the_checkpoint(tmp_path):
    t0 = time.monotonic()
    r = torchrun(tmp_path, 3, tmp_path/'run.pt', '', tmp_path/'final', 'kill', timeout=120)
    took = time.monotonic() - t0
    assert r.returncode != 0 and 'SIGKILL' in r.stderr, r.stderr[-2000:]
    assert took < 120
    assert load_checkpoint(tmp_path/'run.pt')['epoch'] == 1                   # epoch 1's, intact
    assert not list(tmp_path.glob('final.*'))

def test_a_dead_peer_stops_a_group_started_without_torchrun(tmp_path):
    "Two plain processes in a FileStore group: rank 1 is SIGKILLed; rank 0 fails at once, not after a timeout."
    (tmp_path/'script.py').write_text(SCRIPT)
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'}
    cmd = lambda rank: [sys.executable, 'script.py', 50, '', '', 'final', f'file:{tmp_path}/store', rank]
    procs = [subprocess.Popen(list(map(str, cmd(r))), cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    try:
        deadline = time.monotonic() + LAUNCH
        while not (tmp_path/'ready.1').exists():                              # rank 1 is in epoch 2
            if procs[1].poll() is not None: pytest.fail(procs[1].communicate()[1][-2000:])
            if time.monotonic() > deadline: pytest.fail(f"rank 1 not in epoch 2 after {LAUNCH} s")
            time.sleep(0.05)
        procs[1].kill(); t0 = time.monotonic()
        _, err = procs[0].communicate(timeout=60)
        assert procs[0].returncode != 0 and time.monotonic() - t0 < 60
        assert 'by peer' in err, err[-2000:]                                  # gloo: connection closed/reset
    finally:
        for p in procs:
            if p.poll() is None: p.kill()
            p.communicate()

UNEVEN = '''
import os, torch, torch.nn as nn, torch.nn.functional as F
from pathlib import Path
from trainkit.train import train
Path(f"pid.{os.environ['RANK']}").write_text(str(os.getpid()))
x, y = torch.randn(32, 784), torch.randint(0, 10, (32,))
model = nn.Linear(784, 10)
batches = [(x, y)] * (3 + int(os.environ['RANK']))                   # rank 1 has a batch more
train(model, batches, None, F.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1), 1)
'''

def test_unequal_numbers_of_batches_fail_on_every_rank_instead_of_hanging(tmp_path):
    (tmp_path/'uneven.py').write_text(UNEVEN)
    r = launch([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=2',
                'uneven.py'], tmp_path, timeout=120)
    assert r.returncode != 0 and r.stderr.count('DDP needs the same number in each') == 2, r.stderr[-3000:]

def test_cli_under_torchrun_and_with_nproc(tmp_path):
    args = ['--epochs', '1', '--no-progress', '--save']
    a = ok(launch([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=2',
                   '-m', 'trainkit.cli', *args, 'a.pt'], tmp_path))
    b = ok(launch([sys.executable, '-m', 'trainkit.cli', '--nproc', '2', *args, 'b.pt'], tmp_path))
    for r in (a, b):
        assert r.stdout.count('trainkit-train: MLP') == 1 and '2 processes' in r.stdout
        assert r.stdout.count('epoch 1/1') == 1
    ka, kb = load_checkpoint(tmp_path/'a.pt'), load_checkpoint(tmp_path/'b.pt')
    assert all(torch.equal(ka['model'][k], kb['model'][k]) for k in ka['model'])

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU (run bench/gpu.sh there)')

@cuda
@pytest.mark.parametrize('precision', ['bf16', '16-mixed'])
def test_mixed_precision_on_cuda(precision, tmp_path):
    ds, tds = data()
    set_seed(0)
    model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = train(model, DataLoader(ds, batch_size=64, shuffle=True), DataLoader(tds, batch_size=500),
              F.cross_entropy, opt, 2, device='cuda', progress=False, verbose=False, precision=precision,
              save_path=tmp_path/'amp.pt')
    assert h['test_acc'][-1] > 0.8
    scaler = load_checkpoint(tmp_path/'amp.pt')['scaler']
    assert bool(scaler) == (precision == '16-mixed')                            # fp16 saves its scale

@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs 2 CUDA GPUs (run bench/gpu.sh there)')
def test_ddp_on_two_gpus_equals_one_process(tmp_path):
    script = SCRIPT.replace('F.cross_entropy, opt,', "F.cross_entropy, opt, device='cuda',")
    (tmp_path/'script.py').write_text(script)
    ok(launch([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node=2',
               'script.py', '2', '', '', 'final'], tmp_path))
    r0 = torch.load(tmp_path/'final.0.pt', map_location='cpu')
    model, _ = one_process(2)
    assert gap(r0['weights'], model.state_dict()) < 1e-4                     # GPU kernels round differently

"Checkpoints under real faults: SIGKILL mid-save, resuming in a new process, pickled code, a loss that turns nan."
import os, random, signal, time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from conftest import python
from trainkit.train import CheckpointError, load_checkpoint, save_checkpoint, train

def mlp(): return torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))

@pytest.fixture
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)   # fork() and OpenMP's thread pool do not mix
    yield
    torch.set_num_threads(n)

@pytest.mark.slow
def test_sigkill_during_saves_leaves_a_whole_checkpoint(tmp_path, one_thread):
    path, rng, landed = tmp_path/'ck.pt', random.Random(0), 0
    for trial in range(40):
        pid = os.fork()
        if pid == 0:                              # child: save forever; checkpoint i holds weights all equal to i
            try:
                model, i = mlp(), 0
                while True:
                    with torch.no_grad():
                        for p in model.parameters(): p.fill_(i)
                    save_checkpoint(path, model, step=i); i += 1
            finally: os._exit(1)
        time.sleep(rng.uniform(0.02, 0.25))
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
        if not path.exists(): continue            # killed before its first save finished: nothing to lose
        model = mlp(); step = load_checkpoint(path, model)['step']
        assert all(bool((p == step).all()) for p in model.parameters()), f'trial {trial}: a torn checkpoint'
        landed += 1
    assert landed >= 20, f'only {landed} of 40 kills landed after a complete save: the test proved little'
    left = [p.name for p in tmp_path.iterdir() if p != path]
    assert len(left) <= 1, f'killed writers\' temp files pile up: {left}'   # each save removes earlier ones

RUN = '''
import sys, torch, torch.nn.functional as F
from trainkit.datasets import mnist_sample, normalize
from trainkit.data import DataLoader, TensorDataset
from trainkit.train import set_seed, train
epochs, ckpt, resume, out = int(sys.argv[1]), sys.argv[2], sys.argv[3] == 'resume', sys.argv[4]
set_seed(0)
x, y, xt, yt = mnist_sample()
train_dl = DataLoader(TensorDataset(normalize(x[:1000]), y[:1000]), batch_size=64, shuffle=True)
test_dl = DataLoader(TensorDataset(normalize(xt[:500]), yt[:500]), batch_size=250)
model = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
train(model, train_dl, test_dl, F.cross_entropy, opt, epochs, save_path=ckpt, resume=ckpt if resume else None)
torch.save(model.state_dict(), out)
'''

@pytest.mark.slow
def test_resume_in_a_new_process_is_exact(tmp_path):
    for args in [(4, 'straight.pt', 'no', 'a.pt'), (2, 'ck.pt', 'no', 'half.pt'), (4, 'ck.pt', 'resume', 'b.pt')]:
        r = python(RUN, *args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
    a, b, half = (torch.load(tmp_path/f, weights_only=True) for f in ('a.pt', 'b.pt', 'half.pt'))
    assert [k for k in a if not torch.equal(a[k], b[k])] == [], '4 epochs != 2 + save + load in a new process + 2'
    assert any(not torch.equal(a[k], half[k]) for k in a), 'the second half changed nothing: the test proved little'

class Payload:
    "Unpickling this runs os.mkdir(path): what a malicious checkpoint would do."
    def __init__(self, path): self.path = str(path)
    def __reduce__(self): return os.mkdir, (self.path,)

def test_a_pickled_payload_is_refused_without_running(tmp_path):
    ran = tmp_path/'payload-ran'
    torch.save({'trainkit_checkpoint': 1, 'model': {}, 'note': Payload(ran)}, tmp_path/'evil.pt')
    with pytest.raises(CheckpointError): load_checkpoint(tmp_path/'evil.pt')
    assert not ran.exists()

def test_nan_stops_training_and_keeps_the_last_checkpoint(tmp_path):
    torch.manual_seed(0)
    dl = DataLoader(TensorDataset(torch.randn(256, 784), torch.randint(0, 10, (256,))), batch_size=32)
    model, ck = mlp(), tmp_path/'ck.pt'
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, dl, None, F.cross_entropy, opt, 1, save_path=ck)
    saved = ck.read_bytes()
    nan_loss = lambda out, yb: F.cross_entropy(out, yb) * float('nan')
    with pytest.raises(FloatingPointError, match='epoch 2'):
        train(model, dl, None, nan_loss, opt, 3, save_path=ck, resume=ck)
    assert ck.read_bytes() == saved
    fresh = mlp()
    assert load_checkpoint(ck, fresh)['epoch'] == 1 and all(bool(p.isfinite().all()) for p in fresh.parameters())

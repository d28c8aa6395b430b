"""trainkit's contenders: its DataLoader, SGD and train, used the way the course teaches them."""
import torch
import torch.nn.functional as F

from trainkit.data import DataLoader, TensorDataset
from trainkit.module import Linear, ReLU
from trainkit.optimizer import SGD
from trainkit.sequential import Sequential
from trainkit.train import train

from .common import BS, LR

def loader(x, y, bs=BS, shuffle=True): return DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=shuffle)

def sgd(params, **kw): return SGD(params, **{'lr': LR, **kw})

def train_epoch(model, x, y, xt, yt, bs=BS):
    "One epoch of `train`: trainkit's shuffled DataLoader and SGD, metrics, the progress bar (into run.case's devnull)."
    return train(model, loader(x, y, bs), loader(xt, yt, bs, False), F.cross_entropy, sgd(model.parameters()), 1,
                 progress=True)

def train_epoch_sched(model, x, y, xt, yt, bs=BS):
    "`train_epoch` plus a OneCycle schedule stepped every batch (`scheduler=`, `scheduler_interval='batch'`)."
    from trainkit.schedule import OneCycleLR
    train_dl, opt = loader(x, y, bs), sgd(model.parameters())
    sched = OneCycleLR(opt, max_lr=LR, total_steps=len(train_dl), cycle_momentum=False)   # plain SGD still
    return train(model, train_dl, loader(xt, yt, bs, False), F.cross_entropy, opt, 1, progress=True,
                 scheduler=sched, scheduler_interval='batch')

def own_model(master):
    "trainkit's Sequential(Linear, ReLU, Linear) holding a copy of `master`'s numbers."
    model = Sequential(Linear(784, 50), ReLU(), Linear(50, 10))
    with torch.no_grad():
        for p, q in zip(model.parameters(), master.parameters(), strict=True): p.copy_(q)
    return model

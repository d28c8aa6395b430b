"""trainkit's contenders. Imports are lazy so the baselines still run (and say what is missing) while a module is absent."""
import importlib

import torch
import torch.nn.functional as F

from .common import BS, LR, Sink


def need(module):
    "Import trainkit.`module`, or raise ImportError naming it (the run reports the row as missing and exits 1)."
    try: return importlib.import_module(f'trainkit.{module}')
    except ImportError as e: raise ImportError(f'trainkit.{module} is not importable ({e})') from e


def loader(x, y, bs=BS, shuffle=True):
    d = need('data')
    return d.DataLoader(d.TensorDataset(x, y), batch_size=bs, shuffle=shuffle)


def sgd(params, **kw): return need('optimizer').SGD(params, **{'lr': LR, **kw})


def train_epoch(model, x, y, xt, yt, bs=BS):
    "One epoch of trainkit.train.train: trainkit DataLoader (shuffle), trainkit SGD, metrics, progress bar to devnull."
    t = need('train')
    train_dl, test_dl = loader(x, y, bs, True), loader(xt, yt, bs, False)
    with Sink():
        return t.train(model, train_dl, test_dl, F.cross_entropy, sgd(model.parameters()), epochs=1, progress=True)


def own_model(master):
    "trainkit's Sequential(Linear, ReLU, Linear) holding a copy of `master`'s numbers (information row)."
    m, s = need('module'), need('sequential')
    model = s.Sequential(m.Linear(784, 50), m.ReLU(), m.Linear(50, 10))
    with torch.no_grad():
        for (n1, p1), (n2, p2) in zip(model.named_parameters(), master.named_parameters(), strict=True):
            if n1 != n2 or p1.shape != p2.shape: raise ValueError(f'trainkit model parameter {n1} {tuple(p1.shape)} '
                                                                  f'does not match torch\'s {n2} {tuple(p2.shape)}')
            p1.copy_(p2)
    return model

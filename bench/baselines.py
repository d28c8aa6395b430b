"""The torch contenders trainkit is measured against, and the CPU "knobs" the Performance page discusses.

Every contender uses `F.cross_entropy` and a copy of the same seeded 784-50-10 MLP, so only the loop differs."""
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from .common import BS, LR

def hand_train(model, opt, x, y, bs=BS):
    "The fastest honest loop: slice the pre-built tensors in order; no shuffle, no metrics, no bar."
    model.train()
    for i in range(0, len(x), bs):
        loss = F.cross_entropy(model(x[i:i + bs]), y[i:i + bs])
        loss.backward()
        opt.step()
        opt.zero_grad()

def hand_eval(model, xt, yt, bs=BS):
    "The test pass by slicing under no_grad: loss and accuracy summed as tensors, one `.item()` each at the end."
    model.eval()
    loss, correct = torch.zeros(()), torch.zeros((), dtype=torch.long)
    with torch.no_grad():
        for i in range(0, len(xt), bs):
            out, yb = model(xt[i:i + bs]), yt[i:i + bs]
            loss += F.cross_entropy(out, yb, reduction='sum')
            correct += (out.argmax(1) == yb).sum()
    return loss.item() / len(xt), correct.item() / len(xt)

def hand_epoch(model, x, y, xt, yt, bs=BS):
    "One epoch of the hand-written loop (`torch.optim.SGD`) plus the test pass `train()` also does."
    hand_train(model, torch.optim.SGD(model.parameters(), lr=LR), x, y, bs)
    return hand_eval(model, xt, yt, bs)

def loader_train(model, dl, opt=None):
    "The hand-written training step fed by a DataLoader `dl` (`opt`: default torch.optim.SGD)."
    opt = opt or torch.optim.SGD(model.parameters(), lr=LR)
    model.train()
    for xb, yb in dl:
        loss = F.cross_entropy(model(xb), yb)
        loss.backward(); opt.step(); opt.zero_grad()

# The shape of going_modular/engine.py from the learnpytorch.io course (train_step / test_step / train): torch
# DataLoader(shuffle=True), per-batch `.item()` of the loss and of the accuracy, argmax(softmax), model.train()/eval(),
# torch.inference_mode() for the test pass, torch.optim.SGD, zero_grad before backward, a print per epoch.
def lp_train_step(model, dataloader, loss_fn, optimizer, device='cpu', scheduler=None):
    model.train()
    train_loss, train_acc = 0, 0
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        y_pred = model(X)
        loss = loss_fn(y_pred, y)
        train_loss += loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None: scheduler.step()          # per batch (bench/cnn_record.py's OneCycle)
        y_pred_class = torch.argmax(torch.softmax(y_pred, dim=1), dim=1)
        train_acc += (y_pred_class == y).sum().item() / len(y_pred)
    return train_loss / len(dataloader), train_acc / len(dataloader)

def lp_test_step(model, dataloader, loss_fn, device='cpu'):
    model.eval()
    test_loss, test_acc = 0, 0
    with torch.inference_mode():
        for batch, (X, y) in enumerate(dataloader):
            X, y = X.to(device), y.to(device)
            test_pred_logits = model(X)
            loss = loss_fn(test_pred_logits, y)
            test_loss += loss.item()
            test_pred_labels = test_pred_logits.argmax(dim=1)
            test_acc += (test_pred_labels == y).sum().item() / len(test_pred_labels)
    return test_loss / len(dataloader), test_acc / len(dataloader)

def lp_train(model, train_dataloader, test_dataloader, optimizer, loss_fn, epochs, device='cpu'):
    results = {'train_loss': [], 'train_acc': [], 'test_loss': [], 'test_acc': []}
    for epoch in range(epochs):
        train_loss, train_acc = lp_train_step(model, train_dataloader, loss_fn, optimizer, device)
        test_loss, test_acc = lp_test_step(model, test_dataloader, loss_fn, device)
        print(f'Epoch: {epoch + 1} | train_loss: {train_loss:.4f} | train_acc: {train_acc:.4f} | '
              f'test_loss: {test_loss:.4f} | test_acc: {test_acc:.4f}')
        for k, v in zip(results, (train_loss, train_acc, test_loss, test_acc)): results[k].append(v)
    return results

def lp_epoch(model, x, y, xt, yt, bs=BS):
    "One epoch of the learnpytorch-style engine, loaders built the way the course builds them."
    train_dl = DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=True)
    test_dl = DataLoader(TensorDataset(xt, yt), batch_size=bs, shuffle=False)
    return lp_train(model, train_dl, test_dl, torch.optim.SGD(model.parameters(), lr=LR), F.cross_entropy, 1)

def fetch(x, y, bs=BS, index_select=False):
    "Shuffle the cheapest way: one randperm, then index a batch of rows per step. -> samples seen."
    perm, n = torch.randperm(len(x)), 0
    for i in range(0, len(x), bs):
        idx = perm[i:i + bs]
        xb, yb = (x.index_select(0, idx), y.index_select(0, idx)) if index_select else (x[idx], y[idx])
        n += len(xb)
    return n

def fetch_loader(dl):
    "Iterate one epoch of a loader, touching each batch. -> samples seen."
    return sum(len(xb) for xb, yb in dl)

def torch_loader(x, y, bs=BS, **kw):
    "torch's default shuffled loader over a TensorDataset (per-item __getitem__ + default_collate)."
    return DataLoader(TensorDataset(x, y), batch_size=bs, shuffle=True, **kw)

def hand_update(params, lr=LR):
    "The bare SGD update without torch.optim: `p -= lr * p.grad`, in place, then `p.grad = None`."
    with torch.no_grad():
        for p in params: p.add_(p.grad, alpha=-lr); p.grad = None

def steps(opt, params, grads):
    "For each set of grads: set `.grad`, then `opt.step(); opt.zero_grad()` (`opt=None`: the hand update)."
    for gs in grads:
        for p, g in zip(params, gs): p.grad = g
        if opt is not None: opt.step(); opt.zero_grad()
        else: hand_update(params)

def knob_train(model, x, y, bs=BS, *, shuffle=False, item=False, bar=None, sgd='torch', autocast=False, fwd=None):
    "The hand-written training epoch with one knob turned (see run.group_knobs); `bar` is a trainkit ProgressBar."
    opt = torch.optim.SGD(model.parameters(), lr=LR) if sgd == 'torch' else None
    params, fwd = list(model.parameters()), fwd or model
    perm = torch.randperm(len(x)) if shuffle else None
    s = SimpleNamespace(epoch=0, phase='train', batch=0, n_batches=-(-len(x) // bs), loss=None, is_main=True)
    if bar is not None: bar.before_train(s)
    tl, ta = 0.0, 0.0
    model.train()
    for step, i in enumerate(range(0, len(x), bs), 1):
        if shuffle == 'index_select': idx = perm[i:i + bs]; xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        elif shuffle: idx = perm[i:i + bs]; xb, yb = x[idx], y[idx]
        else: xb, yb = x[i:i + bs], y[i:i + bs]
        if autocast:
            with torch.autocast('cpu', dtype=torch.bfloat16): out = fwd(xb); loss = F.cross_entropy(out, yb)
        else: out = fwd(xb); loss = F.cross_entropy(out, yb)
        loss.backward()
        if opt is not None: opt.step(); opt.zero_grad()
        else: hand_update(params)
        if item: tl += loss.item(); ta += (out.argmax(1) == yb).float().mean().item()
        if bar is not None: s.batch, s.loss = step, loss.detach(); bar.after_train_batch(s)
    if bar is not None: bar.after_train(s)
    return tl, ta

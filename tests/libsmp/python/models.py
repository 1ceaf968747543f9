"""Models of the Python equivalence tests, with a manual partition for any pipeline degree.

mlp      a chain (nn.Sequential)
cnn      convolutions, pooling, flatten, linear
nonchain the root forward is not a chain: a residual across stages, keyword arguments, tuple and
         dict outputs, a ModuleList inside a ModuleDict, one block called twice (its stage is
         visited twice) and a module that calls a child placed on another stage (nested requests)
tied     an embedding whose weight the output projection shares (tied weights)
"""

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = nn.Linear(d, d)

    def forward(self, x, *, gate=None):
        y = torch.tanh(self.lin(x))
        if gate is not None:
            y = y * gate
        return y, y.mean(dim=1)


class Head(nn.Module):
    def __init__(self, d, out):
        super().__init__()
        self.proj = nn.Linear(d, d)   # placed on another stage than the head: a nested call
        self.lin = nn.Linear(d, out)

    def forward(self, x):
        h = torch.relu(self.proj(x)) + x
        return {"logits": self.lin(h), "aux": (h.sum(), [h.mean()])}


class NonChain(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 16)
        self.blocks = nn.ModuleDict({"enc": nn.ModuleList([Block(16), Block(16)]),
                                     "dec": nn.ModuleList([Block(16)])})
        self.head = Head(16, 4)

    def forward(self, x, scale=1.0):
        h = self.inp(x)
        for block in self.blocks["enc"]:
            y, _ = block(h, gate=torch.sigmoid(h))
            h = y + h * scale                       # residual across stages
        again, m = self.blocks["enc"][0](h)         # the same block (and stage) again
        d, _ = self.blocks["dec"][0](again + m.unsqueeze(1))
        out = self.head(d + h)
        return out["logits"] + 0.0 * out["aux"][0]


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 16)
        self.body = nn.Sequential(nn.Linear(16, 16), nn.Tanh())
        self.out = nn.Linear(16, 20, bias=False)
        self.out.weight = self.emb.weight

    def forward(self, idx):
        return self.out(self.body(self.emb(idx))).mean(dim=1)


def mlp():
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                         nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 16), nn.ReLU(),
                         nn.Linear(16, 10))


BUILDERS = {"mlp": mlp, "cnn": cnn, "nonchain": NonChain, "tied": Tied}


def manual_partition(name, model, pp, set_partition):
    """Spreads the model over pp stages by hand (every stage gets work where the model allows)."""
    if name in ("mlp", "cnn"):
        layers = list(model.children())
        for i, layer in enumerate(layers):
            set_partition(layer, min(pp - 1, i * pp // len(layers)))
    elif name == "nonchain":
        set_partition(model.inp, 0)
        set_partition(model.blocks["enc"][0], 1 % pp)
        set_partition(model.blocks["enc"][1], 2 % pp)
        set_partition(model.blocks["dec"][0], 3 % pp)
        set_partition(model.head, pp - 1)
        set_partition(model.head.proj, 0)
    elif name == "tied":
        set_partition(model.emb, 0)
        set_partition(model.body, (pp - 1) if pp > 1 else 0)
        set_partition(model.out, 0)               # shares emb's weight: same stage


def data(name, steps, batch):
    g = torch.Generator().manual_seed(1234)
    if name == "cnn":
        x = torch.randn(steps, batch, 1, 8, 8, generator=g)
        y = torch.randint(0, 10, (steps, batch), generator=g)
    elif name == "tied":
        x = torch.randint(0, 20, (steps, batch, 5), generator=g)
        y = torch.randint(0, 20, (steps, batch), generator=g)
    else:
        x = torch.randn(steps, batch, 8, generator=g)
        y = torch.randn(steps, batch, 4, generator=g)
    return x, y


def loss_fn(name, out, y):
    if name in ("cnn", "tied"):
        return F.cross_entropy(out, y)
    return F.mse_loss(out, y)


def forward(name, model, x):
    return model(x, scale=0.5) if name == "nonchain" else model(x)

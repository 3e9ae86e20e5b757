"""SGD with momentum, dampening, Nesterov and weight decay, in PyTorch's order of operations."""
import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer


class SGD(Optimizer):
    """p -= lr * d, where d is the (momentum-averaged, optionally Nesterov) gradient."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, p, g, group):
        x, lr, wd, mu = p.array, float(group["lr"]), group["weight_decay"], group["momentum"]
        # d is the direction; `own` says it is our temporary, free to overwrite (g is the user's).
        if wd:
            d = x * wd                                        # wd * p + (-)g, as grad.add(p)
            (np.subtract if group["maximize"] else np.add)(d, g, out=d)
        else:
            d = np.negative(g) if group["maximize"] else g
        own = d is not g
        if mu:
            state = self.state[p]
            buf = state.get("momentum_buffer")
            if buf is None:                                   # the first step takes d as is
                b = d if own else d.copy()
                state["momentum_buffer"] = Tensor._make(b)
                own = False
            else:
                b = buf.array
                b *= mu
                damp = group["dampening"]
                b += (1 - damp) * d if damp else d
            if group["nesterov"]:
                d, own = np.add(d, mu * b, out=d if own else None), True
            else:
                d, own = b, False
        if own:
            d *= lr
            x -= d
        else:
            x -= lr * d

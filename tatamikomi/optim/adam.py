"""Adam and AdamW (Kingma & Ba, 2015; Loshchilov & Hutter, 2019), as PyTorch's CPU path."""
import math

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer


def _check(lr, betas, eps, weight_decay):
    if lr < 0.0:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """Moment estimates with bias correction; weight_decay adds wd * p to the gradient (L2)."""

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=None):
        _check(lr, betas, eps, weight_decay)
        decoupled = self.decoupled if decoupled_weight_decay is None else decoupled_weight_decay
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable,
                                      fused=fused, decoupled_weight_decay=decoupled))

    def _update(self, p, g, group, state):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        x = p.array
        if not state:
            state["step"] = Tensor._make(np.zeros((), np.float32))
            state["exp_avg"] = Tensor._make(np.zeros_like(x))
            state["exp_avg_sq"] = Tensor._make(np.zeros_like(x))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = Tensor._make(np.zeros_like(x))
        g = -g if group["maximize"] else g
        if wd and group["decoupled_weight_decay"]:
            x *= 1 - lr * wd                                  # AdamW: decay the weights directly
        elif wd:
            g = g + wd * x
        state["step"].array += 1
        step = float(state["step"].array)
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        m += (1 - b1) * (g - m)                               # lerp toward g, as PyTorch
        v *= b2
        v += (1 - b2) * g * g
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"].array, v, out=state["max_exp_avg_sq"].array)
            v = state["max_exp_avg_sq"].array
        # The order matters for float32 parity: sqrt(v) / sqrt(1 - b2^t) + eps, then
        # p -= (lr / (1 - b1^t)) * m / denom.
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - b2 ** step)
        denom += eps
        x -= (lr / (1 - b1 ** step)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * wd before the Adam step."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, **kwargs):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)

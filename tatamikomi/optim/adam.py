"""Adam and AdamW (Kingma & Ba, 2015; Loshchilov & Hutter, 2019), as PyTorch's CPU path."""
import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer


class Adam(Optimizer):
    """Bias-corrected moment estimates; weight_decay adds wd * p to the gradient (L2)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not all(isinstance(b, float) for b in betas[:2]) and \
                not all(isinstance(b, Tensor) for b in betas[:2]):
            raise ValueError("betas must be either both floats or both Tensors")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:           # checkpoints from before these options
            for name in ("amsgrad", "maximize", "capturable", "differentiable",
                         "decoupled_weight_decay"):
                group.setdefault(name, False)
            group.setdefault("foreach", None)
            group.setdefault("fused", None)
            for p in group["params"]:             # and from when `step` was a float
                s = self.state.get(p)
                if s and not isinstance(s["step"], Tensor):
                    s["step"] = Tensor._make(np.array(s["step"], np.float32))

    def _update(self, p, g, group):
        x, lr, eps, wd = p.array, float(group["lr"]), group["eps"], group["weight_decay"]
        b1, b2 = map(float, group["betas"])
        state = self.state[p]
        if not state:
            state["step"] = Tensor._make(np.zeros((), np.float32))     # float32, as PyTorch
            state["exp_avg"] = Tensor._make(np.zeros_like(x))
            state["exp_avg_sq"] = Tensor._make(np.zeros_like(x))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = Tensor._make(np.zeros_like(x))
        if group["maximize"]:
            g = np.negative(g)
        if wd and group["decoupled_weight_decay"]:
            x *= 1 - lr * wd                              # AdamW: decay p itself, before Adam
        elif wd:
            decay = x * wd
            g = np.add(decay, g, out=decay)                   # g + wd * p, one new array
        state["step"].array += 1
        t = float(state["step"].array)
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        tmp = np.subtract(g, m)                           # the one scratch array of the step
        tmp *= 1 - b1
        m += tmp                                          # m.lerp_(g, 1 - b1)
        v *= b2
        np.multiply(g, 1 - b2, out=tmp)
        tmp *= g
        v += tmp                                          # v.mul_(b2).addcmul_(g, g, 1 - b2)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"].array, v, out=state["max_exp_avg_sq"].array)
            v = state["max_exp_avg_sq"].array
        # PyTorch's order: denom = sqrt(v) / sqrt(1 - b2^t) + eps, so eps is not bias-corrected;
        # then p -= lr / (1 - b1^t) * m / denom.
        np.sqrt(v, out=tmp)
        tmp /= (1 - b2 ** t) ** 0.5
        tmp += eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / (1 - b1 ** t)
        x -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * wd before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True

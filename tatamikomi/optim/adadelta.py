"""Adadelta (Zeiler, 2012), in the operation order of PyTorch's single-tensor CPU path."""
import numpy as np

from .optimizer import Optimizer, _check_lr, _step_counter, _upgrade_steps


class Adadelta(Optimizer):
    """Each step is lr * RMS(past updates) / RMS(gradients) * gradient: units that match p's."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, capturable=capturable, foreach=foreach,
                                      differentiable=differentiable))

    def __setstate__(self, state):
        super().__setstate__(state)
        _upgrade_steps(self, foreach=None, maximize=False, differentiable=False,
                       capturable=False)

    def _update(self, p, g, group):
        x, rho, eps, wd = p.array, group["rho"], group["eps"], group["weight_decay"]
        state = self.state[p]
        if not state:
            state["step"] = _step_counter()
            state["square_avg"] = p._make(np.zeros_like(x))
            state["acc_delta"] = p._make(np.zeros_like(x))
        state["step"].array += 1
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * x                                   # grad.add(p, alpha=wd)
        square_avg, acc_delta = state["square_avg"].array, state["acc_delta"].array
        square_avg *= rho
        square_avg += (1 - rho) * g * g                      # addcmul: value * t1 * t2
        delta = acc_delta + eps
        delta **= 0.5
        delta /= (square_avg + eps) ** 0.5
        delta *= g
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        x += -float(group["lr"]) * delta                     # add_(delta, alpha=-lr)

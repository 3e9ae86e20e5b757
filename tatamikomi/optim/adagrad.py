"""Adagrad (Duchi, Hazan & Singer, 2011), as PyTorch's single-tensor CPU path."""
import numpy as np

from .optimizer import Optimizer, _check_lr, _step_counter, _upgrade_steps


class Adagrad(Optimizer):
    """Divide each step by the root of the sum of all squared gradients so far."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, fused=fused))
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        # PyTorch fills the state here, so state_dict() lists every parameter before any step.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def __setstate__(self, state):
        super().__setstate__(state)
        _upgrade_steps(self, foreach=None, maximize=False, differentiable=False, fused=None)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = _step_counter()
        state["sum"] = p._make(np.full_like(p.array, self.defaults["initial_accumulator_value"]))

    def _update(self, p, g, group):
        x, wd = p.array, group["weight_decay"]
        if not self.state[p]:                      # a group added after construction
            self._init_state(p)
        state = self.state[p]
        state["step"].array += 1
        step = float(state["step"].array)
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * x
        clr = float(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        total = state["sum"].array
        total += g * g                                       # addcmul_(g, g, value=1)
        std = np.sqrt(total)
        std += group["eps"]
        x += -clr * (g / std)                                # addcdiv_(g, std, value=-clr)

"""RMSprop (Hinton's lecture 6e, 2012; centered: Graves, 2013), as PyTorch's CPU path."""
import numpy as np

from .optimizer import Optimizer, _check_lr, _lerp, _step_counter, _upgrade_steps


class RMSprop(Optimizer):
    """Divide the gradient by a running RMS of past gradients (less their mean if centered)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      capturable=capturable, foreach=foreach, maximize=maximize,
                                      differentiable=differentiable))

    def __setstate__(self, state):
        super().__setstate__(state)
        _upgrade_steps(self, momentum=0, centered=False, foreach=None, maximize=False,
                       differentiable=False, capturable=False)

    def _update(self, p, g, group):
        x, alpha, eps, wd = p.array, group["alpha"], group["eps"], group["weight_decay"]
        momentum, lr = group["momentum"], float(group["lr"])
        state = self.state[p]
        if not state:
            state["step"] = _step_counter()
            state["square_avg"] = p._make(np.zeros_like(x))
            if momentum > 0:
                state["momentum_buffer"] = p._make(np.zeros_like(x))
            if group["centered"]:
                state["grad_avg"] = p._make(np.zeros_like(x))
        state["step"].array += 1
        if group["maximize"]:
            g = -g
        if wd:
            g = g + wd * x
        square_avg = state["square_avg"].array
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if group["centered"]:
            grad_avg = state["grad_avg"].array
            _lerp(grad_avg, g, 1 - alpha)
            avg = np.sqrt(square_avg + -1 * grad_avg * grad_avg)   # the variance's square root
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"].array
            buf *= momentum
            buf += g / avg                                   # addcdiv_(g, avg), value 1
            x += -lr * buf
        else:
            x += -lr * (g / avg)                             # addcdiv_(g, avg, value=-lr)

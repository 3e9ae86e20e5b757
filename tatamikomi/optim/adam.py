"""Adam and AdamW (Kingma & Ba, 2015; Loshchilov & Hutter, 2019), as PyTorch's CPU path."""
import numpy as np

from ..kernels._jit import njit, split_flat
from ..tensor import Tensor
from .optimizer import Optimizer

# Parameters from this many elements update on all cores (ms, float32, serial / parallel):
# 401,408 (the chapter's fc1) 0.96 / 0.58, 18,432 0.045 / 0.10, 2,048 0.005 / 0.09.
PARALLEL_MIN = 1 << 17


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
        state["step"].array += 1
        t = float(state["step"].array)
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        vmax = state["max_exp_avg_sq"].array if group["amsgrad"] else v
        # The scalars as the float32 (or float64) that PyTorch's kernels multiply by.
        decay = 1 - lr * wd if group["decoupled_weight_decay"] else 1.0
        l2 = 0.0 if group["decoupled_weight_decay"] else wd
        c = np.array([decay, l2, 1 - b1, b2, 1 - b2, (1 - b2 ** t) ** 0.5, eps,
                      lr / (1 - b1 ** t)], x.dtype)
        if _fusable(x, g, m, v, vmax):
            loop = _adam_fused_par if x.size >= PARALLEL_MIN else _adam_fused
            loop(x.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), vmax.reshape(-1), c,
                 group["maximize"], group["amsgrad"])
        else:
            _adam_numpy(x, g, m, v, vmax, c, group["maximize"], group["amsgrad"])


def _fusable(x, g, *state):
    """The fused loop takes flat float32/float64 arrays of one dtype, written in place."""
    return x.dtype in (np.float32, np.float64) and all(
        a.dtype == x.dtype and a.flags.c_contiguous and a.shape == x.shape for a in (x, g, *state))


def _adam_numpy(x, g, m, v, vmax, c, maximize, amsgrad):
    """One Adam step on whole arrays, in place; the reference the fused loop must equal.

    c: (decay, l2, 1 - b1, b2, 1 - b2, sqrt(1 - b2^t), eps, lr / (1 - b1^t)) in x's dtype.
    Shapes: every array (*), the same.
    """
    decay, l2, w1, b2, w2, bc2, eps, step_size = c
    if maximize:
        g = np.negative(g)
    if decay != 1:
        x *= decay                                        # AdamW: decay p itself, before Adam
    if l2:
        g = x * l2 + g                                    # L2: g + wd * p
    tmp = np.subtract(g, m)                               # the one scratch array of the step
    tmp *= w1
    m += tmp                                              # m.lerp_(g, 1 - b1)
    v *= b2
    np.multiply(g, w2, out=tmp)
    tmp *= g
    v += tmp                                              # v.mul_(b2).addcmul_(g, g, 1 - b2)
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        v = vmax
    # PyTorch's order: denom = sqrt(v) / sqrt(1 - b2^t) + eps, so eps is not bias-corrected;
    # then p -= lr / (1 - b1^t) * m / denom.
    np.sqrt(v, out=tmp)
    tmp /= bc2
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= step_size
    x -= tmp


@njit
def _adam_at(i, x, g, m, v, vmax, decay, l2, w1, b2, w2, bc2, eps, step_size, maximize, amsgrad):
    """One element of _adam_numpy, operation for operation (so bit for bit)."""
    gi = -g[i] if maximize else g[i]
    xi = x[i] * decay if decay != 1 else x[i]
    if l2 != 0:
        gi = xi * l2 + gi
    mi = m[i] + (gi - m[i]) * w1
    vi = v[i] * b2 + gi * w2 * gi
    m[i], v[i] = mi, vi
    if amsgrad:
        vi = vmax[i] if vmax[i] >= vi or vmax[i] != vmax[i] else vi   # NaN wins, as maximum
        vmax[i] = vi
    x[i] = xi - mi / (np.sqrt(vi) / bc2 + eps) * step_size


@njit
def _adam_fused(x, g, m, v, vmax, c, maximize, amsgrad):
    """_adam_numpy in one pass over the arrays: the NumPy form makes 13 passes over them.

    Shapes: every array (n,), c (8,)."""
    decay, l2, w1, b2, w2, bc2, eps, step_size = c
    for i in range(x.size):
        _adam_at(i, x, g, m, v, vmax, decay, l2, w1, b2, w2, bc2, eps, step_size, maximize,
                 amsgrad)


# For big parameters, all threads on contiguous pieces: the pass is memory-bound, and one core
# reads and writes 7 arrays at about half the machine's bandwidth. split_flat reuses the
# compiled _adam_fused, where a prange copy compiled the loop again (twice) on a cold cache.
_adam_fused_par = split_flat(_adam_fused)


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

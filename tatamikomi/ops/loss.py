"""Softmax family and losses, fused where the pair is numerically better together."""
import numpy as np

from ..autograd import Function


def _log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    def forward(self, x, *, axis):
        y = _log_softmax(x, axis)
        self.axis = axis
        self.save_for_backward(y)
        return y

    # d/dx log softmax: gx = gy - softmax * sum(gy)
    def backward(self, gy):
        y = self.saved[0]
        return gy - np.exp(y) * gy.sum(axis=self.axis, keepdims=True)


class Softmax(Function):
    def forward(self, x, *, axis):
        z = np.exp(x - x.max(axis=axis, keepdims=True))
        y = z / z.sum(axis=axis, keepdims=True)
        self.axis = axis
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        y = self.saved[0]
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class NLLLoss(Function):
    """-logp[target], weighted; mean divides by the total weight of counted targets.

    Shapes: logp (N, C, *), target (N, *) int64 -> () or (N, *) for reduction='none'.
    """

    def forward(self, logp, *, target, weight, ignore_index, reduction):
        C = logp.shape[1]
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        w = (np.ones(C, logp.dtype) if weight is None else weight)[safe] * valid
        picked = np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        loss = -picked * w
        self.shape, self.safe, self.w, self.reduction = logp.shape, safe, w, reduction
        if reduction == "none":
            return loss.astype(logp.dtype)
        if reduction == "sum":
            return np.asarray(loss.sum(), logp.dtype)
        self.total = w.sum()
        return np.asarray(loss.sum() / self.total, logp.dtype)   # 0/0 = nan, as PyTorch

    def backward(self, gy):
        g = -self.w.astype(gy.dtype)
        if self.reduction == "none":
            g = g * gy
        else:
            g = g * gy if self.reduction == "sum" else g * (gy / self.total)
        gx = np.zeros(self.shape, gy.dtype)
        np.put_along_axis(gx, self.safe[:, None], g[:, None], axis=1)
        return gx

    def name(self):                     # PyTorch's spatial kernel runs for any (N, C, d1, ..)
        return "NllLoss2DBackward0" if len(self.shape) > 2 else "NllLossBackward0"


class CrossEntropy(Function):
    """log_softmax + NLL in one node for plain class targets: gx = (softmax - onehot) / N.

    Shapes: x (N, C), target (N,) int64 -> ().
    """

    def forward(self, x, *, target):
        logp = _log_softmax(x, 1)
        N = x.shape[0]
        self.save_for_backward(logp)
        self.target = target
        return np.asarray(-logp[np.arange(N), target].sum() / N, x.dtype)

    def backward(self, gy):
        logp = self.saved[0]
        N = logp.shape[0]
        gx = np.exp(logp)
        gx[np.arange(N), self.target] -= 1
        gx *= gy / N
        return gx

    def name(self):                     # PyTorch's cross_entropy ends in its NLL node
        return "NllLossBackward0"


# ----- element-wise losses: one row each, loss(x, t, p) and its derivative (dx, dt), then
# reduced in the same node, as PyTorch's MseLoss, SmoothL1Loss, HuberLoss and BinaryCrossEntropy
# nodes do. p carries the options (beta, delta) and the constant weights.

def _c(v, x):
    return np.asarray(v, x.dtype)


def _mse(x, t, p):
    return np.square(x - t)


def _mse_grad(x, t, p):
    d = 2 * (x - t)
    return d, -d


def _smooth_l1(x, t, p):                # quadratic inside |x - t| < beta, linear outside
    z, beta = np.abs(x - t), _c(p["beta"], x)
    return np.where(z < beta, _c(0.5, x) * z * z / beta, z - _c(0.5, x) * beta)


def _smooth_l1_grad(x, t, p):
    d, beta = x - t, _c(p["beta"], x)
    g = np.where(d <= -beta, _c(-1, x), np.where(d >= beta, _c(1, x), d / beta))
    return g, -g


def _huber(x, t, p):                    # smooth_l1 scaled by delta: quadratic part unscaled
    z, delta = np.abs(x - t), _c(p["delta"], x)
    return np.where(z < delta, _c(0.5, x) * z * z, delta * (z - _c(0.5, x) * delta))


def _huber_grad(x, t, p):
    d, delta = x - t, _c(p["delta"], x)
    g = np.where(d <= -delta, -delta, np.where(d >= delta, delta, d))
    return g, -g


def _weighted(fn):
    def run(x, t, p):
        out = fn(x, t, p)
        w = p.get("weight")
        if w is None:
            return out
        return tuple(o * w for o in out) if isinstance(out, tuple) else out * w
    return run


def _bce(x, t, p):
    # PyTorch clamps each log at -100, so a 0 or 1 input gives a finite loss
    lx = np.maximum(np.log(x), _c(-100, x))
    l1x = np.maximum(np.log1p(-x), _c(-100, x))
    return -(t * lx + (1 - t) * l1x)


def _bce_grad(x, t, p):
    # PyTorch's floor on the denominator is 1e-12 rounded to float32, in float64 too
    dx = (x - t) / np.maximum((1 - x) * x, _c(np.float32(1e-12), x))
    dt = np.log1p(-x) - np.log(x)                  # unclamped in PyTorch: inf at 0 and 1
    return dx, dt


def _bce_logits(x, t, p):
    # (1 - t) x + lw * softplus(-x), lw = 1 + (pos_weight - 1) t, softplus in a stable form
    sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
    pw = p.get("pos_weight")
    lw = 1 if pw is None else 1 + (pw - 1) * t
    return (1 - t) * x + lw * sp


def _bce_logits_grad(x, t, p):
    s = 1 / (1 + np.exp(-x))
    pw = p.get("pos_weight")
    if pw is None:
        return s - t, -x
    sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
    return (1 + (pw - 1) * t) * s - pw * t, -x + (pw - 1) * sp


POINTWISE = {
    "mse": (_mse, _mse_grad, "MseLossBackward0"),
    "smooth_l1": (_smooth_l1, _smooth_l1_grad, "SmoothL1LossBackward0"),
    "huber": (_huber, _huber_grad, "HuberLossBackward0"),
    "bce": (_weighted(_bce), _weighted(_bce_grad), "BinaryCrossEntropyBackward0"),
    "bce_logits": (_weighted(_bce_logits), _weighted(_bce_logits_grad),
                   "BinaryCrossEntropyWithLogitsBackward0"),
}


class PointwiseLoss(Function):
    """One row of POINTWISE, then the reduction. Shapes: x, t (*) -> () or (*) for 'none'."""

    def forward(self, x, t, *, fn, reduction, params):
        self.row, self.params, self.reduction = POINTWISE[fn], params, reduction
        self.save_for_backward(x, t)
        with np.errstate(all="ignore"):
            loss = np.asarray(self.row[0](x, t, params), x.dtype)
        if reduction == "mean":
            return np.asarray(loss.mean(), x.dtype)
        return np.asarray(loss.sum(), x.dtype) if reduction == "sum" else loss

    def backward(self, gy):
        x, t = self.saved
        with np.errstate(all="ignore"):
            dx, dt = self.row[1](x, t, self.params)
        g = gy / x.size if self.reduction == "mean" else gy
        need_x, need_t = self.needs_input_grad
        return (np.asarray(g * dx, x.dtype) if need_x else None,
                np.asarray(g * dt, t.dtype) if need_t else None)

    def name(self):
        return self.row[2]

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

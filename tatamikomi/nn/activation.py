"""Activation modules: each holds its options and calls its nn.functional form."""
from .. import creation
from . import functional as F
from . import init
from .module import Module, Parameter


def _inplace(inplace, first):
    """The ', inplace=True' tail of an extra_repr ('inplace=True' when it is alone)."""
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class ReLU(Module):
    """max(0, x) element-wise. Shapes: any -> same."""

    _eval_act = "relu"  # fused into a preceding conv in eval (_eval_plan)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace(self.inplace, True)


class Threshold(Module):
    """value where x <= threshold, else x. Shapes: any -> same."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{_inplace(self.inplace, False)}"


class Hardtanh(Module):
    """x clamped to [min_val, max_val]. Shapes: any -> same."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        self.min_val = min_val if min_value is None else min_value     # PyTorch's old names
        self.max_val = max_val if max_value is None else max_value
        self.inplace = inplace
        if self.max_val <= self.min_val:
            raise AssertionError(f"max_val ({self.max_val}) must be greater than min_val "
                                 f"({self.min_val})")

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                f"{_inplace(self.inplace, False)}")


class ReLU6(Hardtanh):
    """min(max(0, x), 6): a Hardtanh, as in PyTorch. Shapes: any -> same."""

    _eval_act = "relu6"  # fused into a preceding conv in eval (_eval_plan)

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace(self.inplace, True)


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise. Shapes: any -> same."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace(self.inplace, False)}"


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise. Shapes: any -> same."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace(self.inplace, False)}"


class CELU(ELU):
    """x for x > 0, alpha * (exp(x / alpha) - 1) otherwise. Shapes: any -> same."""

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)


class _Inplace(Module):
    """An activation whose only option is inplace."""

    fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self).fn(input, inplace=self.inplace)

    def extra_repr(self):
        return _inplace(self.inplace, True)


class SELU(_Inplace):
    """scale * elu(x, alpha), the self-normalizing constants. Shapes: any -> same."""

    fn = staticmethod(F.selu)


class SiLU(_Inplace):
    """x * sigmoid(x). Shapes: any -> same."""

    _eval_act = "silu"  # fused into a preceding conv in eval (_eval_plan)

    fn = staticmethod(F.silu)


class Mish(_Inplace):
    """x * tanh(softplus(x)). Shapes: any -> same."""

    fn = staticmethod(F.mish)


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6. Shapes: any -> same."""

    _eval_act = "hardswish"  # fused into a preceding conv in eval (_eval_plan)

    fn = staticmethod(F.hardswish)

    def extra_repr(self):                          # PyTorch's shows no options
        return ""


class Hardsigmoid(Hardswish):
    """relu6(x + 3) / 6. Shapes: any -> same."""

    fn = staticmethod(F.hardsigmoid)


class GELU(Module):
    """x * Phi(x); approximate='tanh' for the tanh form. Shapes: any -> same."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta * x)) / beta. Shapes: any -> same."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardshrink(Module):
    """0 where |x| <= lambd, else x. Shapes: any -> same."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x shrunk toward 0 by lambd (0 inside). Shapes: any -> same."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)


class PReLU(Module):
    """x for x > 0, a * x otherwise, a learned (one, or one per channel). Shapes: any -> same."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(creation.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _Stateless(Module):
    """An activation without options."""

    fn = None

    def forward(self, input):
        return type(self).fn(input)


class Sigmoid(_Stateless):
    _eval_act = "sigmoid"  # fused into a preceding conv in eval (_eval_plan)
    fn = staticmethod(F.sigmoid)


class Tanh(_Stateless):
    fn = staticmethod(F.tanh)


class LogSigmoid(_Stateless):
    fn = staticmethod(F.logsigmoid)


class Softsign(_Stateless):
    fn = staticmethod(F.softsign)


class Tanhshrink(_Stateless):
    fn = staticmethod(F.tanhshrink)


class _DimModule(Module):
    """An activation along one dim (None: PyTorch's legacy implicit choice)."""

    fn = None

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return type(self).fn(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_DimModule):
    fn = staticmethod(F.softmax)


class LogSoftmax(_DimModule):
    fn = staticmethod(F.log_softmax)


class Softmin(_DimModule):
    fn = staticmethod(F.softmin)


class GLU(_DimModule):
    """a * sigmoid(b), a and b the halves of x along dim. Shapes: (.., 2K, ..) -> (.., K, ..)."""

    fn = staticmethod(F.glu)

    def __init__(self, dim=-1):
        super().__init__(dim)


class Softmax2d(Module):
    """Softmax over the channels at every pixel. Shapes: (N, C, H, W) or (C, H, W) -> same."""

    def forward(self, input):
        if input.dim() not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.dim()}D "
                             "instead")
        return F.softmax(input, -3)

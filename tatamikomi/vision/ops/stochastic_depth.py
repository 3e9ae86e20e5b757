"""Stochastic depth (Huang et al., 2016): drop a whole residual branch with probability p."""
from ... import empty, nn


def stochastic_depth(input, p, mode, training=True):  # torchvision's name
    """Zero the branch per sample ("row") or for the whole batch ("batch"), scaled by 1/(1-p).

    Shapes: input (N, ...) -> same; the mask is (N, 1, ...) for "row", (1, 1, ...) for "batch".
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    keep = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    # one bernoulli_ draw of this size, as torchvision makes it, so a seeded run masks alike
    noise = empty(size, dtype=input.dtype).bernoulli_(keep)
    if keep > 0.0:
        noise.div_(keep)
    return input * noise


class StochasticDepth(nn.Module):
    """The module form of stochastic_depth; identity in eval mode."""

    def __init__(self, p, mode):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input):
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"

"""torch.utils.checkpoint: trade compute for memory by running a segment again in backward.

use_reentrant=True (PyTorch's default when the argument is left out, with its warning) really
recomputes: the forward runs without a graph, only the inputs are kept, and backward runs the
segment again with the random state it first had (so dropout draws the same mask), then
back-propagates through that second run. The output's grad_fn is CheckpointFunctionBackward,
as PyTorch's.

use_reentrant=False runs the segment plainly and keeps its graph: the same values and
gradients as PyTorch's (whose grad_fn is then also the segment's last op), but no memory saved;
context_fn, determinism_check, debug and early_stop are accepted and have nothing to act on.
"""
import warnings

from .. import random
from ..autograd import Function, backward, enable_grad
from ..tensor import Tensor

_DEFAULT_WARNING = (
    "torch.utils.checkpoint{where}: the use_reentrant parameter should be passed explicitly. "
    "{when} use_reentrant=False is recommended, but if you need to preserve the current default "
    "behavior, you can pass use_reentrant=True. Refer to docs for more details on the "
    "differences between the two variants.")


class CheckpointFunction(Function):
    """The reentrant checkpoint as a custom autograd Function."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          stacklevel=2)
        ctx.run_function, ctx.preserve_rng_state = run_function, preserve_rng_state
        if preserve_rng_state:
            ctx.fwd_cpu_state = random.get_rng_state()
        ctx.plain_args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.save_for_backward(*(a for a in args if isinstance(a, Tensor)))
        return run_function(*args)                   # custom forwards run without a graph

    @staticmethod
    def backward(ctx, *grads):
        inputs = list(ctx.plain_args)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t.detach().requires_grad_(t.requires_grad)
        now = random.get_rng_state() if ctx.preserve_rng_state else None
        try:
            if ctx.preserve_rng_state:
                random.set_rng_state(ctx.fwd_cpu_state)
            with enable_grad():
                outputs = ctx.run_function(*inputs)
        finally:
            if now is not None:
                random.set_rng_state(now)            # as if backward had drawn nothing
        outputs = (outputs,) if isinstance(outputs, Tensor) else outputs
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not "
                               "necessary")
        backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(a.grad if isinstance(a, Tensor) else None for a in inputs)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, early_stop=True, **kwargs):
    """function(*args, **kwargs), checkpointed as the module docstring says."""
    if use_reentrant is None:
        warnings.warn(_DEFAULT_WARNING.format(
            where="", when="Starting in PyTorch 2.9, calling checkpoint without use_reentrant "
            "will raise an exception."), stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if not use_reentrant:
        return function(*args, **kwargs)
    if context_fn is not None or debug is not False:
        raise ValueError("Passing `context_fn` or `debug` is only supported when "
                         "use_reentrant=False.")
    return CheckpointFunction.apply(function, preserve, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run functions (a list or an nn.Sequential) in `segments` chunks, all but the last one
    checkpointed, as PyTorch splits them."""
    if use_reentrant is None:
        warnings.warn(_DEFAULT_WARNING.format(
            where=".checkpoint_sequential", when="In version 2.9 we will raise an exception if "
            "use_reentrant is not passed."), stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if hasattr(functions, "children"):
        functions = list(functions.children())

    def run(start, end):
        def forward(x):
            for f in functions[start:end + 1]:
                x = f(x)
            return x
        return forward

    size, end = len(functions) // segments, -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)

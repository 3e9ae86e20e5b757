"""Module backward hooks: identity nodes around a module's inputs and outputs catch gradients.

The output node sees grad_output first (and runs the backward pre-hooks); the input node sees
grad_input later and runs the full backward hooks with both, as PyTorch's BackwardHook does.
"""
import warnings

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor


class BackwardHookFunction(Function):
    """Identity on its tensors; backward hands their gradients to `callback` (which may
    replace them). Its node is named BackwardHookFunctionBackward, as PyTorch's."""

    @staticmethod
    def forward(ctx, *tensors, callback=None):
        ctx.callback = callback
        outs = tuple(t if t.requires_grad else t.detach() for t in tensors)
        ctx.mark_non_differentiable(*(o for o, t in zip(outs, tensors) if o is not t))
        return outs

    @staticmethod
    def backward(ctx, *grads):
        out = ctx.callback(grads)
        return tuple(grads if out is None else out)


class BackwardHook:
    """One call's state: grad_output caught at the outputs, used when grad_input arrives."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs, self.n_inputs, self.input_index = None, 0, None

    @staticmethod
    def _wrap(args, callback):
        """args with its tensors passed through one hook node, and where they were."""
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in index]
        if not (is_grad_enabled() and any(t.requires_grad for t in tensors)):
            return args, None
        new = BackwardHookFunction.apply(*tensors, callback=callback)
        out = list(args)
        for i, t in zip(index, new):
            out[i] = t
        return tuple(out), index

    @staticmethod
    def _pack(index, values, n):
        res = [None] * n
        for i, v in zip(index, values):
            res[i] = v
        return tuple(res)

    def setup_input(self, args):
        def on_grad_input(grads):
            if self.grad_outputs is None:
                return None
            res = self._pack(self.input_index, grads, self.n_inputs)
            for hook in self.hooks:
                out = hook(self.module, res, self.grad_outputs)
                if out is None:
                    continue
                if len(out) != len(res):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(out)}, but expected {len(res)}")
                res = out
            self.grad_outputs = None
            return tuple(res[i] for i in self.input_index)

        self.n_inputs = len(args)
        args, self.input_index = self._wrap(args, on_grad_input)
        return args

    def setup_output(self, result):
        single = not isinstance(result, tuple)
        outs = (result,) if single else result

        def on_grad_output(grads):
            self.grad_outputs = self._pack(index, grads, len(outs))
            for hook in self.pre_hooks:
                new = hook(self.module, self.grad_outputs)
                if new is None:
                    continue
                if len(new) != len(self.grad_outputs):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(new)}, but expected "
                                       f"{len(self.grad_outputs)}")
                self.grad_outputs = tuple(new)
            caught = self.grad_outputs
            if self.input_index is None:                  # nothing upstream will call back
                warnings.warn("Full backward hook is firing when gradients are computed with "
                              "respect to module outputs since no inputs require gradients. See "
                              "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                              "#torch.nn.Module.register_full_backward_hook for more details.",
                              stacklevel=2)
                for hook in self.hooks:
                    res = hook(self.module, (None,) * self.n_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and
                                                all(r is None for r in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires "
                                           "gradient should always return None or None for all "
                                           "gradients.")
                self.grad_outputs = None
            return tuple(caught[i] for i in index)

        new, index = self._wrap(outs, on_grad_output)
        return new[0] if single else new

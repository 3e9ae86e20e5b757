"""torch.jit, as far as CNN programs use it: every decorator and compiler hands back what it got.

TorchScript compiles a module or function into a graph that runs without Python. tatamikomi has
no such compiler: `script` and `trace` return the module or function unchanged, so it runs as
plain Python (the same values; no TorchScript checks, no speed-up, nothing to jit.save). They
warn as PyTorch 2.13 does, where both are deprecated in favour of torch.compile.
"""
import typing
import warnings

Final = typing.Final


def _deprecated(name, instead="Please switch to `torch.compile` or `torch.export`."):
    warnings.warn(f"`torch.jit.{name}` is deprecated. {instead}", DeprecationWarning,
                  stacklevel=2)


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """obj itself, unchanged: there is no TorchScript compiler here."""
    _deprecated("script")
    return obj


def trace(func, example_inputs=None, optimize=None, check_trace=True, check_inputs=None,
          check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
          _compilation_unit=None, example_kwarg_inputs=None, _store_inputs=True):
    """func itself, unchanged and not run: there is no tracer here."""
    _deprecated("trace")
    return func


def trace_module(mod, inputs, optimize=None, check_trace=True, check_inputs=None,
                 check_tolerance=1e-5, strict=True, _force_outplace=False, _module_class=None,
                 _compilation_unit=None, example_inputs_is_kwarg=False, _store_inputs=True):
    """mod itself, unchanged."""
    _deprecated("trace_module")
    return mod


def unused(fn):
    """fn: TorchScript would replace it with a raise; in Python it simply runs."""
    return fn


def export(fn):
    """fn: marks a method TorchScript should compile; nothing to mark here."""
    return fn


def ignore(drop=False, **kwargs):
    """@ignore or @ignore(drop=...): the function unchanged (TorchScript would leave it to
    Python, which is where everything runs here)."""
    if callable(drop):                          # used bare: @torch.jit.ignore
        return drop
    if drop:
        warnings.warn("ignore(True) has been deprecated. TorchScript will now drop the function "
                      f"call on compilation. Use torch.jit.unused now. {kwargs}", FutureWarning,
                      stacklevel=2)
    return lambda fn: fn


def _overload(func):
    """func: a signature TorchScript would record for an overloaded function; the last plain
    definition is the one Python calls (torchvision's DenseNet declares its forward so)."""
    return func


def _overload_method(func):
    """func: as _overload, for a method."""
    return func


def script_if_tracing(fn):
    return fn


def interface(obj):
    return obj


def annotate(the_type, the_value):
    """the_value: the type is only for TorchScript's compiler."""
    return the_value


def is_scripting():
    """False: code never runs under TorchScript here."""
    return False


def is_tracing():
    return False


class ScriptModule:
    """What torch.jit.script makes of a module; nothing is one here (for isinstance checks)."""


class ScriptFunction:
    """What torch.jit.script makes of a function; nothing is one here."""


class _Done:
    """The future fork returns: its work is already done."""

    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def done(self):
        return True


def fork(func, *args, **kwargs):
    """Run func now (there is no TorchScript thread pool); wait() returns its result."""
    _deprecated("fork", "Please use `torch.compile` instead.")
    return _Done(func(*args, **kwargs))


def wait(future):
    _deprecated("wait", "Please use `torch.compile` instead.")
    return future.wait()

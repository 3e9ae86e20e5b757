"""torch.backends.cudnn as PyTorch's CPU build has it: the flags are accepted and change nothing.

There is no cuDNN. `benchmark = True` does not tune tatamikomi's CPU conv kernels: that is
`tatamikomi.backends.conv.benchmark`, which times every kernel once per shape.
"""
import contextlib

enabled = True
benchmark = False
benchmark_limit = None              # cuDNN v8 only reads it
deterministic = False
allow_tf32 = True


def is_available():
    """False: no cuDNN (no GPU at all)."""
    return False


def version():
    """None, as without cuDNN."""
    return None


def is_acceptable(tensor):
    """False: no tensor can run on cuDNN."""
    return False


@contextlib.contextmanager
def flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
          allow_tf32=True, fp32_precision="none", depthwise_kernel="auto"):
    """Set the flags for a with-block, then restore them (the last two have no flag here)."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32")
    here = globals()
    saved = {n: here[n] for n in names}
    here.update(zip(names, (enabled, benchmark, benchmark_limit, deterministic, allow_tf32)))
    try:
        yield
    finally:
        here.update(saved)

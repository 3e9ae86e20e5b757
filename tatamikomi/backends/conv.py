"""Conv kernel autotuning, as torch.backends.cudnn.benchmark.

With `benchmark = True`, kernels.select times every kernel that supports a spec once (forward,
grad_input and grad_weight on random arrays of its shapes) and keeps the fastest for that spec.
A forced kernel (kernels.use or TATAMIKOMI_CONV) still wins over both the rules and the tuner.
"""
benchmark = False

cache = {}                      # ConvSpec -> name of the fastest kernel measured for it


def clear_cache():
    """Forget every measured choice (e.g. after the machine's load has changed)."""
    cache.clear()

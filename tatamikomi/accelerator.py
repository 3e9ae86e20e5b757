"""torch.accelerator as PyTorch's CPU build has it: there is no accelerator.

Programs ask `torch.accelerator.is_available()` and pick `current_accelerator()` or the CPU;
here they pick the CPU. Everything that needs a device raises PyTorch's error.
"""
import warnings

from .device import NO_ACCELERATOR


def is_available():
    """False: tatamikomi computes on the CPU only."""
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    """The accelerator's device type, or None: there is none."""
    return None


def _none(*args):
    raise RuntimeError(NO_ACCELERATOR)


def set_device_index(device, /):
    _none()


def current_device_index():
    _none()


def current_device_idx():
    """Deprecated name of current_device_index."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /):
    """Deprecated name of set_device_index."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    return set_device_index(device)


def current_stream(device=None, /):
    _none()


def synchronize(device=None, /):
    _none()


def empty_cache():
    _none()


def empty_host_cache():
    _none()


def memory_allocated(device_index=None, /):
    _none()


def max_memory_allocated(device_index=None, /):
    _none()


def memory_reserved(device_index=None, /):
    _none()


def max_memory_reserved(device_index=None, /):
    _none()


def memory_stats(device_index=None, /):
    _none()


def reset_peak_memory_stats(device_index=None, /):
    _none()


def reset_accumulated_memory_stats(device_index=None, /):
    _none()


def get_memory_info(device_index=None, /):
    _none()


def get_device_capability(device=None, /):
    _none()


class device_index:  # noqa: N801 - PyTorch's public name
    """`with device_index(i):` switches the accelerator; None switches nothing (and works)."""

    def __init__(self, device, /):
        self.idx = device

    def __enter__(self):
        if self.idx is not None:
            _none()

    def __exit__(self, *exc):
        return False

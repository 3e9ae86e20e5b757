"""Devices: only the CPU exists until a GPU backend does; `cuda.is_available()` says so.

As in PyTorch's CPU build, naming a device always works (`device("cuda")`); using one that is
not there fails, which `check` does for every factory, layer and `.to()` that takes a device.
"""
from .dtypes import invalid_arguments, type_name

# PyTorch's device types, in the order its error message lists them
TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
         "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")
NO_ACCELERATOR = "Cannot access accelerator device when none is available."


class device:  # noqa: N801 - PyTorch's public name
    """A device handle: `device('cpu')`, `device('cuda', 0)`; naming one does not check it."""

    def __init__(self, type="cpu", index=None):  # PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(NO_ACCELERATOR)       # a bare index means "the accelerator"
        elif not isinstance(type, str):
            raise invalid_arguments("device", (type,) if index is None else (type, index))
        elif index is not None and ":" in type:
            raise RuntimeError(f"type (string) must not include an index because index was "
                               f"passed explicitly: {type}")
        else:
            type, index = _parse(type, index)
        self.type, self.index = type, index

    def __eq__(self, other):
        other = other if isinstance(other, device) else device(other)
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


def _parse(text, index):
    """(type, index) from 'cuda:1' (or 'cuda' plus index), with PyTorch's messages."""
    if not text:
        raise RuntimeError("Device string must not be empty")
    name, sep, number = text.partition(":")
    if sep and not (number.isdigit() and number.isascii()):
        raise RuntimeError(f"Invalid device string: '{text}'")
    if name not in TYPES:
        if name.strip() in TYPES or not name.isalnum():
            raise RuntimeError(f"Invalid device string: '{text}'")
        raise RuntimeError(f"Expected one of {', '.join(TYPES)} device type at start of device "
                           f"string: {name}")
    if index is not None:
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"device(): argument 'index' (position 2) must be int, not "
                            f"{type_name(index)}")
        if index < 0:
            raise RuntimeError("Device index must not be negative")
    return name, int(number) if sep else index


def check(fn, where):
    """The CPU, for a device argument that names it (or is None); PyTorch's error otherwise.

    fn names the caller for a wrong argument type, as PyTorch's argument parser does.
    """
    if where is None:
        return device("cpu")
    if not isinstance(where, (device, str, int)) or isinstance(where, bool):
        raise TypeError(f"{fn}(): argument 'device' must be torch.device, not "
                        f"{type_name(where)}")
    where = device(where)
    if where.type == "cpu":
        return where
    if where.type in ("cuda", "xpu"):
        raise AssertionError(f"Torch not compiled with {where.type.upper()} enabled")
    raise RuntimeError(f"device '{where}' is not available: tatamikomi computes on the CPU only")


NO_CUDA = "Torch not compiled with CUDA enabled"


def _no_cuda(*args, **kwargs):
    raise AssertionError(NO_CUDA)


def _missing(name):
    """What PyTorch's CPU build raises for a CUDA call that reaches its missing C binding."""
    def call(*args, **kwargs):
        raise AttributeError(f"module 'torch._C' has no attribute '{name}'")
    return call


class cuda:  # noqa: N801 - a namespace, as torch.cuda
    """torch.cuda as PyTorch's CPU build answers: no devices; seeding and cache calls do nothing,
    and calls that need a device raise its AssertionError. (tatamikomi.amp adds cuda.amp.)"""

    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0

    @staticmethod
    def is_initialized():
        return False

    @staticmethod
    def manual_seed(seed):
        int(seed)                                 # PyTorch's check of the seed, then nothing

    @staticmethod
    def manual_seed_all(seed):
        int(seed)

    @staticmethod
    def seed():
        pass

    @staticmethod
    def seed_all():
        pass

    @staticmethod
    def empty_cache():
        pass

    @staticmethod
    def set_rng_state(new_state, device="cuda"):
        pass                                      # CUDA's generators are never used here

    @staticmethod
    def memory_allocated(device=None):
        return 0

    max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated

    @staticmethod
    def is_bf16_supported(including_emulation=True):
        return False

    @staticmethod
    def get_arch_list():
        return []

    @staticmethod
    def get_rng_state_all():
        return []

    synchronize = current_device = get_device_name = get_device_properties = \
        get_device_capability = initial_seed = get_rng_state = ipc_collect = mem_get_info = \
        current_stream = staticmethod(_no_cuda)
    set_device = staticmethod(_missing("_cuda_setDevice"))
    reset_peak_memory_stats = staticmethod(_missing("_cuda_resetPeakMemoryStats"))

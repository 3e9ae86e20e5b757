"""Devices: only the CPU exists until a GPU backend does; `cuda.is_available()` says so."""


class device:  # noqa: N801 - PyTorch's public name
    """A device handle: `device('cpu')`; asking for CUDA fails as PyTorch's CPU build does."""

    def __init__(self, type="cpu", index=None):  # noqa: A002 - PyTorch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        name = str(type)
        if ":" in name:
            name, index = name.split(":", 1)
            index = int(index)
        if name == "cuda":
            raise AssertionError("Torch not compiled with CUDA enabled")
        if name != "cpu":
            raise RuntimeError(f"Expected one of cpu, cuda, ... device type at start of device "
                               f"string: {name}")
        self.type, self.index = name, index

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


class cuda:  # noqa: N801 - a namespace, as torch.cuda
    @staticmethod
    def is_available():
        return False

    @staticmethod
    def device_count():
        return 0

"""DataParallel where no GPU exists: PyTorch's CPU build keeps the module and calls it as is."""
from ..module import Module


class DataParallel(Module):
    """Wraps module as `self.module` (so state_dict keys gain a `module.` prefix) and forwards
    to it unchanged: with no GPU, PyTorch's CPU build splits nothing and ignores device_ids."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = []

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0,
                  module_kwargs=None):
    """The functional form needs a GPU type to split over; PyTorch's CPU build has none."""
    raise RuntimeError("device type could not be determined")

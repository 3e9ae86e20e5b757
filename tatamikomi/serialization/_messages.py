"""The words load() fails with: PyTorch's own, so a message reads the same as torch.load's."""
import re

from ..device import device

UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True`. Re-running `torch.load` with `weights_only` set to `False` will "
    "likely succeed, but it can result in arbitrary code execution. Do it only if you got the "
    "file from a trusted source.")
DOCS_MESSAGE = (
    "\n\nCheck the documentation of torch.load to learn more about types accepted by default "
    "with weights_only https://pytorch.org/docs/stable/generated/torch.load.html.")
OUR_HINT = ("\ntatamikomi's load accepts tensors, Parameters, numeric NumPy arrays and scalars, "
            "dict/list/tuple/set, numbers, strings, bytes and None (README: Loading files).")


def _weights_only_message(message):
    """PyTorch's text around an error of the weights-only unpickler, then our hint."""
    if re.search(r"GLOBAL (\S+) was not an allowed global by default.", message):
        text = ("Weights only load failed. This file can still be loaded, to do so you have two "
                "options, \033[1mdo those steps only if you trust the source of the checkpoint"
                f"\033[0m. \n\t(1) {UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with "
                "`weights_only=True` please check the recommended steps in the following error "
                "message.\n\tWeightsUnpickler error: " + message)
    else:
        text = f"Weights only load failed. {UNSAFE_MESSAGE}\n"
        if not re.search(r"whose module (\S+) is blocked", message):
            text += ("Please file an issue with the following so that we can make "
                     "`weights_only=True` compatible with your use case: WeightsUnpickler "
                     "error: ")
        text += "\n\n" + message
    return text + DOCS_MESSAGE + OUR_HINT


def _target_type(map_location):
    """The device type tensors would be mapped to (all of ours are saved on the CPU)."""
    if map_location is None or callable(map_location):
        return "cpu"                   # a callable gets storages; ours has none to remap
    if isinstance(map_location, dict):
        return _target_type(map_location.get("cpu", "cpu"))
    if isinstance(map_location, (str, device)):
        return str(map_location).split(":")[0]
    raise TypeError(f"'{type(map_location).__name__}' object is not callable")


def _check_location(kind):
    if kind == "cuda":
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
            "False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU.")
    if kind != "cpu":
        raise RuntimeError("don't know how to restore data location of "
                           f"torch.storage.UntypedStorage (tagged with {kind})")

"""torch.backends.mps: Apple's Metal backend, absent here as on any non-Mac PyTorch build."""


def is_available():
    return False


def is_built():
    return False

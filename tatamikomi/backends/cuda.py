"""torch.backends.cuda as PyTorch's CPU build has it: no CUDA; the matmul flags are accepted."""


class _MatmulFlags:
    """torch.backends.cuda.matmul: settings that only a CUDA matmul would read."""

    def __init__(self):
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()


def is_built():
    """False: this build has no CUDA."""
    return False

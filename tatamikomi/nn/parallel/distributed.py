"""DistributedDataParallel: the import path works; building one needs a process group."""
from ..module import Module


class DistributedDataParallel(Module):
    """Fails as PyTorch does before torch.distributed.init_process_group(); tatamikomi has no
    process groups yet, so it always fails here."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.\ntatamikomi has no torch.distributed yet: "
                         "train in one process, or wrap the model in DataParallel.")

"""torch.distributed on MPI: process groups, collectives, and the launcher (`run`).

`import tatamikomi` never loads mpi4py; init_process_group does. The ranks are MPI's processes:
start them with `python -m tatamikomi.distributed.run --nproc-per-node N script.py` (torchrun's
flags), mpiexec or srun. DistributedDataParallel is in tatamikomi.nn.parallel and
DistributedSampler in tatamikomi.utils.data.
"""
from ._mpi import DistBackendError, DistError, DistNetworkError
from .distributed_c10d import (
                               _DEFAULT_FIRST_BUCKET_BYTES,
                               Backend,
                               GroupMember,
                               ProcessGroup,
                               ReduceOp,
                               Work,
                               all_gather,
                               all_gather_into_tensor,
                               all_gather_object,
                               all_reduce,
                               barrier,
                               broadcast,
                               broadcast_object_list,
                               default_pg_timeout,
                               destroy_process_group,
                               gather,
                               get_backend,
                               get_process_group_ranks,
                               get_rank,
                               get_world_size,
                               group,
                               init_process_group,
                               is_available,
                               is_gloo_available,
                               is_initialized,
                               is_mpi_available,
                               is_nccl_available,
                               is_torchelastic_launched,
                               is_ucc_available,
                               reduce,
                               scatter,
)

__all__ = ["Backend", "DistBackendError", "DistError", "DistNetworkError", "GroupMember",
           "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_gather_object", "all_reduce", "barrier", "broadcast", "broadcast_object_list",
           "default_pg_timeout", "destroy_process_group", "gather", "get_backend",
           "get_process_group_ranks", "get_rank", "get_world_size", "group",
           "init_process_group", "is_available", "is_gloo_available", "is_initialized",
           "is_mpi_available", "is_nccl_available", "is_torchelastic_launched",
           "is_ucc_available", "reduce", "scatter"]

"""DistributedDataParallel: one model per rank, gradients averaged over the ranks in backward.

At wrap time rank 0's parameters and buffers are broadcast, so every replica starts equal;
each backward averages the gradients in buckets (distributed/_reducer.py), so every optimizer
step stays equal. BatchNorm normalizes with each rank's own batch, as PyTorch's default, and
its running statistics follow rank 0's (buffers are broadcast before each forward).
"""
import contextlib
import warnings

import numpy as np

from ... import distributed as dist
from ...autograd import is_grad_enabled
from ...distributed import _reducer
from ...tensor import Tensor
from ..module import Module

_MB = 1024 * 1024


def _find_tensors(obj):
    """The tensors in a forward's output: a tensor, or lists, tuples and dicts of them."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for x in obj for t in _find_tensors(x)]
    if isinstance(obj, dict):
        return [t for x in obj.values() for t in _find_tensors(x)]
    return []


def _broadcast_coalesced(pg, arrays, src=0):
    """Give every rank src's values of arrays: one broadcast per dtype, of all of them."""
    by_dtype = {}
    for a in arrays:
        by_dtype.setdefault(a.dtype, []).append(a)
    for group in by_dtype.values():
        flat = np.concatenate([a.reshape(-1) for a in group]) if pg.rank() == src else \
            np.empty(sum(a.size for a in group), group[0].dtype)
        pg._wait([pg._comm.Ibcast(flat, root=src)], "DistributedDataParallel's broadcast")
        if pg.rank() != src:
            at = 0
            for a in group:
                a[...] = flat[at:at + a.size].reshape(a.shape)
                at += a.size


def _verify_same_model(pg, shapes):
    """Every rank must wrap the same parameter shapes; PyTorch checks this too."""
    mine = repr(shapes)
    everyone = [None] * pg.size()
    dist.all_gather_object(everyone, mine, group=pg)
    for r, theirs in enumerate(everyone):
        if theirs != mine:
            n, m = len(shapes), theirs.count("(")
            raise RuntimeError(f"DDP expects same model across all ranks, but Rank "
                               f"{pg.rank()} has {n} params, while rank {r} has inconsistent "
                               f"{m} params." if n != m else
                               f"DDP expects same model across all ranks, but rank "
                               f"{pg.rank()}'s parameter shapes differ from rank {r}'s: "
                               f"{mine} vs {theirs}")


class DistributedDataParallel(Module):
    """Wraps module as `self.module` (state_dict keys gain `module.`) and keeps its replicas
    on all ranks equal: same start, averaged gradients."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=None, init_sync=True, process_group=None, bucket_cap_mb=None,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None, skip_all_reduce_unused_params=False,
                 bucket_cap_mb_list=None, batched_grad_copy=False, forward_sync_buffers=None):
        super().__init__()
        pg = dist.distributed_c10d._group(process_group)
        named = [(n, p) for n, p in module.named_parameters()
                 if n not in getattr(module, "_ddp_params_and_buffers_to_ignore", ())]
        if not any(p.requires_grad for _, p in named):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        if device_ids or output_device:
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters "
                "{device(type='cpu')}.")
        if broadcast_buffers is not None and forward_sync_buffers is None:
            warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` "
                          "instead.", FutureWarning, stacklevel=2)
        self.process_group, self.module, self.dim = pg, module, dim
        self.device_ids = self.output_device = None
        self.device_type, self.device = "cpu", named[0][1].device
        self.forward_sync_buffers = (forward_sync_buffers if forward_sync_buffers is not None
                                     else broadcast_buffers is not False)
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = self.require_forward_param_sync = True
        self.gradient_as_bucket_view, self.static_graph = gradient_as_bucket_view, static_graph
        self.broadcast_bucket_size = 250 * _MB
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * _MB)
        first = dist._DEFAULT_FIRST_BUCKET_BYTES if bucket_cap_mb is None else \
            self.bucket_bytes_cap
        trained = [(n, p) for n, p in named if p.requires_grad]
        if init_sync:
            _verify_same_model(pg, [tuple(p.shape) for _, p in named])
            synced = [p.array for _, p in named]
            if broadcast_buffers is not False:
                synced += [b.array for b in module.buffers()]
            _broadcast_coalesced(pg, synced)
        self.reducer = _reducer.Reducer([p for _, p in trained], [n for n, _ in trained], pg,
                                        first, self.bucket_bytes_cap, find_unused_parameters)

    @property
    def broadcast_buffers(self):
        return self.forward_sync_buffers

    @broadcast_buffers.setter
    def broadcast_buffers(self, value):
        self.forward_sync_buffers = value

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside only accumulate .grad locally; the first one after syncs the
        sum. The forward must run inside too."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def forward(self, *inputs, **kwargs):
        buffers = [b.array for b in self.module.buffers()]
        if self.require_forward_param_sync and self.forward_sync_buffers and buffers:
            _broadcast_coalesced(self.process_group, buffers)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.check_finished()
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            self.reducer.prepare(_find_tensors(output))
        else:
            self.require_forward_param_sync = False
            if is_grad_enabled():
                self.reducer.note_use(_find_tensors(output))
        return output

    def train(self, mode=True):
        super().train(mode)
        return self

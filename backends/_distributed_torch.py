"""``torch.distributed`` behind :func:`lossbridge.distributed.torch_group`.

Three collectives, each an ``autograd.Function`` where it carries a gradient:

* ``all_sum``: ``all_reduce(SUM)`` of a detached copy (a count: no gradient).
* ``all_gather``: ``all_gather`` forward; backward the sum over the members of the cotangent
  of this member's rows (the semantics of ``torch.distributed.nn.functional.all_gather``):
  ``reduce_scatter_tensor`` on gloo and NCCL, elsewhere ``all_reduce(SUM)`` of the whole
  cotangent and this member's slice of it (every backend has an all-reduce).
* ``shift``: one ``isend``/``irecv`` pair to the ring neighbours (``batch_isend_irecv``);
  backward sends the cotangent back along the reverse ring.

Imported on the first call of ``torch_group`` only: ``import lossbridge`` imports no torch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from lossbridge.distributed import _ring_offset

__all__ = ["TorchGroup"]


def _require_tensor(x: Any, where: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected a torch.Tensor; got {type(x).__name__}")


def _require_batch_axis(x: Any, where: str) -> None:
    _require_tensor(x, where)
    if x.ndim == 0:
        raise ValueError(f"{where}: expected an array with a batch axis (ndim >= 1); got a 0-d one")


class _AllGather(torch.autograd.Function):
    """Shards concatenated along axis 0; gradient: the group's summed cotangent, our slice."""

    @staticmethod
    def forward(ctx: Any, x: Any, group: TorchGroup) -> Any:  # type: ignore[override]
        ctx.group = group
        ctx.rows = x.shape[0]
        x = x.contiguous()
        parts = [torch.empty_like(x) for _ in range(group.world_size)]
        dist.all_gather(parts, x, group=group.process_group)
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:  # type: ignore[override]
        group = ctx.group
        grad = grad.contiguous()
        if group._reduce_scatter:
            mine = grad.new_empty((ctx.rows, *grad.shape[1:]))
            dist.reduce_scatter_tensor(mine, grad, op=dist.ReduceOp.SUM, group=group.process_group)
            return mine, None
        total = grad.clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group.process_group)
        return total.narrow(0, group.rank * ctx.rows, ctx.rows), None


class _Shift(torch.autograd.Function):
    """Member ``(rank - offset) % world_size``'s array; the cotangent goes back the other way."""

    @staticmethod
    def forward(ctx: Any, x: Any, group: TorchGroup, offset: int) -> Any:  # type: ignore[override]
        ctx.group, ctx.offset = group, offset
        return group._exchange(x.contiguous(), offset)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:  # type: ignore[override]
        return ctx.group._exchange(grad.contiguous(), -ctx.offset), None, None


class TorchGroup:
    """A ``torch.distributed`` process group as a :class:`lossbridge.distributed.Group`.

    Parameters
    ----------
    process_group : torch.distributed.ProcessGroup or None
        The group; None is the default (world) group.
    """

    def __init__(self, process_group: Any = None) -> None:
        where = "lossbridge.distributed.torch_group"
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                f"{where}: torch.distributed is not initialised; call "
                "torch.distributed.init_process_group(...) in every process first"
            )
        rank = dist.get_rank(process_group)
        if rank < 0:
            raise ValueError(
                f"{where}: this process (global rank {dist.get_rank()}) is not a member of "
                f"process_group={process_group!r}"
            )
        self.process_group = process_group
        self.world_size: int = dist.get_world_size(process_group)
        self.rank: int = rank
        # reduce_scatter_tensor where the backend has it (gloo, NCCL; "cpu:gloo,cuda:nccl")
        backends = str(dist.get_backend(process_group)).split(",")
        self._reduce_scatter = all(b.split(":")[-1] in ("gloo", "nccl") for b in backends)

    def __repr__(self) -> str:
        return f"torch_group(rank={self.rank}, world_size={self.world_size})"

    def _global(self, member: int) -> int:
        """The global rank of group member ``member`` (what point-to-point ops address)."""
        if self.process_group is None:
            return member
        return dist.get_global_rank(self.process_group, member)

    def _exchange(self, x: Any, offset: int) -> Any:
        """Send ``x`` to member ``rank + offset``; return what member ``rank - offset`` sent."""
        out = torch.empty_like(x)
        to = self._global((self.rank + offset) % self.world_size)
        source = self._global((self.rank - offset) % self.world_size)
        ops = [
            dist.P2POp(dist.isend, x, to, self.process_group),
            dist.P2POp(dist.irecv, out, source, self.process_group),
        ]
        for request in dist.batch_isend_irecv(ops):
            request.wait()
        return out

    def all_sum(self, x: Any) -> Any:
        _require_tensor(x, "torch_group.all_sum")
        total = x.detach().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=self.process_group)
        return total

    def all_gather(self, x: Any) -> Any:
        _require_batch_axis(x, "torch_group.all_gather")
        if self.world_size == 1:
            return x
        return _AllGather.apply(x, self)

    def shift(self, x: Any, offset: int = 1) -> Any:
        _require_batch_axis(x, "torch_group.shift")
        offset = _ring_offset(offset, self.world_size, "torch_group.shift")
        if offset == 0:
            return x
        return _Shift.apply(x, self, offset)

"""JAX collectives by axis name behind :func:`lossbridge.distributed.jax_axis`.

Inside ``jax.shard_map`` or ``jax.pmap`` over an axis: ``all_sum`` is ``lax.psum`` of a
stopped gradient, ``all_gather`` is ``lax.all_gather(tiled=True)`` (its transpose is
``psum_scatter``: the gradient is exact), ``shift`` is ``lax.ppermute`` around the ring (its
transpose is the reverse permutation). ``rank`` is ``lax.axis_index``, a traced integer.

Imported on the first call of ``jax_axis`` only: ``import lossbridge`` imports no JAX.
"""

from __future__ import annotations

from typing import Any

import jax

from lossbridge.distributed import _ring_offset

__all__ = ["JaxAxis"]


def _require_batch_axis(x: Any, where: str) -> None:
    if getattr(x, "ndim", 0) == 0:
        raise ValueError(f"{where}: expected an array with a batch axis (ndim >= 1); got {x!r}")


class JaxAxis:
    """A named mapped axis (or a tuple of names) as a :class:`lossbridge.distributed.Group`.

    Parameters
    ----------
    axis_name : str or tuple of str
        The axis of the enclosing ``jax.shard_map`` or ``jax.pmap`` (a tuple: the members are
        the positions on those mesh axes together, in row-major order).
    """

    def __init__(self, axis_name: Any) -> None:
        try:
            size = jax.lax.axis_size(axis_name)
        except NameError as error:
            raise NameError(
                f"lossbridge.distributed.jax_axis: axis name {axis_name!r} is not bound here; "
                "call it inside jax.shard_map or jax.pmap over that axis"
            ) from error
        self.axis_name = axis_name
        self.world_size: int = int(size)
        self.rank: Any = jax.lax.axis_index(axis_name)

    def __repr__(self) -> str:
        return f"jax_axis({self.axis_name!r}, world_size={self.world_size})"

    def all_sum(self, x: Any) -> Any:
        return jax.lax.psum(jax.lax.stop_gradient(x), self.axis_name)

    def all_gather(self, x: Any) -> Any:
        _require_batch_axis(x, "jax_axis.all_gather")
        return jax.lax.all_gather(x, self.axis_name, axis=0, tiled=True)

    def shift(self, x: Any, offset: int = 1) -> Any:
        _require_batch_axis(x, "jax_axis.shift")
        offset = _ring_offset(offset, self.world_size, "jax_axis.shift")
        if offset == 0:
            return x
        n = self.world_size
        return jax.lax.ppermute(x, self.axis_name, [(i, (i + offset) % n) for i in range(n)])

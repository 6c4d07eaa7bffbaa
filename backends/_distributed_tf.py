"""``tf.distribute`` replica collectives behind :func:`lossbridge.distributed.tf_replica`.

Inside ``strategy.run``: ``all_sum`` is ``ReplicaContext.all_reduce(SUM)`` of a stopped
gradient; ``all_gather`` is ``ReplicaContext.all_gather(axis=0)``, whose registered gradient
all-reduces the cotangent and slices this replica's part (exact; ``tests/test_distributed_tf.py``
checks it). ``tf.distribute`` has no collective permute, so ``shift`` gathers every replica's
shard and slices the neighbour's: it moves all shards, ``world_size`` times the memory of a
ring exchange (its gradient comes through ``all_gather``'s).

Imported on the first call of ``tf_replica`` only: ``import lossbridge`` imports no TensorFlow.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from lossbridge.distributed import _ring_offset

__all__ = ["TfReplica"]


def _require_batch_axis(x: Any, where: str) -> None:
    if not (tf.is_tensor(x) or isinstance(x, tf.Variable)):
        raise TypeError(f"{where}: expected a tf.Tensor; got {type(x).__name__}")
    if x.shape.rank == 0:
        raise ValueError(f"{where}: expected an array with a batch axis (ndim >= 1); got a 0-d one")


class TfReplica:
    """A ``tf.distribute`` replica context as a :class:`lossbridge.distributed.Group`.

    Parameters
    ----------
    context : tf.distribute.ReplicaContext or None
        The replica context; None is ``tf.distribute.get_replica_context()``.
    """

    def __init__(self, context: Any = None) -> None:
        if context is None:
            context = tf.distribute.get_replica_context()
        if context is None:
            raise RuntimeError(
                "lossbridge.distributed.tf_replica: called in a cross-replica context; "
                "call it inside strategy.run(...)"
            )
        self.context = context
        self.world_size: int = int(context.num_replicas_in_sync)
        replica_id = context.replica_id_in_sync_group
        static = tf.get_static_value(replica_id)
        self.rank: Any = int(static) if static is not None else replica_id

    def __repr__(self) -> str:
        return f"tf_replica(rank={self.rank}, world_size={self.world_size})"

    def all_sum(self, x: Any) -> Any:
        return self.context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(x))

    def all_gather(self, x: Any) -> Any:
        _require_batch_axis(x, "tf_replica.all_gather")
        if self.world_size == 1:
            return x
        return self.context.all_gather(x, axis=0)

    def shift(self, x: Any, offset: int = 1) -> Any:
        _require_batch_axis(x, "tf_replica.shift")
        offset = _ring_offset(offset, self.world_size, "tf_replica.shift")
        if offset == 0:
            return x
        gathered = self.context.all_gather(x, axis=0)
        rows = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
        source = (self.rank - offset) % self.world_size
        return gathered[source * rows : (source + 1) * rows]

"""The cross-device form of the batch losses (issue 16): anchors local, candidates gathered.

A *group* is one of :mod:`lossbridge.distributed`'s (``torch_group()``, ``jax_axis(name)``,
``tf_replica()``): ``world_size``, ``rank`` and the collectives ``all_gather`` (the members'
arrays concatenated along axis 0 in rank order, with the exact gradient), ``all_sum`` (no
gradient) and ``shift`` (a ring step). The batch losses (:mod:`lossbridge.contrastive`,
``ntxent_loss``, ``circle_loss``) take ``group=``: each member passes its local rows, compares
them with the rows of every member, and returns its *share*, its local numerator divided by the
global count, so that the members' shares add up to the loss of the concatenated batch.

``group=None`` is one member holding the whole batch: every helper here is then the identity.
No framework is imported here.
"""

from __future__ import annotations

from typing import Any

from lossbridge._inputs import arange_like
from lossbridge.backends import get_namespace

__all__ = ["anchor_index", "check_group", "gather", "global_count", "world_size"]

_METHODS = ("all_gather", "all_sum", "shift")


def check_group(group: Any, loss: str) -> None:
    """``TypeError`` unless ``group`` is None or has a group's attributes and collectives."""
    if group is None:
        return
    missing = [m for m in ("world_size", "rank", *_METHODS) if not hasattr(group, m)]
    if missing:
        text = repr(group)
        if len(text) > 60:
            text = text[:57] + "..."
        raise TypeError(
            f"{loss}: group must be a lossbridge.distributed group (torch_group(), "
            f"jax_axis(name) or tf_replica()) or None; got {type(group).__name__} {text} "
            f"(no {', '.join(missing)})"
        )


def world_size(group: Any) -> int:
    """The number of members (1 without a group)."""
    return 1 if group is None else int(group.world_size)


def gather(group: Any, x: Any) -> Any:
    """Every member's ``x`` concatenated along axis 0 in rank order (``x`` without a group).

    The result has the static shape ``(world_size * N, ...)`` where ``x``'s is known (inside
    ``tf.function`` TensorFlow's ``all_gather`` loses it, and an ``arange`` of its length
    could not be built).
    """
    if group is None:
        return x
    out = group.all_gather(x)
    shape = tuple(x.shape)
    if None not in shape and tuple(out.shape) != (shape[0] * world_size(group), *shape[1:]):
        out = get_namespace(out)[0].reshape(out, (shape[0] * world_size(group), *shape[1:]))
    return out


def anchor_index(xp: Any, n: int, group: Any, like: Any) -> Any:
    """The local rows' indices in the gathered batch, ``rank * n + arange(n)``, shape (n,).

    ``group.rank`` may be a traced integer (JAX inside ``shard_map``, a replica id tensor in
    ``tf.distribute``): it is cast to the index dtype, on ``like``'s device.
    """
    idx = arange_like(xp, n, like)
    if group is None:
        return idx
    rank = group.rank
    if isinstance(rank, int):
        return idx + rank * n
    return idx + xp.astype(xp.asarray(rank), idx.dtype) * n


def global_count(count: Any, group: Any, reduction: str, denominator: Any) -> Any:
    """The count a ``'mean'`` divides by over the whole group: the members' counts summed.

    Summed (``group.all_sum``, a collective every member must call) only for ``'mean'``
    without the user's own ``denominator`` (:data:`lossbridge._reduction.COUNT`, which asks
    for the count, included); otherwise the local count is returned unused.
    """
    from lossbridge._reduction import COUNT

    own = denominator is None or denominator is COUNT
    if group is None or reduction != "mean" or not own:
        return count
    return group.all_sum(count)

"""Losses across devices: the members of a data-parallel group, on each engine.

A data-parallel step computes the loss on each member's local shard of the batch. For the sum
over the members to be the full-batch mean, each member divides its local numerator by the
*global* count (``docs/scale.md``, "Losses across devices")::

    denominator = lossbridge.distributed.global_denominator(loss, *local_args, group=group)
    share = loss(*local_args, denominator=denominator)     # sum over members = full-batch mean

A *group* is this module's view of the members, one per engine:

* :func:`torch_group` -- a ``torch.distributed`` process group (any backend: gloo, NCCL, ...);
* :func:`jax_axis` -- a mapped axis inside ``jax.shard_map`` or ``jax.pmap``;
* :func:`tf_replica` -- a ``tf.distribute`` replica context inside ``strategy.run``.

Every group has the same attributes and methods (:class:`Group`): ``world_size``, ``rank``,
``all_sum`` (a count summed over the members, no gradient), ``all_gather`` (the members' shards
concatenated, with the exact gradient) and ``shift`` (a neighbour's shard around the ring,
differentiable). The contrastive losses take a group to gather the other members' features.

Nothing here imports a framework: each function imports its engine's adapter
(``lossbridge.backends._distributed_torch``, ``_distributed_jax``, ``_distributed_tf``) when
it is called.
"""

from __future__ import annotations

import numbers
from typing import Any, Protocol, runtime_checkable

__all__ = ["Group", "global_denominator", "jax_axis", "tf_replica", "torch_group"]


@runtime_checkable
class Group(Protocol):
    """The members of a data-parallel group, as the losses use them.

    Attributes
    ----------
    world_size : int
        The number of members.
    rank : int or traced integer
        This member's position, ``0 <= rank < world_size`` (a traced integer under JAX,
        ``jax.lax.axis_index``).

    Notes
    -----
    ``all_sum(x)``
        The sum over the members of ``x`` (a count or weight sum), with no gradient.
    ``all_gather(x)``
        The members' arrays concatenated along axis 0 in rank order (every member's ``x`` has
        the same shape). The gradient with respect to ``x`` is the sum over the members of the
        cotangent of this member's rows, so a loss computed on the gathered batch has the exact
        gradient.
    ``shift(x, offset=1)``
        The ``x`` of member ``(rank - offset) % world_size`` (a ring exchange; every member's
        ``x`` has the same shape), differentiable: the cotangent travels the reverse ring.
    """

    world_size: int
    rank: Any

    def all_sum(self, x: Any) -> Any: ...

    def all_gather(self, x: Any) -> Any: ...

    def shift(self, x: Any, offset: int = 1) -> Any: ...


def _ring_offset(offset: Any, world_size: int, where: str) -> int:
    """``offset`` reduced modulo ``world_size``; ``TypeError`` naming ``where`` for a non-int."""
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral):
        raise TypeError(f"{where}: offset must be an int; got {offset!r}")
    return int(offset) % world_size


def torch_group(process_group: Any = None) -> Group:
    """The processes of a ``torch.distributed`` group (DDP, FSDP; any backend).

    Parameters
    ----------
    process_group : torch.distributed.ProcessGroup or None, default None
        The group; None is the default group of ``torch.distributed.init_process_group``.

    Returns
    -------
    Group
        ``world_size`` and ``rank`` of this process in the group (Python ints); ``all_sum``
        is ``all_reduce(SUM)`` of a detached copy; ``all_gather`` is ``all_gather`` with the
        exact gradient (each process gets the sum of the processes' cotangents of its rows, as
        from ``torch.distributed.nn.functional.all_gather``: ``reduce_scatter_tensor`` on gloo
        and NCCL, an all-reduce elsewhere); ``shift`` is one ``isend``/``irecv``
        pair per call (``batch_isend_irecv``) and its gradient the same on the reverse ring.

    Raises
    ------
    RuntimeError
        If ``torch.distributed`` is not initialised in this process.

    Notes
    -----
    DDP averages the gradients over the processes: with each process's loss computed with
    the global denominator, multiply it by ``world_size`` before ``backward()`` (the
    gradients are then those of the full-batch mean). Every collective is called by every
    process of the group, in the same order, as for any ``torch.distributed`` collective.

    Examples
    --------
    One process, a world of one (the test suite runs the same with 2 and 4 gloo processes):

    >>> import torch, torch.distributed as dist  # doctest: +SKIP
    >>> store = dist.HashStore()  # in memory: a world of one process  # doctest: +SKIP
    >>> dist.init_process_group("gloo", store=store, rank=0, world_size=1)  # doctest: +SKIP
    >>> import lossbridge.distributed
    >>> group = lossbridge.distributed.torch_group()  # doctest: +SKIP
    >>> group.world_size, group.rank  # doctest: +SKIP
    (1, 0)
    >>> logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])  # doctest: +SKIP
    >>> target = torch.tensor([0, -100, 1])  # doctest: +SKIP
    >>> count = lossbridge.distributed.global_denominator(  # doctest: +SKIP
    ...     lossbridge.cross_entropy, logits, target, group=group, ignore_index=-100)
    >>> count  # doctest: +SKIP
    tensor(2.)
    >>> dist.destroy_process_group()  # doctest: +SKIP
    """
    from lossbridge.backends._distributed_torch import TorchGroup

    return TorchGroup(process_group)


def jax_axis(axis_name: Any) -> Group:
    """The members of a mapped axis inside ``jax.shard_map`` or ``jax.pmap``.

    Parameters
    ----------
    axis_name : str or tuple of str
        The axis name given to ``jax.pmap`` or a mesh axis of ``jax.shard_map`` (a tuple:
        those mesh axes together).

    Returns
    -------
    Group
        ``world_size`` is the axis size (a Python int) and ``rank`` is
        ``jax.lax.axis_index(axis_name)`` (traced); ``all_sum`` is ``jax.lax.psum`` of a
        stopped gradient; ``all_gather`` is ``jax.lax.all_gather(..., axis=0, tiled=True)``
        (its transpose, ``psum_scatter``, gives the exact gradient); ``shift`` is
        ``jax.lax.ppermute`` around the ring.

    Raises
    ------
    NameError
        If ``axis_name`` is not bound where it is called (outside ``shard_map``/``pmap``).

    Notes
    -----
    Call it inside the mapped function. ``psum`` the members' losses (or their gradients):
    the sum is the full-batch mean; ``pmean`` divides by the axis size, so multiply by
    ``world_size`` if you average. Under plain ``jax.jit`` with sharded arrays no group is
    needed: the loss on the global array is already the full-batch loss.

    Examples
    --------
    A ``shard_map`` over a mesh of one device (``tests/test_distributed_jax.py`` runs this
    with four):

    >>> import jax, jax.numpy as jnp, numpy as np  # doctest: +SKIP
    >>> from jax.sharding import Mesh, PartitionSpec as P  # doctest: +SKIP
    >>> import lossbridge.distributed
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))  # doctest: +SKIP
    >>> def member(logits, target):
    ...     group = lossbridge.distributed.jax_axis("batch")
    ...     count = lossbridge.distributed.global_denominator(
    ...         lossbridge.cross_entropy, logits, target, group=group, ignore_index=-100)
    ...     share = lossbridge.cross_entropy(logits, target, ignore_index=-100,
    ...                                      denominator=count)
    ...     return jax.lax.psum(share, "batch"), count
    >>> loss, count = jax.shard_map(member, mesh=mesh, in_specs=P("batch"),  # doctest: +SKIP
    ...                             out_specs=P())(jnp.array([[2.0, 0.0], [0.0, 2.0]]),
    ...                                            jnp.array([0, -100]))
    >>> float(count), round(float(loss), 6)  # doctest: +SKIP
    (1.0, 0.126928)
    """
    from lossbridge.backends._distributed_jax import JaxAxis

    return JaxAxis(axis_name)


def tf_replica(context: Any = None) -> Group:
    """The replicas of a ``tf.distribute`` strategy, inside ``strategy.run``.

    Parameters
    ----------
    context : tf.distribute.ReplicaContext or None, default None
        The replica context; None is ``tf.distribute.get_replica_context()``.

    Returns
    -------
    Group
        ``world_size`` is ``num_replicas_in_sync`` and ``rank`` the replica id (a Python int
        where it is static, as under ``MirroredStrategy``); ``all_sum`` is
        ``all_reduce(SUM)`` of a stopped gradient; ``all_gather`` is
        ``ReplicaContext.all_gather(x, axis=0)`` (its gradient all-reduces the cotangent and
        keeps this replica's slice: exact); ``shift`` slices the neighbour's shard out of an
        ``all_gather``.

    Raises
    ------
    RuntimeError
        If called in a cross-replica context (outside ``strategy.run``).

    Notes
    -----
    ``tf.distribute`` sums the replicas' gradients (``apply_gradients`` all-reduces them with
    SUM), so nothing is multiplied: each replica's loss computed with the global denominator
    gives the full-batch mean's gradient. It has no collective permute: ``shift`` moves every
    shard to every replica (``world_size`` times the memory of a ring exchange).

    Examples
    --------
    Outside any strategy, the default replica context is a group of one
    (``tests/test_distributed_tf.py`` runs two and four replicas of ``MirroredStrategy``):

    >>> import tensorflow as tf  # doctest: +SKIP
    >>> import lossbridge.distributed
    >>> group = lossbridge.distributed.tf_replica()  # doctest: +SKIP
    >>> group.world_size, group.rank  # doctest: +SKIP
    (1, 0)
    >>> target = tf.constant([0, -100, 1])  # doctest: +SKIP
    >>> logits = tf.constant([[2.0, 0.0], [0.0, 2.0], [1.0, 1.0]])  # doctest: +SKIP
    >>> count = lossbridge.distributed.global_denominator(  # doctest: +SKIP
    ...     lossbridge.cross_entropy, logits, target, group=group, ignore_index=-100)
    >>> float(count)  # doctest: +SKIP
    2.0
    """
    from lossbridge.backends._distributed_tf import TfReplica

    return TfReplica(context)


def global_denominator(loss: Any, *args: Any, group: Group, **kwargs: Any) -> Any:
    """What ``loss``'s full-batch 'mean' divides by: the local counts summed over ``group``.

    ``group.all_sum(lossbridge.mean_denominator(loss, *args, **kwargs))``: each member passes
    its local arguments and gets the same global count, with no gradient.

    Parameters
    ----------
    loss : callable
        A loss (a core function, or what :func:`lossbridge.mean_denominator` accepts).
    *args, **kwargs
        This member's arguments of ``loss``, as for the loss call itself.
    group : Group
        The members (:func:`torch_group`, :func:`jax_axis`, :func:`tf_replica`).

    Returns
    -------
    array
        A 0-d array of the prediction's framework, the same on every member: pass it as
        ``loss(*args, denominator=...)``.

    Examples
    --------
    Inside ``jax.shard_map`` over a mesh of one device:

    >>> import jax, jax.numpy as jnp, numpy as np  # doctest: +SKIP
    >>> from jax.sharding import Mesh, PartitionSpec as P  # doctest: +SKIP
    >>> import lossbridge.distributed
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))  # doctest: +SKIP
    >>> def member(logits, target):
    ...     group = lossbridge.distributed.jax_axis("batch")
    ...     return lossbridge.distributed.global_denominator(
    ...         lossbridge.nll_loss, logits, target, group=group, weight=jnp.array([1.0, 3.0]))
    >>> count = jax.shard_map(member, mesh=mesh, in_specs=P("batch"),  # doctest: +SKIP
    ...                       out_specs=P())(jnp.zeros((3, 2)), jnp.array([0, 1, 1]))
    >>> float(count)  # the class weights of the targets: 1 + 3 + 3  # doctest: +SKIP
    7.0
    """
    if not isinstance(group, Group):
        raise TypeError(
            "global_denominator: group must be a lossbridge.distributed group (torch_group, "
            f"jax_axis, tf_replica); got {type(group).__name__}"
        )
    import lossbridge

    return group.all_sum(lossbridge.mean_denominator(loss, *args, **kwargs))

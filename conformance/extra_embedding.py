"""Conformance entries for the embedding losses beyond the frameworks.

:func:`~lossbridge.embedding.contrastive_loss`, :func:`~lossbridge.embedding.ntxent_loss`,
:func:`~lossbridge.embedding.circle_loss` and :func:`~lossbridge.embedding.cosine_similarity_loss`.
Their float64 references below are written from the papers' definitions with plain loops (one
pair or one anchor at a time), independently of the array-API implementations. The oracles:

* ``contrastive_loss``: pytorch-metric-learning's ``ContrastiveLoss`` on the explicit pairs,
  without normalisation or reduction; its per-pair loss is :math:`D` (similar) or
  :math:`[m - D]_+` (dissimilar), so ours is half its square.
* ``ntxent_loss``: ``optax.ntxent`` ('mean'; 'sum' is that mean times the number of positive
  pairs).
* ``circle_loss``: Keras's ``Circle`` on the L2-normalised embeddings (Keras does not normalise).
* ``cosine_similarity_loss``: ``1 - torch.nn.functional.cosine_similarity``, optax's
  ``cosine_distance`` with ``epsilon=eps**2`` (optax clamps the squared norm) and ``1 +`` Keras's
  ``cosine_similarity`` loss (which is :math:`-\\cos`).
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from lossbridge.conformance.cases import (
    AOT,
    Entry,
    Oracle,
    arrays,
    base,
    entry,
    normal,
    optax_unavailable,
)
from lossbridge.conformance.drivers import get_driver
from lossbridge.conformance.references import reduce
from lossbridge.embedding import (
    circle_loss,
    contrastive_loss,
    cosine_similarity_loss,
    ntxent_loss,
)

# ------------------------------------------------------------------------------------------
# float64 NumPy references, written from the papers
# ------------------------------------------------------------------------------------------


def ref_contrastive_loss(
    input1, input2, target, *, margin=1.0, eps=1e-6, reduction="mean"
) -> np.ndarray:
    """Hadsell et al. (2006) with y = 1 for similar pairs, one pair at a time."""
    x1, x2 = np.broadcast_arrays(np.asarray(input1, np.float64), np.asarray(input2, np.float64))
    lead = x1.shape[:-1]
    y = np.broadcast_to(np.asarray(target), lead)
    loss = np.zeros(lead)
    for idx in np.ndindex(lead):
        dist = math.sqrt(sum((a - b + eps) ** 2 for a, b in zip(x1[idx], x2[idx], strict=True)))
        if y[idx]:
            loss[idx] = 0.5 * dist**2
        else:
            loss[idx] = 0.5 * max(0.0, margin - dist) ** 2
    return reduce(loss, reduction)


def _unit_rows(x: np.ndarray, floor: float) -> np.ndarray:
    return np.stack([row / max(math.sqrt(float(row @ row)), floor) for row in x]) if len(x) else x


def ref_ntxent_loss(embeddings, labels, *, temperature=0.07, reduction="mean") -> np.ndarray:
    """NT-Xent per positive pair (i, j): -log(e^s_ij / (e^s_ij + sum over negatives of i)).

    Norms floored at sqrt(machine epsilon) as optax's ``ntxent``; mean over positive pairs.
    """
    x = np.asarray(embeddings, np.float64)
    labels = np.asarray(labels)
    n = len(x)
    u = _unit_rows(x, math.sqrt(np.finfo(np.float64).eps))
    s = [[float(u[i] @ u[j]) / temperature for j in range(n)] for i in range(n)]
    loss = np.zeros((n, n))
    pairs = 0
    for i in range(n):
        negatives = [s[i][k] for k in range(n) if labels[k] != labels[i]]
        for j in range(n):
            if j == i or labels[j] != labels[i]:
                continue
            pairs += 1
            loss[i, j] = np.logaddexp.reduce([s[i][j], *negatives]) - s[i][j]
    return reduce(loss, reduction, denominator=pairs)


def _circle(embeddings, labels, margin, gamma, reduction, frozen=None) -> np.ndarray:
    x = np.asarray(embeddings, np.float64)
    labels = np.asarray(labels)
    n = len(x)
    u = _unit_rows(x, 1e-12)
    s = u @ u.T
    a = s if frozen is None else frozen  # the similarities the weights alpha are taken at
    loss = np.zeros(n)
    anchors = 0
    for i in range(n):
        pos = [
            -gamma * max(0.0, 1 + margin - a[i, j]) * (s[i, j] - (1 - margin))
            for j in range(n)
            if j != i and labels[j] == labels[i]
        ]
        neg = [
            gamma * max(0.0, a[i, j] + margin) * (s[i, j] - margin)
            for j in range(n)
            if labels[j] != labels[i]
        ]
        if pos and neg:
            anchors += 1
            loss[i] = np.logaddexp(0.0, np.logaddexp.reduce(pos) + np.logaddexp.reduce(neg))
    return reduce(loss, reduction, denominator=anchors)


def ref_circle_loss(
    embeddings, labels, *, margin=0.25, gamma=256.0, reduction="mean"
) -> np.ndarray:
    """Circle loss (Sun et al. 2020, Eq. 4-6) per anchor, mean over anchors with a positive
    and a negative."""
    return _circle(embeddings, labels, margin, gamma, reduction)


def ref_circle_loss_frozen(
    at, embeddings, labels, *, margin=0.25, gamma=256.0, reduction="mean"
) -> np.ndarray:
    """:func:`ref_circle_loss` with the weights alpha held at their values for ``at``.

    The paper (and pytorch-metric-learning) stop the gradient through alpha_p and alpha_n, so
    autodiff gives the derivative of this function at ``embeddings = at['embeddings']``.
    """
    u = _unit_rows(np.asarray(at["embeddings"], np.float64), 1e-12)
    return _circle(embeddings, labels, margin, gamma, reduction, frozen=u @ u.T)


def _cosine(input, target, axis, eps, offsets=None) -> np.ndarray:
    x, y = np.broadcast_arrays(np.asarray(input, np.float64), np.asarray(target, np.float64))
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    lead = x.shape[:-1]
    loss = np.zeros(lead)
    for idx in np.ndindex(lead):
        nx, ny = math.sqrt(float(x[idx] @ x[idx])), math.sqrt(float(y[idx] @ y[idx]))
        if offsets is None:
            cx, cy = max(nx, eps), max(ny, eps)
        else:
            cx, cy = nx + offsets[0][idx], ny + offsets[1][idx]
        loss[idx] = 1.0 - float((x[idx] / cx) @ (y[idx] / cy))
    return loss


def ref_cosine_similarity_loss(input, target, *, axis=-1, eps=1e-8, reduction="mean"):
    """1 - sum(x / max(|x|, eps) * y / max(|y|, eps)) along ``axis``, one vector at a time."""
    return reduce(_cosine(input, target, axis, eps), reduction)


def ref_cosine_similarity_loss_torch_grad(
    at, input, target, *, axis=-1, eps=1e-8, reduction="mean"
):
    """The function whose derivative torch's (and lossbridge's) gradient is.

    torch clamps the norms in place under ``no_grad``: the divisor is ``|x| + k`` with ``k =
    max(|x0|, eps) - |x0|`` a constant taken at ``at``; equal to the loss where no norm is
    below ``eps``.
    """

    def offsets(a):
        a0, b0 = np.broadcast_arrays(np.asarray(at["input"]), np.asarray(at["target"]))
        v = np.moveaxis(a0 if a == "input" else b0, axis, -1)
        norm = np.sqrt(np.sum(v * v, axis=-1))
        return np.maximum(norm, eps) - norm

    loss = _cosine(input, target, axis, eps, offsets=(offsets("input"), offsets("target")))
    return reduce(loss, reduction)


# ------------------------------------------------------------------------------------------
# Oracles
# ------------------------------------------------------------------------------------------


def _pml_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("pytorch_metric_learning") is None:
        return "pytorch-metric-learning is not installed"
    return None


def _keras_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    return None


def _torch_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    return None


def _pml_contrastive(inputs, kwargs, dtype):
    """pytorch-metric-learning's ``ContrastiveLoss`` on the pairs (x1_i + eps, x2_i).

    No normalisation (``LpDistance(normalize_embeddings=False)``, ``torch.cdist``), per-pair
    losses (``DoNothingReducer``); ``||x1 - x2 + eps|| = ||(x1 + eps) - x2||`` carries our
    ``eps``, and our loss is half the square of PML's.
    """
    import torch
    from pytorch_metric_learning.distances import LpDistance
    from pytorch_metric_learning.losses import ContrastiveLoss
    from pytorch_metric_learning.reducers import DoNothingReducer

    eps = kwargs.get("eps", 1e-6)
    x1, x2 = np.broadcast_arrays(inputs["input1"].astype(dtype), inputs["input2"].astype(dtype))
    one_d = x1.ndim == 1
    x1, x2 = np.atleast_2d(x1), np.atleast_2d(x2)
    y = np.broadcast_to(np.atleast_1d(inputs["target"]), x1.shape[:1]).astype(bool)
    n = len(x1)
    if n == 1:  # PML returns zero losses when every index list has at most one entry
        x1, x2, y = np.tile(x1, (2, 1)), np.tile(x2, (2, 1)), np.tile(y, 2)
    loss = np.zeros(len(x1))
    if n:
        # bfloat16 reaches torch through float32 (exact)
        emb = get_driver("torch").from_numpy(np.concatenate([x1 + np.asarray(eps, dtype), x2]))
        m = len(x1)
        idx = torch.arange(m)
        pos, neg = torch.tensor(y), torch.tensor(~y)
        fn = ContrastiveLoss(
            pos_margin=0.0,
            neg_margin=kwargs.get("margin", 1.0),
            distance=LpDistance(normalize_embeddings=False),
            reducer=DoNothingReducer(),
        )
        out = fn(emb, indices_tuple=(idx[pos], m + idx[pos], idx[neg], m + idx[neg]))
        loss[y] = out["pos_loss"]["losses"].detach().double().numpy() if y.any() else 0.0
        loss[~y] = out["neg_loss"]["losses"].detach().double().numpy() if (~y).any() else 0.0
    loss = 0.5 * loss[:n] ** 2
    return reduce(loss[0] if one_d else loss, kwargs.get("reduction", "mean"))


def _optax_ntxent(inputs, kwargs, dtype):
    """``optax.ntxent`` ('mean'); 'sum' is that mean times the number of positive pairs."""
    import jax.numpy as jnp
    import optax

    labels = inputs["labels"]
    out = float(
        optax.ntxent(
            jnp.asarray(inputs["embeddings"].astype(dtype)),
            jnp.asarray(labels),
            temperature=kwargs.get("temperature", 0.07),
        )
    )
    reduction = kwargs.get("reduction", "mean")
    if reduction == "sum":  # optax's mean is NaN (0 / 0) without positive pairs: the sum is 0
        pairs = int((labels[:, None] == labels[None, :]).sum() - len(labels))
        return np.float64(out * pairs if pairs else 0.0)
    assert reduction == "mean", "optax's ntxent has only the mean over positive pairs"
    return np.float64(out)


def _keras_circle(inputs, kwargs, dtype):
    """Keras's ``Circle`` (its masked mean, sum, or per-anchor loss) on L2-normalised
    embeddings (normalised here in float64 with the 1e-12 floor, then cast)."""
    import keras

    x = inputs["embeddings"].astype(dtype).astype(np.float64)
    unit = _unit_rows(x, 1e-12).astype(dtype)
    keras_reduction = {"mean": "sum_over_batch_size", "sum": "sum", "none": None}
    fn = keras.losses.Circle(
        gamma=kwargs.get("gamma", 256.0),
        margin=kwargs.get("margin", 0.25),
        reduction=keras_reduction[kwargs.get("reduction", "mean")],
        dtype=dtype,
    )
    out = fn(inputs["labels"].astype(np.int32), unit)
    # a 0-d bfloat16 tensor has no NumPy view: through float64 (exact)
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(out, "float64")), np.float64)


def _torch_cosine(inputs, kwargs, dtype):
    """``1 - torch.nn.functional.cosine_similarity(input, target, dim=axis, eps=eps)``."""
    import torch.nn.functional as F  # noqa: N812

    torch_ = get_driver("torch")  # bfloat16 reaches torch through float32 (exact)
    x, y = torch_.from_numpy(inputs["input"], dtype), torch_.from_numpy(inputs["target"], dtype)
    ndim = max(x.ndim, y.ndim)
    out = 1.0 - F.cosine_similarity(
        x, y, dim=kwargs.get("axis", -1) % ndim, eps=kwargs.get("eps", 1e-8)
    )
    return reduce(out.double().numpy(), kwargs.get("reduction", "mean"))


def _optax_cosine(inputs, kwargs, dtype):
    """``optax.cosine_distance`` with ``epsilon=eps**2`` (optax clamps the squared norm), on
    the broadcast arrays (optax takes ``axis`` of each array before broadcasting them)."""
    import jax.numpy as jnp
    import optax

    x, y = np.broadcast_arrays(inputs["input"].astype(dtype), inputs["target"].astype(dtype))
    out = optax.losses.cosine_distance(
        jnp.asarray(x),
        jnp.asarray(y),
        epsilon=kwargs.get("eps", 1e-8) ** 2,
        axis=kwargs.get("axis", -1),
    )
    return reduce(np.asarray(out, dtype=np.float64), kwargs.get("reduction", "mean"))


def _keras_cosine(inputs, kwargs, dtype):
    """``1 + keras.losses.cosine_similarity(target, input, axis)`` (Keras's loss is -cos), on
    the broadcast arrays."""
    import keras

    x, y = np.broadcast_arrays(inputs["input"].astype(dtype), inputs["target"].astype(dtype))
    out = keras.losses.cosine_similarity(y, x, axis=kwargs.get("axis", -1))
    loss = 1.0 + np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)
    return reduce(loss, kwargs.get("reduction", "mean"))


_PML_CONTRASTIVE = Oracle("pml_contrastive_loss", "pml", _pml_contrastive, _pml_unavailable)
_OPTAX_NTXENT = Oracle("optax_ntxent", "optax", _optax_ntxent, optax_unavailable)
_KERAS_CIRCLE = Oracle("keras_circle", "keras", _keras_circle, _keras_unavailable)
_TORCH_COSINE = Oracle("torch_cosine_similarity", "torch", _torch_cosine, _torch_unavailable)
_OPTAX_COSINE = Oracle("optax_cosine_distance", "optax", _optax_cosine, optax_unavailable)
_KERAS_COSINE = Oracle("keras_cosine_similarity", "keras", _keras_cosine, _keras_unavailable)

# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------

_GROUPS = [0, 0, 1, 1, 1, 2, 2, 2]  # two or three members per class
_LONE = [0, 0, 1, 1, 1, 2, 2, 3]  # the last anchor has no positive
_VIEWS = [0, 1, 2, 3, 0, 1, 2, 3]  # SimCLR: two views of four items, concatenated
_DISTINCT = [0, 1, 2, 3, 4, 5, 6, 7]  # no positive pair at all
_HALF_GRAD_REF = ("grad_ref@float16", "grad_ref@bfloat16")
_ZERO_HALF = (
    "a zero vector: the gradient of x / max(|x|, floor) there is 1 / floor, with each compute "
    "dtype's own floor (finfo.eps); half inputs compute in float32, so their floor is "
    "float32's, not the float64 reference's"
)
_ZERO_FD = (
    "a zero vector: the normalisation x / max(|x|, floor) is linear only within the floor "
    "(1e-12, sqrt(machine eps) or eps), far below the finite-difference step 6e-6"
)
_NAN_MEAN = "the 'mean' is NaN (no positive pair: 0 / 0): its finite difference is NaN"


def _batch(labels, scale=1.0, zero_rows=(), copies=()):
    """(8, 5) embeddings with ``labels``; rows set to zero; ``(i, j)``: row j = row i."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = scale * r.standard_normal((len(labels), 5))
        for i in zero_rows:
            x[i] = 0.0
        for i, j in copies:
            x[j] = x[i]
        return {"embeddings": x, "labels": np.asarray(labels)}

    return make


def _pairs(shape=(8, 5), scale=1.0, target=None, zero_rows=(), copies=()):
    """input1, input2 of ``shape``, target 0/1 (``target``: given values); rows zeroed in both
    inputs and rows with input2 = input1."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x1 = scale * r.standard_normal(shape)
        x2 = scale * r.standard_normal(shape)
        y = r.integers(0, 2, shape[:-1]).astype(np.float64) if target is None else target
        for i in zero_rows:
            x1[i] = x2[i] = 0.0
        for i in copies:
            x2[i] = x1[i]
        return {"input1": x1, "input2": x2, "target": np.asarray(y)}

    return make


def _cos_inputs(shape=(8, 5), target_shape=None, scale=1.0, edge=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = scale * r.standard_normal(shape)
        y = scale * r.standard_normal(shape if target_shape is None else target_shape)
        if edge:
            x[1] = 0.0  # both zero
            y[1] = 0.0
            x[2] = 0.0  # one zero
            y[3] = x[3]  # identical: loss 0
            y[4] = -2.5 * x[4]  # opposite: loss 2
        return {"input": x, "target": y}

    return make


def _split(label, make, kwargs=None, *, none_skip, **opts) -> list[dict]:
    """A base case whose 'none' reduction skips an oracle that has only reduced values."""
    skip = opts.pop("skip", {})
    return [
        base(label, make, kwargs, reductions=("mean", "sum"), skip=skip, **opts),
        base(label, make, kwargs, reductions=("none",), skip={**skip, **none_skip}),
    ]


_NO_OPTAX_NONE = {"optax_ntxent": "optax's ntxent returns only the mean over positive pairs"}

# ------------------------------------------------------------------------------------------
# Entries
# ------------------------------------------------------------------------------------------

_CONTRASTIVE = entry(
    "contrastive_loss",
    [
        base("basic", _pairs(scale=0.4), **AOT),
        base("margin_eps0", _pairs(), {"margin": 3.0, "eps": 0.0}),
        base(
            "identical_zero_bool",
            _pairs(
                scale=0.4,
                target=np.array([True, False, True, False, True, False, True, False]),
                zero_rows=(0, 1),
                copies=(2, 3),
            ),
            {"eps": 0.0},
        ),
        base("one_d_int", _pairs(shape=(5,), scale=0.3, target=np.array(0)), {"margin": 2.0}),
        base("empty", arrays(input1=normal((0, 5)), input2=normal((0, 5)), target=normal((0,)))),
    ],
    fn=contrastive_loss,
    reference=ref_contrastive_loss,
    oracle=None,
    grad_args=("input1", "input2"),
    extra_oracles=(_PML_CONTRASTIVE,),
)

_NTXENT = entry(
    "ntxent_loss",
    [
        *_split(
            "groups", _batch(_GROUPS), none_skip=_NO_OPTAX_NONE, compile=("mean",), placement="mean"
        ),
        *_split("lone_anchor", _batch(_LONE), {"temperature": 0.5}, none_skip=_NO_OPTAX_NONE),
        *_split(
            "two_views", _batch(_VIEWS, scale=0.5), {"temperature": 0.2}, none_skip=_NO_OPTAX_NONE
        ),
        *_split(
            "zero_identical",
            _batch(_LONE, zero_rows=(2,), copies=((0, 1), (3, 5))),
            none_skip=_NO_OPTAX_NONE,
            skip={"grad_fd": _ZERO_FD, **dict.fromkeys(_HALF_GRAD_REF, _ZERO_HALF)},
        ),
        base("no_positive", _batch(_DISTINCT), reductions=("sum",)),
        base("no_positive", _batch(_DISTINCT), reductions=("mean",), skip={"grad_fd": _NAN_MEAN}),
    ],
    fn=ntxent_loss,
    reference=ref_ntxent_loss,
    oracle=None,
    grad_args=("embeddings",),
    extra_oracles=(_OPTAX_NTXENT,),
)

_CIRCLE = entry(
    "circle_loss",
    [
        base("groups", _batch(_GROUPS), **AOT),
        base("lone_anchor_pml", _batch(_LONE), {"margin": 0.4, "gamma": 80.0}),
        base(
            "zero_identical",
            _batch(_LONE, zero_rows=(2,), copies=((0, 1), (3, 5))),
            {"margin": 0.4, "gamma": 80.0},
            skip={"grad_fd": _ZERO_FD},
        ),
        base("no_positive", _batch(_DISTINCT), reductions=("none", "sum")),
        base(
            "no_positive",
            _batch(_DISTINCT),
            reductions=("mean",),
            skip={
                "grad_fd": _NAN_MEAN,
                "keras_circle": "no anchor has a positive: lossbridge's mean is NaN (0 / 0), "
                "Keras's masked mean 0",
            },
        ),
    ],
    fn=circle_loss,
    reference=ref_circle_loss,
    oracle=None,
    grad_args=("embeddings",),
    extra_oracles=(_KERAS_CIRCLE,),
    fd_reference=ref_circle_loss_frozen,
)

_KERAS_EPS = (
    "Keras clamps each norm at 1e-7 (its epsilon), not at eps: the vectors here have norms "
    "below eps"
)

_COSINE = entry(
    "cosine_similarity_loss",
    [
        base("basic", _cos_inputs(), **AOT),
        base("axis_broadcast", _cos_inputs((2, 3, 4), (3, 4)), {"axis": 1}),
        base("zero_identical", _cos_inputs(edge=True), skip={"grad_fd": _ZERO_FD}),
        base(
            "eps_clamp",
            _cos_inputs(scale=0.2),
            {"eps": 0.5},
            skip={"keras_cosine_similarity": _KERAS_EPS},
        ),
        base("empty", _cos_inputs((0, 5))),
    ],
    fn=cosine_similarity_loss,
    reference=ref_cosine_similarity_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(_TORCH_COSINE, _OPTAX_COSINE, _KERAS_COSINE),
    fd_reference=ref_cosine_similarity_loss_torch_grad,
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (_CONTRASTIVE, _NTXENT, _CIRCLE, _COSINE)

"""The extended suite: every loss with a native counterpart in some framework, ours vs that.

The headline table (:mod:`benchmarks.cases`) holds the issue's target set in every mode. This
module adds one row pair (``fwd``, ``fwd+bwd``) per remaining loss, in the mode where its
native lives, with shorter settings (:data:`EXTRA_SETTINGS`) so that the whole
``python -m benchmarks`` stays under ten minutes:

* **torch eager**, ours (the core function) against ``torch.nn.functional``'s namesake; where
  the native is torchvision's (``sigmoid_focal_loss``, ``generalized_box_iou_loss``) and
  torchvision is not installed, a plain torch transcription of torchvision's code.
* **JAX** ``jax.jit``, ``lossbridge.optax.<name>`` against ``optax.losses.<name>`` (same
  signature, per-example output; both sides take ``.mean()``).
* **TensorFlow eager**, ``lossbridge.keras.<name>`` against ``keras.losses.<name>`` on
  ``tf.Tensor`` (per-sample output; both sides take the mean).

Data are float32, 1e6 elements unless the loss is quadratic in a dimension (pairwise losses:
smaller, stated in the row's shape). Gradients are of the first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.cases import Pair

__all__ = ["EXTRA", "EXTRA_SETTINGS_KW", "ExtraSpec", "build_extra"]

#: Settings for the extended rows (keyword arguments of ``harness.Settings``).
EXTRA_SETTINGS_KW = {"rounds": 31, "batch_s": 0.004, "max_case_s": 1.2, "min_rounds": 9}


@dataclass(frozen=True)
class ExtraSpec:
    """One extended loss.

    Attributes
    ----------
    framework : str
        ``'torch'`` (eager), ``'jax'`` (jit) or ``'tensorflow'`` (eager).
    loss : str
        Our function's name (in the core, ``lossbridge.optax`` or ``lossbridge.keras``).
    shape : tuple of int
        The first argument's shape (for the table).
    make : callable
        ``rng -> tuple of NumPy arrays``, the positional arguments (float64 is cast to float32).
    ours, native : callable
        ``(*arrays) -> scalar``, given framework arrays.
    native_name : str
    """

    framework: str
    loss: str
    shape: tuple[int, ...]
    make: Callable[[np.random.Generator], tuple[np.ndarray, ...]]
    ours: Callable[..., Any]
    native: Callable[..., Any]
    native_name: str

    @property
    def mode(self) -> str:
        return {"torch": "eager", "jax": "jit", "tensorflow": "eager"}[self.framework]


N, C = 1000, 1000


def _n(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def _pm1(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (2.0 * rng.integers(0, 2, size=shape) - 1.0).astype(np.float32)


def _01(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(0, 2, size=shape).astype(np.float32)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def _boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = rng.uniform(0, 100, size=(n, 2))
    wh = rng.uniform(1, 50, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


def _multilabel_targets(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    t = -np.ones((n, c), dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(1, c // 2))
        t[i, :k] = rng.choice(c, size=k, replace=False)
    return t


# ---- torch transcriptions of torchvision.ops (torchvision is not a dependency) -------------


def _tv_sigmoid_focal_loss(inputs: Any, targets: Any, alpha: float = 0.25, gamma: float = 2.0):
    import torch.nn.functional as F

    p = inputs.sigmoid()
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


def _tv_giou_loss(boxes1: Any, boxes2: Any, eps: float = 1e-7):
    import torch

    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1 = torch.max(x1, x1g)
    ykis1 = torch.max(y1, y1g)
    xkis2 = torch.min(x2, x2g)
    ykis2 = torch.min(y2, y2g)
    intsct = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsct[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsct
    iou = intsct / (union + eps)
    xc1 = torch.min(x1, x1g)
    yc1 = torch.min(y1, y1g)
    xc2 = torch.max(x2, x2g)
    yc2 = torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    return (1 - (iou - ((area_c - union) / (area_c + eps)))).mean()


def _torch_specs() -> list[ExtraSpec]:
    import lossbridge as lb

    def F(name: str, **kw: Any) -> Callable[..., Any]:
        def native(*a: Any) -> Any:
            import torch.nn.functional as tf_

            return getattr(tf_, name)(*a, **kw)

        return native

    def ours(name: str, **kw: Any) -> Callable[..., Any]:
        fn = getattr(lb, name)
        return lambda *a: fn(*a, **kw)

    rows = [
        ("binary_cross_entropy", (N, C), lambda r: (1 / (1 + np.exp(-_n(r, N, C))), _01(r, N, C))),
        ("smooth_l1_loss", (N, C), lambda r: (_n(r, N, C), _n(r, N, C))),
        ("soft_margin_loss", (N, C), lambda r: (_n(r, N, C), _pm1(r, N, C))),
        (
            "poisson_nll_loss",
            (N, C),
            lambda r: (_n(r, N, C), r.poisson(1.0, size=(N, C)).astype(np.float32)),
        ),
        (
            "gaussian_nll_loss",
            (N, C),
            lambda r: (_n(r, N, C), _n(r, N, C), r.uniform(0.5, 2, (N, C)).astype(np.float32)),
        ),
        ("hinge_embedding_loss", (N, C), lambda r: (np.abs(_n(r, N, C)), _pm1(r, N, C))),
        ("margin_ranking_loss", (N * C,), lambda r: (_n(r, N * C), _n(r, N * C), _pm1(r, N * C))),
        ("multilabel_soft_margin_loss", (N, C), lambda r: (_n(r, N, C), _01(r, N, C))),
        ("multi_margin_loss", (N, C), lambda r: (_n(r, N, C), r.integers(0, C, N))),
        (
            "multilabel_margin_loss",
            (256, 32),
            lambda r: (_n(r, 256, 32), _multilabel_targets(r, 256, 32)),
        ),
        ("cosine_embedding_loss", (N, C), lambda r: (_n(r, N, C), _n(r, N, C), _pm1(r, N))),
        ("triplet_margin_loss", (N, C), lambda r: (_n(r, N, C), _n(r, N, C), _n(r, N, C))),
    ]
    specs = [
        ExtraSpec("torch", name, shape, make, ours(name), F(name), f"F.{name}")
        for name, shape, make in rows
    ]
    specs.append(
        ExtraSpec(
            "torch",
            "sigmoid_focal_loss",
            (N, C),
            lambda r: (_n(r, N, C), _01(r, N, C)),
            ours("sigmoid_focal_loss", reduction="mean"),
            _tv_sigmoid_focal_loss,
            "torchvision.ops.sigmoid_focal_loss (torch transcription), mean",
        )
    )
    specs.append(
        ExtraSpec(
            "torch",
            "generalized_box_iou_loss",
            (100_000, 4),
            lambda r: (_boxes(r, 100_000), _boxes(r, 100_000)),
            ours("generalized_box_iou_loss", reduction="mean"),
            _tv_giou_loss,
            "torchvision.ops.generalized_box_iou_loss (torch transcription), mean",
        )
    )
    return specs


def _jax_specs() -> list[ExtraSpec]:
    import lossbridge.optax as lo

    def pair(name: str, shape: tuple[int, ...], make: Callable[..., Any], **kw: Any) -> ExtraSpec:
        def native(*a: Any) -> Any:
            import optax

            return getattr(optax.losses, name)(*a, **kw).mean()

        fn = getattr(lo, name)
        return ExtraSpec(
            "jax", name, shape, make, lambda *a: fn(*a, **kw).mean(), native, f"optax.{name}"
        )

    onehot = lambda r: np.eye(C, dtype=np.float32)[r.integers(0, C, N)]  # noqa: E731
    return [
        pair("log_cosh", (N, C), lambda r: (_n(r, N, C), _n(r, N, C))),
        pair("hinge_loss", (N * C,), lambda r: (_n(r, N * C), _pm1(r, N * C))),
        pair("cosine_distance", (N, C), lambda r: (_n(r, N, C), _n(r, N, C))),
        pair("sigmoid_focal_loss", (N, C), lambda r: (_n(r, N, C), _01(r, N, C))),
        pair("sigmoid_binary_cross_entropy", (N, C), lambda r: (_n(r, N, C), _01(r, N, C))),
        pair("softmax_cross_entropy", (N, C), lambda r: (_n(r, N, C), _softmax(_n(r, N, C)))),
        pair("poly_loss_cross_entropy", (N, C), lambda r: (_n(r, N, C), onehot(r))),
        pair(
            "kl_divergence_with_log_targets",
            (N, C),
            lambda r: (np.log(_softmax(_n(r, N, C))), np.log(_softmax(_n(r, N, C)))),
        ),
        pair("multiclass_hinge_loss", (N, C), lambda r: (_n(r, N, C), r.integers(0, C, N))),
        pair("triplet_margin_loss", (N, C), lambda r: (_n(r, N, C), _n(r, N, C), _n(r, N, C))),
        pair("ntxent", (512, 128), lambda r: (_n(r, 512, 128), r.integers(0, 64, 512))),
    ]


def _tf_specs() -> list[ExtraSpec]:
    import lossbridge.keras as lk

    def pair(name: str, shape: tuple[int, ...], make: Callable[..., Any]) -> ExtraSpec:
        # Keras' argument order is (y_true, y_pred); make returns (y_pred, y_true) so that the
        # gradient is taken of the prediction, the first argument.
        def native(y_pred: Any, y_true: Any) -> Any:
            import keras
            import tensorflow as tf

            return tf.reduce_mean(getattr(keras.losses, name)(y_true, y_pred))

        fn = getattr(lk, name)

        def ours(y_pred: Any, y_true: Any) -> Any:
            import tensorflow as tf

            return tf.reduce_mean(fn(y_true, y_pred))

        return ExtraSpec("tensorflow", name, shape, make, ours, native, f"keras.losses.{name}")

    pos = lambda r: r.uniform(0.1, 2, (N, C)).astype(np.float32)  # noqa: E731
    probs = lambda r: (1 / (1 + np.exp(-_n(r, N, C)))).astype(np.float32)  # noqa: E731
    return [
        pair("log_cosh", (N, C), lambda r: (_n(r, N, C), _n(r, N, C))),
        pair("hinge", (N, C), lambda r: (_n(r, N, C), _pm1(r, N, C))),
        pair("squared_hinge", (N, C), lambda r: (_n(r, N, C), _pm1(r, N, C))),
        pair(
            "categorical_hinge",
            (N, C),
            lambda r: (_n(r, N, C), np.eye(C, dtype=np.float32)[r.integers(0, C, N)]),
        ),
        pair("cosine_similarity", (N, C), lambda r: (_n(r, N, C), _n(r, N, C))),
        pair("mean_absolute_percentage_error", (N, C), lambda r: (_n(r, N, C), pos(r))),
        pair("mean_squared_logarithmic_error", (N, C), lambda r: (pos(r), pos(r))),
        pair("poisson", (N, C), lambda r: (pos(r), r.poisson(1.0, (N, C)).astype(np.float32))),
        pair("dice", (N, C), lambda r: (probs(r), _01(r, N, C))),
        pair("tversky", (N, C), lambda r: (probs(r), _01(r, N, C))),
    ]


def specs(frameworks: set[str] | None = None) -> list[ExtraSpec]:
    """The extended specs for the frameworks given (all by default) that can be imported."""
    out: list[ExtraSpec] = []
    for fw, make in (("torch", _torch_specs), ("jax", _jax_specs), ("tensorflow", _tf_specs)):
        if frameworks is not None and fw not in frameworks:
            continue
        out.extend(make())
    return out


EXTRA = specs  # the callable listing them (frameworks load lazily)


def build_extra(spec: ExtraSpec, grad: bool, seed: int = 0) -> Pair:
    """Both sides of one extended row, ready for :func:`benchmarks.harness.measure`."""
    rng = np.random.default_rng(seed)
    arrays = spec.make(rng)
    if spec.framework == "torch":
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]
        if grad:
            args[0] = args[0].clone().requires_grad_(True)

        def side(fn: Callable[..., Any]) -> Callable[[], Any]:
            if not grad:
                return lambda: fn(*args)

            def run() -> Any:
                loss = fn(*args)
                (g,) = torch.autograd.grad(loss, args[0])
                return loss, g

            return run

        def outputs(out: Any) -> list[np.ndarray]:
            outs = out if isinstance(out, tuple) else (out,)
            return [t.detach().numpy() for t in outs]

    elif spec.framework == "jax":
        import jax

        args = [jax.device_put(a.astype(np.int32) if a.dtype == np.int64 else a) for a in arrays]

        def side(fn: Callable[..., Any]) -> Callable[[], Any]:
            f = jax.jit(jax.value_and_grad(fn) if grad else fn)
            return lambda: jax.block_until_ready(f(*args))

        def outputs(out: Any) -> list[np.ndarray]:
            return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(out)]

    else:
        import tensorflow as tf

        args = [tf.constant(a) for a in arrays]

        def side(fn: Callable[..., Any]) -> Callable[[], Any]:
            if not grad:
                return lambda: fn(*args).numpy()

            def run() -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(args[0])
                    loss = fn(*args)
                g = tape.gradient(loss, args[0])
                return loss.numpy(), g.numpy()

            return run

        def outputs(out: Any) -> list[np.ndarray]:
            outs = out if isinstance(out, tuple) else (out,)
            return [np.asarray(t) for t in outs]

    return Pair(side(spec.ours), side(spec.native), spec.native_name, outputs)

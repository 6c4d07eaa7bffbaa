"""Conformance entries of the ``lossbridge.tfa`` dialect: one ``tfa.<ClassName>`` per class.

Each entry calls the class (``fn``: an adapter ``(y_true, y_pred, sample_weight=None,
reduction=..., **params)`` that passes ``dtype=y_pred.dtype``, so a half case computes in the
case's dtype rather than floatx's float32). Its reference is a float64 NumPy transcription of
TF Addons 0.23's formula written here, independently of :mod:`lossbridge.tfa`, with Keras 3's
weighting and reduction (:func:`lossbridge.conformance.extra_keras._keras_reduce`, the
dialect's documented semantics). Its oracle (check ``tfa_<ClassName>``) is **TF Addons 0.23
itself**: the loss modules of the 0.23 wheel, vendored unchanged under ``tests/vendor/tfa/``
(Apache-2.0, ``tests/vendor/tfa/NOTE.md``), executed on TensorFlow 2.21 in the case's dtype
by :func:`tfa_module` with import shims only, and reduced the same way.

TF Addons does not install with TensorFlow >= 2.16: its package imports a compiled op
library and pins TF < 2.16, and its loss modules reach Keras through ``tf.keras``, which is
Keras 3 on TF 2.21. :func:`tfa_module` therefore executes the vendored source files with an
``__import__`` that gives them:

* ``tensorflow`` itself, except that ``tf.keras`` is the small Keras 2 surface the loss files
  use (:class:`_Keras2`): ``losses.Reduction`` (Keras 2's string constants),
  ``losses.Loss`` (a base holding ``name`` and ``reduction``), ``utils.
  register_keras_serializable`` (a no-op), and ``backend.epsilon``/``floatx``/
  ``binary_crossentropy``; the last is Keras 2.15's ``keras/src/backend.py``
  ``binary_crossentropy``, quoted in :func:`_keras2_binary_crossentropy` (TFA 0.23 ran on
  Keras 2: Keras 3's has no ``+ epsilon()`` inside the log);
* ``tensorflow_addons.utils.types``/``keras_utils`` (type aliases; TFA's own
  ``LossFunctionWrapper``, whose ``call`` is ``self.fn(y_true, y_pred, **self._fn_kwargs)``),
  ``typeguard.typechecked`` (identity), and the other vendored modules
  (``tensorflow_addons.activations.sparsemax``, ``tensorflow_addons.losses.metric_learning``).

The oracle calls TFA's per-sample function (a class's ``call`` for ``WeightedKappaLoss`` and
``SparsemaxLoss``) and applies Keras 3's reduction to it, as the reference does: what is
compared is TFA's loss, and the reduction is the dialect's (``docs/tfa.md``).
"""

from __future__ import annotations

import builtins
import importlib.util
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lossbridge.conformance.cases import Oracle, arrays, base, binary, entry, normal
from lossbridge.conformance.extra_keras import _bounds, _keras_reduce, _ref
from lossbridge.conformance.tolerances import Loosened

#: The vendored TF Addons 0.23 sources (tests/vendor/tfa/, a source checkout only).
VENDOR = Path(__file__).resolve().parents[1] / "tests" / "vendor" / "tfa"

#: Keras 2's ``tf.keras.losses.Reduction``.
_REDUCTION = types.SimpleNamespace(
    AUTO="auto", NONE="none", SUM="sum", SUM_OVER_BATCH_SIZE="sum_over_batch_size"
)


def _keras2_binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Any:
    """Keras 2.15's ``keras/src/backend.py`` ``binary_crossentropy`` (the ``_keras_logits``
    and ``Sigmoid``-op shortcuts do not apply to a tensor given as input)::

        if from_logits:
            return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
        epsilon_ = _constant_to_tensor(epsilon(), output.dtype.base_dtype)
        output = tf.clip_by_value(output, epsilon_, 1.0 - epsilon_)
        # Compute cross entropy from probabilities.
        bce = target * tf.math.log(output + epsilon())
        bce += (1 - target) * tf.math.log(1 - output + epsilon())
        return -bce
    """
    import tensorflow as tf

    target = tf.convert_to_tensor(target)
    output = tf.convert_to_tensor(output)
    if from_logits:
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    epsilon_ = tf.constant(1e-7, dtype=output.dtype.base_dtype)
    output = tf.clip_by_value(output, epsilon_, 1.0 - epsilon_)
    bce = target * tf.math.log(output + 1e-7)
    bce += (1 - target) * tf.math.log(1 - output + 1e-7)
    return -bce


class _Keras2Loss:
    """``tf.keras.losses.Loss`` as the TFA classes use it: ``name``, ``reduction``,
    ``get_config``."""

    def __init__(self, reduction: str = "auto", name: str | None = None) -> None:
        self.reduction, self.name = reduction, name

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "name": self.name}


class _Keras2:
    """The ``tf.keras`` surface of TFA's loss files (Keras 2's), with ``floatx`` settable."""

    def __init__(self, floatx: str = "float32") -> None:
        self.losses = types.SimpleNamespace(Reduction=_REDUCTION, Loss=_Keras2Loss)
        self.utils = types.SimpleNamespace(register_keras_serializable=lambda package: _same)
        self.backend = types.SimpleNamespace(
            epsilon=lambda: 1e-7,
            floatx=lambda: floatx,
            binary_crossentropy=_keras2_binary_crossentropy,
        )


def _same(obj: Any) -> Any:
    return obj


class _TFProxy(types.ModuleType):
    """``tensorflow`` with ``keras`` replaced by :class:`_Keras2`."""

    def __init__(self, keras: _Keras2) -> None:
        super().__init__("tensorflow")
        self.keras = keras

    def __getattr__(self, name: str) -> Any:
        import tensorflow as tf

        return getattr(tf, name)


class _TFALossFunctionWrapper(_Keras2Loss):
    """``tensorflow_addons.utils.keras_utils.LossFunctionWrapper`` (its ``call``)."""

    def __init__(self, fn: Callable[..., Any], reduction: str = "auto", name=None, **kwargs):
        super().__init__(reduction=reduction, name=name)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self.fn(y_true, y_pred, **self._fn_kwargs)


def tfa_available() -> str | None:
    """None where the vendored sources and TensorFlow are here, else why not."""
    if not VENDOR.is_dir():
        return "the vendored TF Addons sources (tests/vendor/tfa) are not here"
    if importlib.util.find_spec("tensorflow") is None:
        return "tensorflow is not installed"
    return None


_MODULES: dict[tuple[str, str], types.ModuleType] = {}


def tfa_module(name: str, floatx: str = "float32") -> types.ModuleType:
    """The vendored TF Addons 0.23 module ``name`` (``'losses.giou_loss'``,
    ``'activations.sparsemax'``, ...), executed with the import shims of the module docstring
    (``tf.keras.backend.floatx()`` returning ``floatx``)."""
    key = (name, floatx)
    if key in _MODULES:
        return _MODULES[key]
    keras = _Keras2(floatx)
    tf_proxy = _TFProxy(keras)
    utils = types.SimpleNamespace(
        types=types.SimpleNamespace(
            TensorLike=Any, FloatTensorLike=Any, Number=Any, AcceptableDTypes=Any
        ),
        keras_utils=types.SimpleNamespace(LossFunctionWrapper=_TFALossFunctionWrapper),
    )

    def shim_import(mod: str, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if mod == "tensorflow" or mod.startswith("tensorflow."):
            return tf_proxy
        if mod == "typeguard":
            return types.SimpleNamespace(typechecked=_same)
        if mod == "tensorflow_addons.utils.types":
            return utils.types
        if mod == "tensorflow_addons.utils.keras_utils":
            return utils.keras_utils
        if mod == "tensorflow_addons.utils":
            return utils
        if mod.startswith("tensorflow_addons."):
            sub = mod.removeprefix("tensorflow_addons.")
            if fromlist and sub in (
                "losses",
                "activations",
            ):  # from tensorflow_addons.losses import x
                return types.SimpleNamespace(
                    **{f: tfa_module(f"{sub}.{f}", floatx) for f in fromlist}
                )
            return tfa_module(sub, floatx)
        return builtins.__import__(mod, globals, locals, fromlist, level)

    path = VENDOR / (name.replace(".", "/") + ".py")
    module = types.ModuleType(f"tensorflow_addons.{name}")
    module.__dict__["__builtins__"] = {**vars(builtins), "__import__": shim_import}
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)  # noqa: S102
    _MODULES[key] = module
    return module


# ------------------------------------------------------------------------------------------
# Float64 NumPy references of TF Addons 0.23's formulas (independent of lossbridge.tfa)
# ------------------------------------------------------------------------------------------


_SOBS = "sum_over_batch_size"
_AOT = {"compile": (_SOBS,), "placement": _SOBS}
_R4 = (_SOBS, "sum", "mean_with_sample_weight", "none")


def np_contrastive(yt, yp, margin=1.0):
    """``y_true * square(y_pred) + (1 - y_true) * square(maximum(margin - y_pred, 0))``."""
    return yt * yp**2 + (1 - yt) * np.maximum(margin - yp, 0.0) ** 2


def np_giou(yt, yp, mode="giou"):
    """``1 - squeeze(_calculate_giou(y_pred, y_true, mode))``, box by box in Python floats."""
    b1 = np.asarray(yp, np.float64).reshape(-1, 4)
    b2 = np.asarray(yt, np.float64).reshape(-1, 4)
    out = []
    for (a0, a1, a2, a3), (c0, c1, c2, c3) in zip(b1.tolist(), b2.tolist(), strict=True):
        area1 = max(0.0, a3 - a1) * max(0.0, a2 - a0)
        area2 = max(0.0, c3 - c1) * max(0.0, c2 - c0)
        inter = max(0.0, min(a3, c3) - max(a1, c1)) * max(0.0, min(a2, c2) - max(a0, c0))
        union = area1 + area2 - inter
        g = inter / union if union else 0.0
        if mode == "giou":
            enclose = max(0.0, max(a3, c3) - min(a1, c1)) * max(0.0, max(a2, c2) - min(a0, c0))
            g -= (enclose - union) / enclose if enclose else 0.0
        out.append(1.0 - g)
    return np.squeeze(np.array(out).reshape(np.shape(yp)[:-1]))


def np_pinball(yt, yp, tau=0.5):
    """``mean(maximum(tau * d, (tau - 1) * d), axis=-1)``, ``d = y_true - y_pred``."""
    tau = np.asarray(tau, np.float64)
    d = yt - yp
    return np.mean(np.maximum(tau * d, (tau - 1) * d), axis=-1)


def np_sigmoid_focal(yt, yp, alpha=0.25, gamma=2.0, from_logits=False):
    """TFA's ``sigmoid_focal_crossentropy``: Keras 2's cross-entropy (``log(p + eps)`` after the
    clip) or the logits one, ``(1 - p_t) ** gamma``, ``alpha_t``, summed over the last axis."""
    if from_logits:
        ce = np.maximum(yp, 0) - yp * yt + np.log1p(np.exp(-np.abs(yp)))
        p = 1 / (1 + np.exp(-yp))
    else:
        lo, hi = _bounds(yt, yp)
        q = np.clip(yp, lo, hi)
        ce = -(yt * np.log(q + 1e-7) + (1 - yt) * np.log(1 - q + 1e-7))
        p = yp
    p_t = yt * p + (1 - yt) * (1 - p)
    loss = ce
    if alpha:
        loss = loss * (yt * alpha + (1 - yt) * (1 - alpha))
    if gamma:
        loss = loss * (1 - p_t) ** gamma
    return np.sum(loss, axis=-1)


def np_sparsemax(z):
    """Sparsemax of each row (Martins and Astudillo 2016, algorithm 1): sort descending,
    ``k(z) = max{k : 1 + k z_(k) > sum_{j<=k} z_(j)}``,
    ``tau = (sum_{j<=k(z)} z_(j) - 1) / k(z)``."""
    z = np.asarray(z, np.float64)
    out = np.empty_like(z)
    for i, row in enumerate(z.reshape(-1, z.shape[-1])):
        s = np.sort(row)[::-1]
        k = max(k for k in range(1, row.size + 1) if 1 + k * s[k - 1] > s[:k].sum())
        out.reshape(-1, z.shape[-1])[i] = np.maximum(row - (s[:k].sum() - 1) / k, 0.0)
    return out


def np_sparsemax_loss(yt, yp):
    """The sparsemax loss in the paper's form (not TFA's reformulation):
    :math:`-q \\cdot z + \\frac12 \\sum_{j \\in S(z)} (z_j^2 - \\tau^2) + \\frac12 \\|q\\|^2`."""
    z = np.asarray(yp, np.float64)
    p = np_sparsemax(z)
    support = p > 0
    tau = np.sum(np.where(support, z - p, 0.0), axis=1) / np.sum(support, axis=1)
    sq = np.sum(np.where(support, z**2 - tau[:, None] ** 2, 0.0), axis=1)
    return -np.sum(yt * z, axis=1) + 0.5 * sq + 0.5 * np.sum(yt**2, axis=1)


def np_weighted_kappa(yt, yp, num_classes=None, weightage="quadratic", epsilon=1e-6):
    """Torre et al.'s weighted kappa, by loops: observed ``sum_n w(c_n, j) p_nj`` over
    expected ``sum_ij w_ij hist_true_i hist_pred_j / N``; ``log(ratio + epsilon)``."""
    n, c = yp.shape

    def w(i, j):
        return abs(i - j) if weightage == "linear" else (i - j) ** 2

    labels = yt @ np.arange(c)
    observed = sum(w(labels[s], j) * yp[s, j] for s in range(n) for j in range(c))
    hist_t, hist_p = yt.sum(axis=0), yp.sum(axis=0)
    expected = sum(w(i, j) * hist_t[i] * hist_p[j] for i in range(c) for j in range(c)) / n
    return np.log((observed / expected if expected else 0.0) + (epsilon or 1e-7))


# ------------------------------------------------------------------------------------------
# Adapters and the TF Addons oracle
# ------------------------------------------------------------------------------------------


def _adapter(name: str) -> Callable[..., Any]:
    from lossbridge import tfa

    cls = getattr(tfa, name)

    def fn(y_true, y_pred, sample_weight=None, reduction=_SOBS, **params):
        # dtype: the case's (as the oracle computes); dtype=None would give float32 for half
        loss = cls(reduction=reduction, dtype=y_pred.dtype, **params)
        return loss(y_true, y_pred, sample_weight=sample_weight)

    fn.__name__ = fn.__qualname__ = f"tfa_{name}"
    fn.autograph_info__ = {}  # tf.function calls it unconverted (see lossbridge/__init__.py)
    return fn


#: How TF Addons 0.23 computes each class's per-sample loss: ``(module, call)`` with
#: ``call(module, y_true, y_pred, **params)``.
_TFA_CALLS: dict[str, tuple[str, Callable[..., Any]]] = {
    "ContrastiveLoss": ("losses.contrastive", lambda m, t, p, **k: m.contrastive_loss(t, p, **k)),
    "GIoULoss": ("losses.giou_loss", lambda m, t, p, **k: m.giou_loss(t, p, **k)),
    "PinballLoss": ("losses.quantiles", lambda m, t, p, **k: m.pinball_loss(t, p, **k)),
    "SigmoidFocalCrossEntropy": (
        "losses.focal_loss",
        lambda m, t, p, **k: m.sigmoid_focal_crossentropy(t, p, **k),
    ),
    "SparsemaxLoss": ("losses.sparsemax_loss", lambda m, t, p: m.SparsemaxLoss().call(t, p)),
    "WeightedKappaLoss": (
        "losses.kappa_loss",
        lambda m, t, p, **k: m.WeightedKappaLoss(**k).call(t, p),
    ),
}


def _tfa_unavailable(dtype: str) -> str | None:
    return tfa_available()


def tfa_oracle(name: str, calls: Mapping[str, tuple[str, Callable[..., Any]]] = _TFA_CALLS):
    """Check ``tfa_<name>``: TF Addons 0.23's own loss (:func:`tfa_module`) on TensorFlow
    tensors of the case's dtype (``floatx()`` the case's dtype), reduced as Keras 3 reduces."""
    module_name, call = calls[name]

    def fn(inputs, kwargs, dtype):
        import tensorflow as tf

        kw = dict(kwargs)
        reduction = kw.pop("reduction", _SOBS)
        arr = {
            k: tf.constant(v, dtype=dtype) if v.dtype.kind == "f" else tf.constant(v)
            for k, v in inputs.items()
        }
        sw = inputs.get("sample_weight")
        arr.pop("sample_weight", None)
        if "tau" in arr:
            kw["tau"] = arr.pop("tau")
        module = tfa_module(module_name, floatx=dtype)
        values = call(module, arr["y_true"], arr["y_pred"], **kw)
        values = np.asarray(tf.cast(values, tf.float64), dtype=np.float64)
        return np.asarray(_keras_reduce(values, sw, None, reduction), dtype=np.float64)

    return Oracle(f"tfa_{name}", "tfa", fn, _tfa_unavailable)


def tfa_entry(name: str, per_sample: Callable[..., Any], bases: list[dict], **kw: Any):
    """The entry ``tfa.<name>``: the class through :func:`_adapter`, the reference
    ``per_sample`` with Keras 3's reduction, and the TF Addons oracle."""
    calls = kw.pop("calls", _TFA_CALLS)
    align = kw.pop("align", True)
    return entry(
        f"tfa.{name}",
        bases,
        fn=_adapter(name),
        reference=_ref(per_sample, align=align),
        oracle=None,
        grad_args=("y_pred",),
        extra_oracles=(tfa_oracle(name, calls),),
        **kw,
    )


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _uniform(shape, lo=0.0, hi=1.0):
    return lambda r: r.uniform(lo, hi, shape)


def _boxes(n=8, disjoint=False):
    """``[y_min, x_min, y_max, x_max]`` pairs: sides 1 to 4, offsets that overlap (or not)."""

    def draw(r):
        lo = r.uniform(0.0, 4.0, (n, 2))
        hi = lo + r.uniform(1.0, 4.0, (n, 2))
        shift = r.uniform(-1.5, 1.5, (n, 2)) + (6.0 if disjoint else 0.0)
        lo2 = lo + shift
        hi2 = lo2 + r.uniform(1.0, 4.0, (n, 2))
        return {
            "y_true": np.concatenate([lo, hi], axis=1),
            "y_pred": np.concatenate([lo2, hi2], axis=1),
            "sample_weight": r.uniform(0.5, 2.0, n),
        }

    return draw


def _onehot(n, c):
    return lambda r: np.eye(c)[r.integers(0, c, n)]


def _softmax_rows(n, c):
    def draw(r):
        x = np.exp(r.standard_normal((n, c)))
        return x / x.sum(axis=-1, keepdims=True)

    return draw


def _label_dist(n, c):
    """Target distributions: one-hot rows and two-label rows (1/2, 1/2)."""

    def draw(r):
        y = np.eye(c)[r.integers(0, c, n)]
        y[::2] += np.eye(c)[(r.integers(1, c, n) + r.integers(0, c, n))[::2] % c]
        y = np.minimum(y, 1.0)
        return y / y.sum(axis=-1, keepdims=True)

    return draw


_N_VS_N1 = (
    "(N,) labels against (N, 1) distances: TFA's wrapper broadcasts them to (N, N); the "
    "dialect aligns them first, as Keras 3's LossFunctionWrapper (docs/tfa.md)"
)
_W8 = {"sample_weight": _uniform(8, 0.5, 2.0)}


ENTRIES = (
    tfa_entry(
        "ContrastiveLoss",
        np_contrastive,
        [
            base(
                "basic",
                arrays(y_true=binary(8), y_pred=_uniform(8, 0.05, 2.0), **_W8),
                reductions=_R4,
                **_AOT,
            ),
            base(
                "margin_n1",
                arrays(y_true=binary(8), y_pred=_uniform((8, 1), 0.05, 3.0)),
                {"margin": 2.0},
                reductions=(_SOBS, "none"),
                skip={"tfa_ContrastiveLoss": _N_VS_N1},
            ),
        ],
    ),
    tfa_entry(
        "GIoULoss",
        np_giou,
        [
            base("giou", _boxes(), reductions=_R4, **_AOT),
            base("iou", _boxes(), {"mode": "iou"}, reductions=(_SOBS, "none")),
            base("disjoint", _boxes(disjoint=True), reductions=(_SOBS, "none")),
        ],
    ),
    tfa_entry(
        "PinballLoss",
        np_pinball,
        [
            base(
                "median",
                arrays(y_true=normal((8, 5)), y_pred=normal((8, 5)), **_W8),
                reductions=_R4,
                **_AOT,
            ),
            base(
                "tau_0.1",
                arrays(y_true=normal((8, 5)), y_pred=normal((8, 5))),
                {"tau": 0.1},
                reductions=(_SOBS, "none"),
            ),
            base(
                "tau_array",
                arrays(
                    y_true=normal((8, 3)),
                    y_pred=normal((8, 3)),
                    tau=lambda r: np.array([0.1, 0.5, 0.9]),
                ),
                reductions=(_SOBS, "none"),
            ),
        ],
    ),
    tfa_entry(
        "SigmoidFocalCrossEntropy",
        np_sigmoid_focal,
        [
            base(
                "probs",
                arrays(y_true=binary((8, 5)), y_pred=_uniform((8, 5), 0.02, 0.98), **_W8),
                reductions=("none", _SOBS, "sum"),
                **_AOT,
            ),
            base(
                "logits",
                arrays(y_true=binary((8, 5)), y_pred=normal((8, 5), 2.0)),
                {"from_logits": True, "alpha": 0.4, "gamma": 1.5},
                reductions=("none", _SOBS),
            ),
            base(
                "no_alpha_no_gamma",
                arrays(y_true=binary((8, 5)), y_pred=_uniform((8, 5), 0.02, 0.98)),
                {"alpha": 0.0, "gamma": 0.0},
                reductions=("none",),
            ),
            base(
                "logits_no_alpha",
                arrays(y_true=binary((8, 5)), y_pred=normal((8, 5), 2.0)),
                {"from_logits": True, "alpha": 0.0},
                reductions=("none",),
            ),
        ],
    ),
    tfa_entry(
        "SparsemaxLoss",
        np_sparsemax_loss,
        [
            base(
                "one_hot",
                arrays(y_true=_onehot(8, 5), y_pred=normal((8, 5), 1.5), **_W8),
                reductions=_R4,
                **_AOT,
            ),
            base(
                "multilabel",
                arrays(y_true=_label_dist(8, 5), y_pred=normal((8, 5), 0.7)),
                reductions=(_SOBS, "none"),
            ),
        ],
        align=False,
    ),
    tfa_entry(
        "WeightedKappaLoss",
        np_weighted_kappa,
        [
            base(
                "quadratic",
                arrays(y_true=_onehot(8, 4), y_pred=_softmax_rows(8, 4)),
                {"num_classes": 4},
                reductions=("none", _SOBS),
                **_AOT,
            ),
            base(
                "linear",
                arrays(y_true=_onehot(8, 4), y_pred=_softmax_rows(8, 4)),
                {"num_classes": 4, "weightage": "linear", "epsilon": 1e-3},
                reductions=("none",),
            ),
        ],
        align=False,
    ),
)

_FLOAT32_HYPER = (
    "TF Addons casts a Python {name} with tf.cast({name}, y_pred.dtype), which converts the "
    "float to a float32 tensor first: its float64 loss uses {name} rounded to float32 ({value} "
    "is {rounded!r}); the dialect keeps the value exact. With {name} given as a float64 tensor "
    "TFA agrees within the float64 bound (tests/test_tfa_dialect.py)"
)

#: TF Addons' float32 rounding of Python hyperparameters in float64 (see the reasons).
EXCEPTIONS = (
    Loosened(
        loss="tfa.PinballLoss",
        case="tau_0.1_*",
        check="tfa_PinballLoss",
        dtype="float64",
        bound=1e-6,  # float32's value bound: tau is TFA's float32 value
        measured=1.65e-9,
        reason=_FLOAT32_HYPER.format(name="tau", value=0.1, rounded=float(np.float32(0.1))),
    ),
    Loosened(
        loss="tfa.SigmoidFocalCrossEntropy",
        case="logits_*",
        check="tfa_SigmoidFocalCrossEntropy",
        dtype="float64",
        bound=1e-6,  # float32's value bound: alpha is TFA's float32 value
        measured=6.9e-9,
        reason=_FLOAT32_HYPER.format(name="alpha", value=0.4, rounded=float(np.float32(0.4))),
    ),
)

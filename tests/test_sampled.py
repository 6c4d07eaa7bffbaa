"""Sampled softmax and NCE: what the conformance registry does not check.

Values against TensorFlow and the float64 reference on every backend and dtype, with finite
differences of the gradients, are the registry's (``conformance/extra_sampled.py``). Here:
gradients against TensorFlow's own ``GradientTape`` of ``tf.nn.sampled_softmax_loss`` and
``tf.nn.nce_loss``, TensorFlow's own candidate sampler's output passed in unchanged, the
accidental-hit semantics (a hit takes no part; a class sampled twice loses its last copy only),
hand computations, the two ways of passing the sampled values, the denominator and bad input.
Expected values come from TensorFlow, hand computations and float64 formulas written here; never
from lossbridge.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import backend_grad, make, to_numpy

import lossbridge as lb

tf = pytest.importorskip("tensorflow")

LOSSES = {"softmax": lb.sampled_softmax_loss, "nce": lb.nce_loss}
TF_LOSSES = {"softmax": "sampled_softmax_loss", "nce": "nce_loss"}


def _problem(seed=0, batch=5, dim=4, classes=9, num_true=2, sampled=(3, 1, 7, 3, 0)):
    r = np.random.default_rng(seed)
    labels = np.stack([r.choice(classes, num_true, replace=False) for _ in range(batch)])
    labels[0, 0], labels[1, 1] = 3, 7  # accidental hits; 3 is also sampled twice
    s = np.asarray(sampled, dtype=np.int64)
    return {
        "weights": r.standard_normal((classes, dim)),
        "biases": r.standard_normal(classes),
        "labels": labels.astype(np.int64),
        "inputs": r.standard_normal((batch, dim)),
        "sampled": s,
        "tq": r.uniform(0.05, 1.2, (batch, num_true)),
        "sq": r.uniform(0.05, 1.2, s.shape[0]),
    }


def _tf(kind, p, dtype="float64", hits=None, wrt=None):
    """TensorFlow's per-example loss, or its gradient w.r.t. ``wrt`` (a key of ``p``)."""
    w, b, h, tq, sq = (
        tf.constant(p[k].astype(dtype)) for k in ("weights", "biases", "inputs", "tq", "sq")
    )
    kwargs = {} if hits is None else {"remove_accidental_hits": hits}
    watched = {"weights": w, "biases": b, "inputs": h}
    with tf.GradientTape() as tape:
        if wrt is not None:
            tape.watch(watched[wrt])
        out = getattr(tf.nn, TF_LOSSES[kind])(
            weights=w,
            biases=b,
            labels=tf.constant(p["labels"]),
            inputs=h,
            num_sampled=len(p["sampled"]),
            num_classes=p["weights"].shape[0],
            num_true=p["labels"].shape[1],
            sampled_values=(tf.constant(p["sampled"]), tq, sq),
            **kwargs,
        )
        total = tf.reduce_sum(out)
    if wrt is None:
        return out.numpy()
    return tf.convert_to_tensor(tape.gradient(total, watched[wrt])).numpy()


def _ours(kind, hits=None):
    kwargs = {} if hits is None else {"remove_accidental_hits": hits}

    def fn(w, b, labels, h, s, tq, sq):
        return LOSSES[kind](w, b, labels, h, (s, tq, sq), reduction="none", **kwargs)

    return fn


def _args(p):
    return [p[k] for k in ("weights", "biases", "labels", "inputs", "sampled", "tq", "sq")]


@pytest.mark.parametrize("kind", ["softmax", "nce"])
@pytest.mark.parametrize("hits", [True, False])
@pytest.mark.parametrize("wrt", ["weights", "biases", "inputs"])
def test_gradients_match_tensorflow(ad_backend, kind, hits, wrt):
    """d(sum loss)/d(weights, biases, inputs) on every autodiff backend equals TensorFlow's tape
    (float64; accidental hits and a twice-sampled class included)."""
    p = _problem()
    expected = _tf(kind, p, hits=hits, wrt=wrt)
    index = {"weights": 0, "biases": 1, "inputs": 3}[wrt]
    got = backend_grad(ad_backend, _ours(kind, hits), _args(p), index)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["softmax", "nce"])
def test_values_match_tensorflow_every_backend(backend, kind):
    """TensorFlow's per-example numbers in float64 with its default remove_accidental_hits."""
    p = _problem(seed=3)
    args = [make(backend, a, "float64") for a in _args(p)]
    out = _ours(kind)(*args)
    np.testing.assert_allclose(to_numpy(out), _tf(kind, p), rtol=1e-13)


@pytest.mark.parametrize("kind", ["softmax", "nce"])
def test_tensorflow_sampler_output_passes_unchanged(kind):
    """tf.random.log_uniform_candidate_sampler's tuple (expected counts (batch, num_true),
    float32) goes in as it is: float32 values equal TensorFlow's within float32 rounding."""
    r = np.random.default_rng(7)
    w = r.standard_normal((50, 6)).astype(np.float32)
    b = r.standard_normal(50).astype(np.float32)
    h = r.standard_normal((8, 6)).astype(np.float32)
    labels = tf.constant(r.integers(0, 50, (8, 2)), tf.int64)
    values = tf.random.log_uniform_candidate_sampler(
        labels, num_true=2, num_sampled=10, unique=True, range_max=50, seed=1
    )
    assert tuple(values[1].shape) == (8, 2) and values[1].dtype == tf.float32
    expected = getattr(tf.nn, TF_LOSSES[kind])(
        w, b, labels, h, num_sampled=10, num_classes=50, num_true=2, sampled_values=values
    ).numpy()
    tw, tb, th = tf.constant(w), tf.constant(b), tf.constant(h)
    out = LOSSES[kind](tw, tb, labels, th, values, num_true=2, reduction="none")
    assert out.dtype == tf.float32 and tuple(out.shape) == (8,)
    np.testing.assert_allclose(out.numpy(), expected, rtol=2e-6, atol=1e-6)


def _plain(p):
    """float64 logits written out: z_t (batch, T) and z_s (batch, S), log Q subtracted."""
    w, b, h, labels, s = p["weights"], p["biases"], p["inputs"], p["labels"], p["sampled"]
    z_t = np.einsum("bd,btd->bt", h, w[labels]) + b[labels] - np.log(p["tq"])
    z_s = h @ w[s].T + b[s] - np.log(p["sq"])
    return z_t, z_s


def _removed(p):
    """The accidental-hit mask, by hand: for each class, its last position in ``sampled``."""
    mask = np.zeros((len(p["labels"]), len(p["sampled"])), bool)
    last = {int(c): k for k, c in enumerate(p["sampled"])}
    for i, row in enumerate(p["labels"]):
        for c in set(int(t) for t in row):
            if c in last:
                mask[i, last[c]] = True
    return mask


def test_accidental_hits_take_no_part_softmax():
    """A removed hit leaves the softmax: log(sum of the other exp) - mean(z_t), the formula with
    the column dropped; the first copy of the twice-sampled class 3 stays in (TensorFlow's
    kernel maps a class to its last position)."""
    p = _problem()
    z_t, z_s = _plain(p)
    mask = _removed(p)
    assert mask[0, 3] and not mask[0, 0]  # class 3 at positions 0 and 3: the last removed
    expected = [
        np.log(np.exp(z_t[i]).sum() + np.exp(z_s[i][~mask[i]]).sum()) - z_t[i].mean()
        for i in range(len(z_t))
    ]
    out = lb.sampled_softmax_loss(*_args(p)[:4], (p["sampled"], p["tq"], p["sq"]), reduction="none")
    np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_accidental_hits_take_no_part_nce():
    """NCE with remove_accidental_hits: the hit's softplus term is exactly 0 (sampled logistic)."""
    p = _problem()
    z_t, z_s = _plain(p)
    mask = _removed(p)
    sp = lambda x: np.logaddexp(0.0, x)  # noqa: E731
    expected = [
        np.sum(sp(z_t[i]) - z_t[i] / z_t.shape[1]) + np.sum(sp(z_s[i][~mask[i]]))
        for i in range(len(z_t))
    ]
    out = lb.nce_loss(
        *_args(p)[:4], (p["sampled"], p["tq"], p["sq"]), remove_accidental_hits=True,
        reduction="none",
    )  # fmt: skip
    np.testing.assert_allclose(out, expected, rtol=1e-14)
    keep = lb.nce_loss(*_args(p)[:4], (p["sampled"], p["tq"], p["sq"]), reduction="none")
    with_hits = [np.sum(sp(z_t[i]) - z_t[i] / 2) + np.sum(sp(z_s[i])) for i in range(len(z_t))]
    np.testing.assert_allclose(keep, with_hits, rtol=1e-14)  # TF's NCE default keeps them


def test_hand_computation_one_example():
    """One example, dim 1, weights (1, 2, 3), no bias, h = 1, target 0, sampled {1, 2},
    Q = 1: z = (1, 2, 3); softmax: log(e + e^2 + e^3) - 1; NCE: softplus(-1) + softplus(2) +
    softplus(3)."""
    w, b, h = np.array([[1.0], [2.0], [3.0]]), np.zeros(3), np.array([[1.0]])
    values = (np.array([1, 2]), np.ones((1, 1)), np.ones(2))
    soft = lb.sampled_softmax_loss(w, b, np.array([[0]]), h, values, reduction="sum")
    assert float(soft) == pytest.approx(np.log(np.e + np.e**2 + np.e**3) - 1.0, rel=1e-15)
    nce = lb.nce_loss(w, b, np.array([[0]]), h, values, reduction="sum")
    expected = np.log1p(np.exp(-1.0)) + np.log1p(np.exp(2.0)) + np.log1p(np.exp(3.0))
    assert float(nce) == pytest.approx(expected, rel=1e-15)
    # subtract_log_q with Q = (e, 1, 1): z_t drops by 1
    values_q = (np.array([1, 2]), np.full((1, 1), np.e), np.ones(2))
    soft_q = lb.sampled_softmax_loss(w, b, np.array([[0]]), h, values_q, reduction="sum")
    assert float(soft_q) == pytest.approx(np.log(1.0 + np.e**2 + np.e**3), rel=1e-15)
    soft_noq = lb.sampled_softmax_loss(
        w, b, np.array([[0]]), h, values_q, subtract_log_q=False, reduction="sum"
    )
    assert float(soft_noq) == pytest.approx(float(soft), rel=1e-15)


@pytest.mark.parametrize("kind", ["softmax", "nce"])
def test_keywords_equal_the_tuple(kind):
    p = _problem()
    a = LOSSES[kind](*_args(p)[:4], (p["sampled"], p["tq"], p["sq"]))
    b = LOSSES[kind](
        *_args(p)[:4], sampled=p["sampled"], true_expected_count=p["tq"],
        sampled_expected_count=p["sq"],
    )  # fmt: skip
    assert float(a) == float(b)


@pytest.mark.parametrize("kind", ["softmax", "nce"])
def test_reductions_and_denominator(kind):
    """'mean' is the batch mean of TensorFlow's per-example losses, 'sum' their sum; two shards
    with denominator=the batch size add up to the full mean; mean_denominator is the batch."""
    p = _problem(seed=5, batch=6)
    per = _tf(kind, p)
    fn = LOSSES[kind]
    args = _args(p)
    assert float(fn(*args[:4], tuple(args[4:]))) == pytest.approx(per.mean(), rel=1e-13)
    assert float(fn(*args[:4], tuple(args[4:]), reduction="sum")) == pytest.approx(
        per.sum(), rel=1e-13
    )
    d = lb.mean_denominator(fn, *args[:4], tuple(args[4:]))
    assert float(d) == 6.0
    parts = []
    for rows in (slice(0, 2), slice(2, 6)):
        parts.append(
            fn(
                p["weights"],
                p["biases"],
                p["labels"][rows],
                p["inputs"][rows],
                (p["sampled"], p["tq"][rows], p["sq"]),
                denominator=6,
            )  # fmt: skip
        )
    assert float(sum(parts)) == pytest.approx(per.mean(), rel=1e-13)


def test_row_expected_count_broadcasts():
    """true_expected_count of shape (batch, 1) is broadcast over the targets, as TensorFlow's
    ``true_logits -= log(true_expected_count)`` broadcasts it."""
    p = _problem()
    col = p["tq"][:, :1]
    full = dict(p, tq=np.repeat(col, 2, axis=1))
    a = lb.nce_loss(*_args(p)[:4], (p["sampled"], col, p["sq"]), reduction="none")
    np.testing.assert_allclose(a, _tf("nce", full), rtol=1e-13)


def test_half_inputs_compute_in_float32():
    """float16 inputs: the float32 computation (no -FLT_MAX overflow to -inf: NCE's hit stays
    0, not NaN), rounded once to float16."""
    p = _problem()
    args16 = [a.astype(np.float16) if a.dtype.kind == "f" else a for a in _args(p)]
    out = lb.nce_loss(*args16[:4], tuple(args16[4:]), remove_accidental_hits=True, reduction="none")
    assert out.dtype == np.float16
    ref = lb.nce_loss(
        *[a.astype(np.float32) if a.dtype.kind == "f" else a for a in args16][:4],
        tuple(a.astype(np.float32) if a.dtype.kind == "f" else a for a in args16[4:]),
        remove_accidental_hits=True,
        reduction="none",
    )
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out, ref.astype(np.float16))


@pytest.mark.parametrize("kind", ["softmax", "nce"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_tensorflow_half_weights_gradient_summed_in_float32(kind, dtype):
    """TensorFlow, half weights: the rows looked up many times (48 examples over 3 classes, two
    of them also sampled) get their gradient summed in float32 and rounded once, within the
    house bound of 2 ulp of TensorFlow's own float64 gradient on the same rounded inputs (a
    plain tf.cast in the half rule summed tf.gather's IndexedSlices in the half dtype: 23 ulp
    float16 and 53 bfloat16 on the registry's cases), and it comes back dense."""
    from lossbridge.conformance.precision_table import round_to, ulps

    p = _problem(seed=3, batch=48, classes=6, sampled=(0, 4, 1, 5))
    p["labels"] = np.stack([np.arange(48) % 3, (np.arange(48) + 1) % 3], axis=1)
    p = {k: round_to(v, dtype) if v.dtype.kind == "f" else v for k, v in p.items()}
    expected = _tf(kind, p, wrt="weights")  # float64 tape on the half-rounded inputs
    tf_args = [tf.cast(a, dtype) if a.dtype.kind == "f" else tf.constant(a) for a in _args(p)]
    with tf.GradientTape() as tape:
        tape.watch(tf_args[0])
        total = tf.reduce_sum(_ours(kind)(*tf_args))
    got = tape.gradient(total, tf_args[0])
    assert isinstance(got, tf.Tensor) and got.dtype.name == dtype
    assert ulps(tf.cast(got, tf.float64).numpy(), expected, dtype) <= 2.0


_P = _problem()
_W, _B, _L, _H = _P["weights"], _P["biases"], _P["labels"], _P["inputs"]
_V = (_P["sampled"], _P["tq"], _P["sq"])


@pytest.mark.parametrize("loss", [lb.sampled_softmax_loss, lb.nce_loss])
@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((_W, _B, _L, _H), {}, TypeError, "pass the sampled classes"),
        ((_W, _B, _L, _H, _V), {"sampled": _V[0]}, TypeError, "not both"),
        ((_W, _B, _L, _H, 5), {}, TypeError, r"sampled_values must be a tuple .* got int"),
        ((_W, _B, _L, _H, _V[:2]), {}, TypeError, "a tuple of length 2"),
        ((_W, _B, _L.astype(float), _H, _V), {}, TypeError, "labels must have an integer"),
        ((_W, _B, _L[:, 0], _H, _V), {}, ValueError, r"labels must have shape \(batch, num_true"),
        ((_W, _B, _L, _H, _V), {"num_true": 1}, ValueError, "num_true=1 but labels"),
        ((_W[:, :3], _B, _L, _H, _V), {}, ValueError, r"weights must have shape \(num_classes"),
        ((_W, _B[:4], _L, _H, _V), {}, ValueError, r"biases must have shape \(num_classes,\)"),
        ((_W, _B, _L + 20, _H, _V), {}, ValueError, "labels holds class index"),
        ((_W, _B, _L, _H, (_V[0] - 5, _V[1], _V[2])), {}, ValueError, "sampled holds class"),
        ((_W, _B, _L, _H, (_V[0], _V[1][:2], _V[2])), {}, ValueError, "true_expected_count"),
        ((_W, _B, _L, _H, (_V[0], _V[1], _V[2][:2])), {}, ValueError, "sampled_expected_count"),
        ((_W, _B, _L, _H, _V), {"remove_accidental_hits": 1}, TypeError, "must be a bool"),
        ((_W, _B, _L, _H, _V), {"reduction": "sum", "denominator": 3}, ValueError, "denominator"),
    ],
)
def test_bad_input(loss, args, kwargs, exc, match):
    with pytest.raises(exc, match=match) as info:
        loss(*args, **kwargs)
    assert str(info.value).startswith(f"{loss.__name__}: ")

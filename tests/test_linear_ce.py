"""``lossbridge.linear_cross_entropy``, its options and ``lossbridge.nn.LinearCrossEntropyLoss``.

Expected values come from torch 2.13's own ``torch.nn.functional.linear_cross_entropy`` (values,
and gradients through torch's autograd) in float64, from torch's own ``LinearCrossEntropyOptions``
(its chunk-size resolution), from ``torch.nn.LinearCrossEntropyLoss``, and, for lossbridge's
``z_loss`` and ``softcap``, from float64 NumPy transcriptions of the papers' formulas written
here (PaLM: ``z * log(Z)^2``; Gemma 2: ``c * tanh(l / c)``) and torch autograd of the same
transcription. The kernels' own tests (JAX and TensorFlow loops, chunk edge cases) are in
``tests/test_linear_ce_kernels.py``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from _helpers import assert_close, assert_result, backend_grad, make

import lossbridge as lb
import lossbridge.nn as lnn

torch = pytest.importorskip("torch")
F = torch.nn.functional

_R = np.random.default_rng(20261207)
N, D, C = 7, 5, 11
X = _R.standard_normal((N, D))
W = _R.standard_normal((C, D)) / math.sqrt(D)
B = _R.standard_normal(C)
T = _R.integers(0, C, N)
T[[1, 4]] = -100  # torch's default ignore_index (ignore_index=None) ignores these
CW = _R.uniform(0.2, 2.0, C)
P = np.exp(_R.standard_normal((N, C)))
P /= P.sum(axis=1, keepdims=True)
#: chunk sizes: one row, one that does not divide N, more than N (one chunk of N rows)
CHUNKS = (1, 3, 2 * N)

#: keyword grids (arrays as NumPy): the configurations torch's reference path covers
GRID = {
    "plain": {},
    "bias": {"linear_bias": B},
    "weight_bias": {"linear_bias": B, "weight": CW},
    "smoothing_weight": {"label_smoothing": 0.2, "weight": CW},
    "sum": {"reduction": "sum", "linear_bias": B},
    "none": {"reduction": "none", "weight": CW, "label_smoothing": 0.1},
}


def _torch(a):
    a = np.asarray(a)
    return torch.from_numpy(a.astype(np.float64) if a.dtype.kind == "f" else a)


def torch_value(x, w, t, **kw):
    """``F.linear_cross_entropy`` in float64 (NumPy in, NumPy out; reference path)."""
    kw = {k: _torch(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return F.linear_cross_entropy(_torch(x), _torch(w), _torch(t), **kw).detach().numpy()


def torch_grads(x, w, t, cot=None, **kw):
    """Gradients of ``sum(cot * F.linear_cross_entropy(...))`` w.r.t. input, weight, bias."""
    xt, wt = _torch(x).requires_grad_(), _torch(w).requires_grad_()
    kw = {k: _torch(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    if kw.get("linear_bias") is not None:
        kw["linear_bias"].requires_grad_()
    out = F.linear_cross_entropy(xt, wt, _torch(t), **kw)
    (out if cot is None else out * _torch(cot)).sum().backward()
    b = kw.get("linear_bias")
    return xt.grad.numpy(), wt.grad.numpy(), None if b is None else b.grad.numpy()


def opts(chunk):
    return lb.LinearCrossEntropyOptions(batch_chunk_size=chunk)


# ------------------------------------------------------------------------------------------
# Values against torch, every backend, reference and chunked
# ------------------------------------------------------------------------------------------


#: The registry's linear_cross_entropy cases take the reference path and chunks of 3 rows with
#: index targets and every option, and probability targets with a bias; here the chunk sizes
#: it has no case for (one row, more rows than N), and probability targets with class weights.
VALUE_PARAMS = [
    pytest.param(probs, grid, chunk, id=f"{'probs' if probs else 'index'}-{grid}-{chunk}")
    for probs in (False, True)
    for grid in sorted(GRID)
    for chunk in (None, *CHUNKS)
    if chunk in (1, 2 * N) or (probs and "weight" in GRID[grid])
]


@pytest.mark.parametrize(("probs", "grid", "chunk"), VALUE_PARAMS)
def test_values_match_torch(backend, grid, chunk, probs):
    """float64 on every backend equals torch's reference path, for every chunk size."""
    kw = GRID[grid]
    target = P if probs else T
    expected = torch_value(X, W, target, **kw)
    arrays = {
        k: make(backend, v, "float64") if isinstance(v, np.ndarray) else v for k, v in kw.items()
    }
    out = lb.linear_cross_entropy(
        make(backend, X, "float64"),
        make(backend, W, "float64"),
        make(backend, target, "float64"),
        options=None if chunk is None else opts(chunk),
        **arrays,
    )
    assert_result(out, backend, "float64", expected.shape)
    assert_close(out, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_tensorflow_chunked_kernel_with_relaxed_shapes(probs):
    """The TF kernel's cached tf.function relaxes its shapes after a retrace
    (``reduce_retracing``): with the class count unknown in the graph, label smoothing and the
    probability targets still give torch's numbers (a float() of the unknown dimension raised)."""
    tf = pytest.importorskip("tensorflow")
    kw = {"label_smoothing": 0.2, "linear_bias": B}
    for c in (C, C - 2, C + 3, C - 4):  # new class counts: the shapes relax after a retrace
        w, b = np.resize(W, (c, D)), np.resize(B, c)
        if probs:
            t = np.resize(P, (N, c))
            t /= t.sum(axis=1, keepdims=True)
        else:
            t = np.where(T >= 0, T % c, T)
        expected = torch_value(X, w, t, **{**kw, "linear_bias": b})
        out = lb.linear_cross_entropy(
            tf.constant(X),
            tf.constant(w),
            tf.constant(t),
            options=opts(3),
            label_smoothing=0.2,
            linear_bias=tf.constant(b),
        )
        assert_close(out, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("chunk", [None, 2])
def test_unbatched_and_k_dimensional_match_torch(backend, chunk):
    """Unbatched input (D,) with a () target; a (C, 2, D) weight with (C, 2) bias: the
    K-dimensional loss (chunked calls fall back to the reference path with torch's warning)."""
    o = None if chunk is None else opts(chunk)
    f64 = lambda a: make(backend, a, "float64")  # noqa: E731
    out = lb.linear_cross_entropy(
        f64(X[0]),
        f64(W),
        make(backend, np.int64(3)),
        options=o,
        linear_bias=f64(B),
        reduction="none",
    )
    assert_result(out, backend, "float64", ())
    assert_close(out, torch_value(X[0], W, np.int64(3), linear_bias=B, reduction="none"), 1e-12)

    wk = _R.standard_normal((C, 2, D))
    bk = _R.standard_normal((C, 2))
    tk = _R.integers(0, C, (N, 2))
    tk[0, 1] = -100
    kw = {"linear_bias": bk, "weight": CW, "label_smoothing": 0.1}
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        out = lb.linear_cross_entropy(
            f64(X),
            f64(wk),
            make(backend, tk),
            options=o,
            linear_bias=f64(bk),
            weight=f64(CW),
            label_smoothing=0.1,
        )
    assert_close(out, torch_value(X, wk, tk, **kw), 1e-12)
    fallback = [w for w in got if "options ignored" in str(w.message)]
    assert len(fallback) == (0 if chunk is None else 1)
    if chunk is not None:
        assert fallback[0].category is UserWarning
        assert fallback[0].filename == __file__  # points at the caller
        assert "out_features=(2,)" in str(fallback[0].message)


@pytest.mark.parametrize("chunk", [None, 3])
def test_ignore_index_none_is_torchs_minus_100(chunk):
    """torch 2.13 maps ``ignore_index=None`` to -100 for index targets (its source, and a call):
    a -100 target is ignored, not an error; ignore_index with probabilities is an error."""
    got = lb.linear_cross_entropy(
        X, W, T, options=None if chunk is None else opts(chunk), reduction="none"
    )
    assert got[1] == 0.0 and got[4] == 0.0
    assert_close(got, torch_value(X, W, T, reduction="none"), 1e-12)
    t = np.where(T == -100, 3, T)
    t[0] = 3
    custom = lb.linear_cross_entropy(
        X, W, t, ignore_index=3, options=None if chunk is None else opts(chunk), reduction="none"
    )
    assert_close(custom, torch_value(X, W, _torch(t), ignore_index=3, reduction="none"), 1e-12)
    with pytest.raises(ValueError, match="ignore_index=-100 was given but target holds class"):
        lb.linear_cross_entropy(X, W, P, ignore_index=-100)
    bad = T.copy()
    bad[0] = -1
    with pytest.raises(ValueError, match="class index -1, out of range for 11 classes"):
        lb.linear_cross_entropy(X, W, bad, options=None if chunk is None else opts(chunk))
    with pytest.raises(IndexError):  # torch refuses it too
        F.linear_cross_entropy(_torch(X), _torch(W), _torch(bad))


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("chunk", [None, 3])
def test_every_target_ignored(chunk):
    """'mean' over nothing is NaN with gradient 0, 'sum' is 0: torch's reference path."""
    t = np.full(N, -100)
    o = None if chunk is None else opts(chunk)
    assert math.isnan(float(lb.linear_cross_entropy(X, W, t, options=o)))
    assert float(lb.linear_cross_entropy(X, W, t, options=o, reduction="sum")) == 0.0
    xt = _torch(X).requires_grad_()
    lb.linear_cross_entropy(xt, _torch(W), _torch(t), options=o).backward()
    xr = _torch(X).requires_grad_()
    F.linear_cross_entropy(xr, _torch(W), _torch(t)).backward()
    assert torch.equal(xt.grad, xr.grad) and not xr.grad.any()


# ------------------------------------------------------------------------------------------
# Gradients against torch's autograd
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1])
@pytest.mark.parametrize("grid", ["weight_bias", "smoothing_weight", "sum", "none"])
def test_gradients_match_torch(ad_backend, grid, chunk):
    """d/dinput, d/dlinear_weight, d/dlinear_bias of sum(loss) equal torch's (float64), with
    chunks of one row (the reference path and chunks of 3: the registry's grad_oracle check)."""
    kw = {"linear_bias": B, **GRID[grid]}
    want = torch_grads(X, W, T, **kw)
    rest = {k: v for k, v in kw.items() if k != "linear_bias"}
    o = None if chunk is None else opts(chunk)

    def loss(x, w, b, t):
        conv = {
            k: make(ad_backend, v, "float64") if isinstance(v, np.ndarray) else v
            for k, v in rest.items()
        }
        return lb.linear_cross_entropy(x, w, t, linear_bias=b, options=o, **conv)

    for i, expected in enumerate(want):
        got = backend_grad(ad_backend, loss, [X, W, B, T], i)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("probs", [False, True], ids=["index", "probs"])
def test_none_gradient_with_a_weighted_cotangent_torch(probs):
    """'none' recomputes each chunk in its backward with the per-row upstream gradient: a
    non-uniform cotangent, and the gradient reaching probability targets, equal torch's."""
    cot = _R.uniform(-1.0, 2.0, N)
    target = P if probs else T
    kw = {"linear_bias": B, "weight": CW, "reduction": "none", "label_smoothing": 0.1}
    want = torch_grads(X, W, target, cot=cot, **kw)
    for chunk in (None, 2, 5):
        xt, wt, bt = (_torch(a).requires_grad_() for a in (X, W, B))
        tt = _torch(target).requires_grad_() if probs else _torch(target)
        out = lb.linear_cross_entropy(
            xt,
            wt,
            tt,
            linear_bias=bt,
            weight=_torch(CW),
            reduction="none",
            label_smoothing=0.1,
            options=None if chunk is None else opts(chunk),
        )
        (out * _torch(cot)).sum().backward()
        for got, expected in zip((xt.grad, wt.grad, bt.grad), want, strict=True):
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-14)
        if probs:  # torch's reference path differentiates the probabilities too
            pr = _torch(P).requires_grad_()
            (
                F.linear_cross_entropy(
                    _torch(X),
                    _torch(W),
                    pr,
                    **{**kw, "weight": _torch(CW), "linear_bias": _torch(B)},
                )
                * _torch(cot)
            ).sum().backward()
            np.testing.assert_allclose(tt.grad.numpy(), pr.grad.numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------
# z-loss and soft-capping: float64 transcriptions of the papers' formulas
# ------------------------------------------------------------------------------------------


def z_softcap_formula(x, w, b, t, cw, z, cap, eps=0.0, reduction="mean"):
    """Plain float64 loops: Gemma 2's ``c tanh(l / c)``, then torch's (weighted, smoothed)
    cross-entropy plus PaLM's ``z * log(Z)^2`` with ``Z = sum_c exp(l_c)``, the z term weighted
    like its row (class weight; 0 for ignored rows) and averaged with it."""
    losses, weights = [], []
    for n in range(x.shape[0]):
        logits = [sum(x[n, k] * w[c, k] for k in range(x.shape[1])) + b[c] for c in range(len(b))]
        if cap is not None:
            logits = [cap * math.tanh(v / cap) for v in logits]
        log_z = math.log(sum(math.exp(v) for v in logits))
        logp = [v - log_z for v in logits]
        if t.ndim == 1:
            if t[n] == -100:
                losses.append(0.0)
                weights.append(0.0)
                continue
            ce = (1 - eps) * cw[t[n]] * -logp[t[n]] + eps / len(b) * -sum(
                cw[c] * logp[c] for c in range(len(b))
            )
            rw = cw[t[n]]
        else:
            soft = [(1 - eps) * t[n, c] + eps / len(b) for c in range(len(b))]
            ce = -sum(cw[c] * soft[c] * logp[c] for c in range(len(b)))
            rw = 1.0
        losses.append(ce + z * rw * log_z**2)
        weights.append(rw)
    if reduction == "none":
        return np.array(losses)
    if reduction == "sum":
        return np.array(sum(losses))
    return np.array(sum(losses) / sum(weights))


@pytest.mark.parametrize("chunk", [None, 3])
@pytest.mark.parametrize(
    ("z", "cap", "eps", "reduction", "probs"),
    # the registry's cases take z-loss with the cap (index targets, a class weight) and z-loss
    # with smoothed probabilities; here the cap with smoothing, and with probabilities
    [
        (0.05, 1.5, 0.1, "none", False),
        (0.05, 1.5, 0.0, "sum", True),
    ],
)
def test_z_loss_and_softcap_match_the_formulas(backend, chunk, z, cap, eps, reduction, probs):
    x = 3.0 * X  # logits of a few units: the cap bites
    target = P if probs else T
    expected = z_softcap_formula(x, W, B, target, CW, z, cap, eps, reduction)
    f64 = lambda a: make(backend, a, "float64")  # noqa: E731
    out = lb.linear_cross_entropy(
        f64(x),
        f64(W),
        f64(target) if probs else make(backend, target),
        linear_bias=f64(B),
        weight=f64(CW),
        z_loss=z,
        softcap=cap,
        label_smoothing=eps,
        reduction=reduction,
        options=None if chunk is None else opts(chunk),
    )
    assert_close(out, expected, rtol=1e-12)


@pytest.mark.parametrize("chunk", [1])
def test_z_loss_and_softcap_gradients(ad_backend, chunk):
    """Gradients through z-loss and the cap equal torch autograd of the transcription, with
    chunks of one row (the reference path and chunks of 3: the registry's grad_fd check)."""
    z, cap = 0.02, 2.0

    def transcription(x, w, b):
        logits = cap * torch.tanh((x @ w.T + b) / cap)
        lse = torch.logsumexp(logits, 1)
        ce = F.cross_entropy(logits, _torch(T), weight=_torch(CW), reduction="none")
        valid = _torch(T) != -100
        rw = torch.where(valid, _torch(CW)[_torch(np.where(T < 0, 0, T))], 0.0)
        return (ce + z * rw * lse**2).sum() / rw.sum()

    leaves = [_torch(a).requires_grad_() for a in (3.0 * X, W, B)]
    want = torch.autograd.grad(transcription(*leaves), leaves)
    o = None if chunk is None else opts(chunk)

    def loss(x, w, b, t):
        return lb.linear_cross_entropy(
            x,
            w,
            t,
            linear_bias=b,
            z_loss=z,
            softcap=cap,
            weight=make(ad_backend, CW, "float64"),
            options=o,
        )

    for i, expected in enumerate(want):
        got = backend_grad(ad_backend, loss, [3.0 * X, W, B, T], i)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------
# Chunk boundaries: the same numbers up to rounding
# ------------------------------------------------------------------------------------------


def test_chunk_boundaries_change_float32_results_only_by_rounding(ad_backend):
    """float32 at every chunk size against the float64 reference on the same rounded inputs.

    Rounding bound: the logits carry D products, |x||w| ~ 3, so about D * 3 * eps32 = 1e-6
    absolute error each; the loss and its gradients are 1-Lipschitz in each logit's row, and
    'mean' and the weight gradient add ceil(N / chunk) partial sums (<= 7 here), so a relative
    1e-5 bounds every chunk size with room (measured: 2e-7).
    """
    x32, w32 = X.astype(np.float32), W.astype(np.float32)
    want_val = torch_value(x32.astype(np.float64), w32.astype(np.float64), T, weight=CW)
    want = torch_grads(x32.astype(np.float64), w32.astype(np.float64), T, weight=CW)
    for chunk in (None, *CHUNKS):
        o = None if chunk is None else opts(chunk)

        def loss(x, w, t, o=o):
            return lb.linear_cross_entropy(
                x, w, t, weight=make(ad_backend, CW, "float32"), options=o
            )

        out = loss(
            make(ad_backend, X, "float32"), make(ad_backend, W, "float32"), make(ad_backend, T)
        )
        assert_result(out, ad_backend, "float32", ())
        assert_close(out, want_val, rtol=1e-5)
        for i in (0, 1):
            got = backend_grad(ad_backend, loss, [X, W, T], i, dtype="float32")
            np.testing.assert_allclose(got, want[i], rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------
# Half precision
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("chunk", [None, 3])
def test_half_inputs_compute_in_float32(ad_backend, dtype, chunk):
    """float16/bfloat16: the result and gradients in the input's dtype, computed in float32
    (within half an ulp of the float64 value on the same rounded inputs, plus float32's)."""
    import ml_dtypes

    np_half = np.float16 if dtype == "float16" else ml_dtypes.bfloat16
    xr = X.astype(np_half).astype(np.float64)
    wr = W.astype(np_half).astype(np.float64)
    want = torch_value(xr, wr, T)
    out = lb.linear_cross_entropy(
        make(ad_backend, X, dtype),
        make(ad_backend, W, dtype),
        make(ad_backend, T),
        options=None if chunk is None else opts(chunk),
    )
    assert_result(out, ad_backend, dtype, ())
    ulp = 2.0 ** (-10 if dtype == "float16" else -7)
    assert abs(float(out) - float(want)) <= 0.5 * ulp * abs(want) * 1.01

    def loss(x, w, t):
        return lb.linear_cross_entropy(x, w, t, options=None if chunk is None else opts(chunk))

    if ad_backend.name == "torch":  # NumPy has no bfloat16 for torch's .numpy()
        x = make(ad_backend, X, dtype).requires_grad_()
        loss(x, make(ad_backend, W, dtype), make(ad_backend, T)).backward()
        assert str(x.grad.dtype) == f"torch.{dtype}"
        grad = x.grad.double().numpy()
    else:
        grad = backend_grad(ad_backend, loss, [X, W, T], 0, dtype=dtype)
        assert grad.dtype == np.dtype(np_half)
        grad = grad.astype(np.float64)
    gw = torch_grads(xr, wr, T)[0]
    np.testing.assert_allclose(grad, gw, rtol=ulp, atol=ulp * np.abs(gw).max())


# ------------------------------------------------------------------------------------------
# Options: torch's fields, defaults, validation and chunk sizes
# ------------------------------------------------------------------------------------------


def test_options_fields_and_defaults_are_torchs():
    ours = {f.name: f.default for f in dataclasses.fields(lb.LinearCrossEntropyOptions)}
    theirs = {f.name: f.default for f in dataclasses.fields(torch.nn.LinearCrossEntropyOptions)}
    assert ours == theirs
    with pytest.raises(dataclasses.FrozenInstanceError):
        lb.LinearCrossEntropyOptions().batch_chunk_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"acc_policy": "fast"}, ["acc_policy", "'fast'", "'accurate'"]),
        ({"chunking_method": "aspect_ratio:0"}, ["chunking_method", "'aspect_ratio:0'"]),
        ({"chunking_method": "square"}, ["chunking_method", "'square'"]),
        ({"batch_chunk_size": 0}, ["batch_chunk_size", "positive int", "0"]),
        ({"batch_chunk_size": 2.5}, ["batch_chunk_size", "2.5"]),
        ({"acc_dtype": "int32"}, ["acc_dtype", "int32", "float32"]),
    ],
)
def test_options_validation_like_torch(kwargs, words):
    """What torch's options refuse, ours refuse, with a message naming the field and value."""
    with pytest.raises(ValueError) as err:
        lb.LinearCrossEntropyOptions(**kwargs)
    for w in words:
        assert w in str(err.value)
    if "acc_dtype" not in kwargs:
        with pytest.raises(ValueError):
            torch.nn.LinearCrossEntropyOptions(**kwargs)


_SIZES = [(1024, 64, 4096), (4096, 512, 32768), (100, 7, 1000), (33, 16, 8), (5, 3, 11)]


@pytest.mark.parametrize(("n", "d", "c"), _SIZES)
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"chunking_method": "aspect_ratio"},
        {"chunking_method": "aspect_ratio:4"},
        {"batch_chunk_size": 64},
        {"batch_chunk_size": 7, "chunking_method": None},
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_chunk_size_resolution_is_torchs(n, d, c, fields, dtype):
    """Our chunk size for a call equals torch's ``_adjust`` (its own resolution, CPU)."""
    theirs = torch.nn.LinearCrossEntropyOptions(**fields)
    ours = lb.LinearCrossEntropyOptions(**fields)
    resolved = theirs._adjust(n, d, c, getattr(torch, dtype), torch.device("cpu"))
    mine = ours._resolve(dtype, "cpu")
    assert (mine.acc_policy, mine.chunking_method) == (
        resolved.acc_policy,
        resolved.chunking_method,
    )
    assert mine._chunk_size(n, d, c) == resolved.batch_chunk_size


def test_conflicting_chunk_size_and_method_raise_like_torch():
    o = lb.LinearCrossEntropyOptions(batch_chunk_size=5, chunking_method="aspect_ratio")
    with pytest.raises(ValueError, match="batch_chunk_size=5 and chunking_method='aspect_ratio'"):
        lb.linear_cross_entropy(X, W, T, options=o)
    t = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=5, chunking_method="aspect_ratio")
    with pytest.raises(ValueError):
        F.linear_cross_entropy(_torch(X), _torch(W), _torch(T), options=t)


def test_torch_options_are_accepted_and_acc_dtype_checked():
    """A ``torch.nn.LinearCrossEntropyOptions`` works on any backend's call; an acc_dtype that
    does not fit the input is refused as torch refuses it (float16 accumulation of float32)."""
    t = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=2, acc_dtype=torch.float32)
    assert_close(
        lb.linear_cross_entropy(X.astype(np.float32), W.astype(np.float32), T, options=t),
        torch_value(X, W, T),
        rtol=1e-5,
    )
    with pytest.raises(ValueError, match="acc_dtype=float16 does not fit input of dtype float32"):
        lb.linear_cross_entropy(
            X.astype(np.float32),
            W.astype(np.float32),
            T,
            options=lb.LinearCrossEntropyOptions(acc_dtype=torch.float16),
        )
    with pytest.raises(TypeError, match="options must be None, a lossbridge"):
        lb.linear_cross_entropy(X, W, T, options={"batch_chunk_size": 2})


# ------------------------------------------------------------------------------------------
# Bad input: clear errors naming the argument
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "exc", "words"),
    [
        (lambda: lb.linear_cross_entropy(X[None], W, T), ValueError, ["input", "(1, 7, 5)"]),
        (lambda: lb.linear_cross_entropy(X, W[0], T), ValueError, ["linear_weight", "(5,)"]),
        (lambda: lb.linear_cross_entropy(X, W[:, :4], T), ValueError, ["in_features", "(11, 4)"]),
        (
            lambda: lb.linear_cross_entropy(X, W, T, linear_bias=B[:3]),
            ValueError,
            ["linear_bias", "(3,)", "(11,)"],
        ),
        (lambda: lb.linear_cross_entropy(X, W, T[:3]), ValueError, ["target", "(3,)", "(7,)"]),
        (lambda: lb.linear_cross_entropy(X, W, T * 1.0), TypeError, ["target", "integer"]),
        (lambda: lb.linear_cross_entropy(X, W, T, weight=CW[:3]), ValueError, ["weight", "(3,)"]),
        (
            lambda: lb.linear_cross_entropy(X, W, T, label_smoothing=1.5),
            ValueError,
            ["label_smoothing", "1.5"],
        ),
        (lambda: lb.linear_cross_entropy(X, W, T, z_loss=-1.0), ValueError, ["z_loss", "-1.0"]),
        (lambda: lb.linear_cross_entropy(X, W, T, softcap=0.0), ValueError, ["softcap", "0.0"]),
        (lambda: lb.linear_cross_entropy(X, W, T, reduction="avg"), ValueError, ["'avg'"]),
        (lambda: lb.linear_cross_entropy(X.astype(int), W, T), TypeError, ["input", "int64"]),
        (
            lambda: lb.linear_cross_entropy(X[0], W[:, None], T[:1]),
            ValueError,
            ["K-dimensional", "batched"],
        ),
    ],
)
def test_bad_input_errors(call, exc, words):
    with pytest.raises(exc) as err:
        call()
    for w in words:
        assert w in str(err.value), (w, str(err.value))


# ------------------------------------------------------------------------------------------
# torch: the chunked operators
# ------------------------------------------------------------------------------------------


def test_torch_chunked_backward_twice_needs_allow_retain_graph():
    """As torch's chunked op: the forward's gradients are handed out in place once."""
    xt = _torch(X).requires_grad_()
    out = lb.linear_cross_entropy(xt, _torch(W), _torch(T), options=opts(3))
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="allow_retain_graph=True"):
        out.backward()
    keep = lb.LinearCrossEntropyOptions(batch_chunk_size=3, allow_retain_graph=True)
    xt.grad = None
    out = lb.linear_cross_entropy(xt, _torch(W), _torch(T), options=keep)
    out.backward(retain_graph=True)
    first = xt.grad.clone()
    out.backward()
    torch.testing.assert_close(xt.grad, 2 * first, rtol=1e-15, atol=0)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_torch_compile_fullgraph(reduction):
    """The chunked operators are single graph nodes under torch.compile (no graph break)."""
    o = opts(3)
    t = _torch(T)

    def f(x, w, b):
        out = lb.linear_cross_entropy(
            x, w, t, linear_bias=b, options=o, reduction=reduction, z_loss=0.01, softcap=3.0
        )
        return out.sum()

    compiled = torch.compile(f, backend="aot_eager", fullgraph=True)
    leaves = [_torch(a).requires_grad_() for a in (X, W, B)]
    got = torch.autograd.grad(compiled(*leaves), leaves)
    ref = [_torch(a).requires_grad_() for a in (X, W, B)]
    want = torch.autograd.grad(
        lb.linear_cross_entropy(
            *ref[:2], t, linear_bias=ref[2], reduction=reduction, z_loss=0.01, softcap=3.0
        ).sum(),
        ref,
    )
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_torch_chunked_peak_memory_is_a_chunk_not_the_logits(reduction):
    """Peak memory of forward + backward (torch's profiler: every allocation and free, in
    order, inside the custom operators too) stays near the size of the inputs' gradients plus
    one (chunk, C) block, far below the (N, C) float32 logits the reference path forms."""
    from torch.profiler import ProfilerActivity, profile

    n, d, c, chunk = 512, 8, 4096, 4
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g, requires_grad=True)
    w = torch.randn(c, d, generator=g, requires_grad=True)
    t = torch.randint(0, c, (n,), generator=g)

    def peak(options):
        x.grad = w.grad = None
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            lb.linear_cross_entropy(x, w, t, options=options, reduction=reduction).sum().backward()
        leaves = sorted((e for e in prof.events() if not e.cpu_children), key=_start)
        now = top = 0
        for e in leaves:
            now += e.self_cpu_memory_usage
            top = max(top, now)
        return top

    logits = n * c * 4
    assert peak(None) >= logits
    chunked = peak(lb.LinearCrossEntropyOptions(batch_chunk_size=chunk))
    # dW, its saved copy and the grad (3 * C * D), dx, one block, and the small (N,) rows
    assert chunked <= 3 * c * d * 4 + n * d * 4 + chunk * c * 4 + 16 * n * 4 + 4096
    assert chunked <= logits / 8  # the bound, at this size about 1 / 20


def _start(event):
    return event.time_range.start


def test_torch_no_gradient_work_without_requires_grad():
    """Under no_grad, or with no input requiring a gradient, only the loss is computed (the
    forward's gradient outputs are empty placeholders)."""
    o = opts(2)
    plain = lb.linear_cross_entropy(_torch(X), _torch(W), _torch(T), options=o)
    assert not plain.requires_grad
    w = _torch(W).requires_grad_()
    with torch.no_grad():
        assert not lb.linear_cross_entropy(_torch(X), w, _torch(T), options=o).requires_grad
    out = lb.linear_cross_entropy(_torch(X), w, _torch(T), options=o)
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), torch_grads(X, W, T)[1], rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------------------------
# lossbridge.nn.LinearCrossEntropyLoss
# ------------------------------------------------------------------------------------------


def _torch_params():
    """Constructor parameters of torch's class (name, kind, default), without self."""
    import inspect

    sig = inspect.signature(torch.nn.LinearCrossEntropyLoss.__init__)
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()][1:]


def test_nn_class_signature_starts_with_torchs():
    import inspect

    ours = [
        (p.name, p.kind, p.default)
        for p in inspect.signature(lnn.LinearCrossEntropyLoss.__init__).parameters.values()
    ][1:]
    theirs = _torch_params()
    assert ours[: len(theirs)] == theirs
    assert [p[0] for p in ours[len(theirs) :]] == ["z_loss", "softcap"]  # keyword-only extras
    assert all(p[1] is inspect.Parameter.KEYWORD_ONLY for p in ours[2:])


@pytest.mark.parametrize("options", [None, lb.LinearCrossEntropyOptions(batch_chunk_size=3)])
def test_nn_class_matches_torch_module(options):
    """torch parameters (a torch dtype): a real ``torch.nn.Linear``, trained through the loss;
    values, parameter gradients and the repr line equal ``torch.nn.LinearCrossEntropyLoss``'s."""
    kw = {
        "bias": True,
        "dtype": torch.float64,
        "reduction": "sum",
        "label_smoothing": 0.1,
        "weight": _torch(CW),
    }
    for out_features, target in [((), _torch(T)), ((2,), torch.randint(0, C, (N, 2)))]:
        ours = lnn.LinearCrossEntropyLoss(D, C, out_features=out_features, options=options, **kw)
        theirs = torch.nn.LinearCrossEntropyLoss(D, C, out_features=out_features, **kw)
        assert isinstance(ours.linear, torch.nn.Linear)
        with torch.no_grad():
            theirs.linear.weight.copy_(ours.linear.weight)
            theirs.linear.bias.copy_(ours.linear.bias)
        x = _torch(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # K-dim chunked: falls back, warned
            a = ours(x, target)
        b = theirs(x, target)
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
        a.backward()
        b.backward()
        for p, q in zip(ours.linear.parameters(), theirs.linear.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-15)
    assert repr(lnn.LinearCrossEntropyLoss(D, C)) == repr(torch.nn.LinearCrossEntropyLoss(D, C))


def test_nn_class_parameters_on_every_backend(backend):
    """The layer's parameters (torch's here, torch being imported; tests/test_nn_module.py
    checks the NumPy ones of a process without torch) are converted at each call to the
    input's framework; JAX-style training passes its own parameters to forward."""
    loss = lnn.LinearCrossEntropyLoss(D, C, bias=True, options=lb.LinearCrossEntropyOptions())
    w, b = (p.detach().numpy() for p in (loss.linear.weight, loss.linear.bias))
    assert w.shape == (C, D) and b.shape == (C,) and w.dtype == np.float32
    assert np.abs(w).max() <= 1 / math.sqrt(D) and np.abs(b).max() <= 1 / math.sqrt(D)
    out = loss(make(backend, X, "float64"), make(backend, T))
    assert_result(out, backend, "float64", ())
    assert_close(
        out, torch_value(X, w.astype(np.float64), T, linear_bias=b.astype(np.float64)), rtol=1e-12
    )
    other = lnn.LinearCrossEntropyLoss(D, C)(
        make(backend, X, "float64"), make(backend, T), linear_weight=make(backend, W, "float64")
    )
    assert_close(other, torch_value(X, W, T), rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        ({"weight": np.ones(3)}, ValueError, ["weight", "(3,)", "(11,)"]),
        ({"label_smoothing": 2.0}, ValueError, ["label_smoothing", "2.0"]),
        ({"reduction": "avg"}, ValueError, ["'avg'"]),
        ({"ignore_index": 1.5}, TypeError, ["ignore_index", "1.5"]),
        ({"options": {"batch_chunk_size": 2}}, TypeError, ["options"]),
    ],
)
def test_nn_class_bad_arguments_raise_at_construction(kwargs, exc, words):
    with pytest.raises(exc) as err:
        lnn.LinearCrossEntropyLoss(D, C, **kwargs)
    for w in words:
        assert w in str(err.value)

"""ctc_loss vs torch's F.ctc_loss, tf.nn.ctc_loss, optax.ctc_loss and a brute-force reference.

Expected values come from independent sources only:

* a float64 brute force written plainly below: every path of ``C**T`` frame labels, collapsed
  (repeats merged, blanks removed) and compared with the target; the loss is ``-log`` of the
  summed probability of the matching paths, its gradient with respect to the log-probabilities
  minus the posterior of each (frame, class);
* ``torch.nn.functional.ctc_loss`` in float64;
* ``tf.nn.ctc_loss`` and ``optax.ctc_loss`` (they take logits and apply ``log_softmax``, which
  leaves log-probabilities unchanged; layouts converted);
* the hand-checked case of ``reference/frameworks.md`` 3.13, whose inputs are
  ``np.random.RandomState(0).randn(2, 6, 4)`` logits (batch-major), reconstructed by matching
  the recorded losses [5.029023, 4.45238] (and 'mean' 1.95127, 'sum' 9.4814, blank 3
  [6.7948, 4.4011], input lengths [6, 6] 4.4654).

The registry's ``ctc_loss`` cases (padded, concatenated with an empty target and blank 3,
infeasible with and without ``zero_infinity``, unbatched) check every backend and dtype against
torch, ``tf.nn.ctc_loss`` (dense labels) and optax, every reduction, and the gradient in the
log-probabilities against torch's (projected) and finite differences; the tests here keep the
brute force, the hand values, the length and target forms, the edges, TF's sparse-label kernel,
the compiled modes on traced lengths, the loop helpers and the native kernels.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _helpers import assert_close, assert_result, make, rounded, to_numpy

from lossbridge.backends._loops import fold, scan
from lossbridge.conformance.references import reduce_ctc
from lossbridge.ctc import ctc_loss

TOL = {"float32": (2e-6, 1e-6), "float64": (1e-12, 1e-13)}  # (rtol, atol) on the loss


def np_log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


# ------------------------------------------------------------------------------------------
# Brute force: enumerate every alignment
# ------------------------------------------------------------------------------------------


def collapse(path, blank):
    out = []
    prev = None
    for k in path:
        if k != prev and k != blank:
            out.append(int(k))
        prev = k
    return tuple(out)


def brute_force(lp, target, blank=0):
    """``(loss, d loss / d lp)`` of one sequence, lp of shape (T, C), in float64."""
    lp = np.asarray(lp, np.float64)
    n_frames, n_classes = lp.shape
    paths = np.array(list(itertools.product(range(n_classes), repeat=n_frames)), dtype=np.int64)
    paths = paths.reshape(-1, n_frames)
    keep = np.array([collapse(p, blank) == tuple(target) for p in paths], dtype=bool)
    grad = np.zeros_like(lp)
    if not keep.any():
        return np.inf, grad
    sel = paths[keep]
    logp = lp[np.arange(n_frames), sel].sum(axis=1) if n_frames else np.zeros(len(sel))
    m = logp.max()
    total = m + np.log(np.exp(logp - m).sum())
    post = np.exp(logp - total)
    for t in range(n_frames):
        np.add.at(grad[t], sel[:, t], -post)
    return -total, grad


def brute_batch(lp, targets, il, tl, blank=0):
    """Per-sequence brute force over a (T, N, C) batch with padded targets."""
    losses, grads = [], np.zeros_like(np.asarray(lp, np.float64))
    for n in range(lp.shape[1]):
        loss, g = brute_force(lp[: il[n], n], targets[n][: tl[n]], blank)
        losses.append(loss)
        grads[: il[n], n] = g
    return np.array(losses), grads


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------

# frameworks.md 3.13
REF_LOGITS = np.random.RandomState(0).randn(2, 6, 4)  # (B, T, K)
REF_LP = np_log_softmax(REF_LOGITS).transpose(1, 0, 2).copy()  # (T, N, C)
REF_TARGETS = np.array([[1, 2, 2], [3, 1, 0]])
REF_IL, REF_TL = [6, 5], [3, 2]

# A batch with every situation at once (T=6, C=4 so that 4**6 paths stay cheap): a repeat
# that needs a blank between, three equal labels, an empty target, an infeasible sequence (3
# labels with a repeat in 3 frames), a short input, and padding with -1.
B_LP = np_log_softmax(np.random.default_rng(7).standard_normal((6, 6, 4)) * 1.5)
B_TARGETS = np.array(
    [[1, 1, -1], [2, 2, 2], [-1, -1, -1], [1, 1, 2], [3, 1, 2], [2, 3, -1]], dtype=np.int64
)
B_IL = [6, 6, 4, 3, 6, 2]
B_TL = [2, 3, 0, 3, 3, 2]
B_FEASIBLE = np.array([True, True, True, False, True, True])


def ref_batch(lp, blank=0):
    return brute_batch(lp, B_TARGETS, B_IL, B_TL, blank)


def torch_ctc(lp, targets, il, tl, **kw):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    return F.ctc_loss(
        torch.tensor(np.asarray(lp, np.float64)), torch.tensor(targets), list(il), list(tl), **kw
    ).numpy()


def call(backend, lp, targets, il, tl, dtype="float64", **kw):
    return ctc_loss(make(backend, lp, dtype), make(backend, targets), il, tl, **kw)


# ------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------


def test_brute_force_matches_torch_and_hand_values():
    """The references agree with each other before they judge anything."""
    loss, _ = brute_batch(REF_LP, REF_TARGETS, REF_IL, REF_TL)
    np.testing.assert_allclose(loss, [5.029023, 4.45238], rtol=2e-6)
    np.testing.assert_allclose(
        loss, torch_ctc(REF_LP, REF_TARGETS, REF_IL, REF_TL, reduction="none"), rtol=1e-13
    )
    loss, _ = ref_batch(B_LP)
    assert np.array_equal(np.isfinite(loss), B_FEASIBLE)
    np.testing.assert_allclose(
        loss, torch_ctc(B_LP, B_TARGETS, B_IL, B_TL, reduction="none"), rtol=1e-13
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hand_checked_case(backend, dtype):
    """frameworks.md 3.13, every reduction, and its blank=3 and input-length variants."""
    if dtype == "float64" and not backend.supports_float64():
        pytest.skip("float64 disabled")
    lp = rounded(REF_LP, dtype)
    rtol, atol = TOL[dtype]
    out = call(backend, lp, REF_TARGETS, REF_IL, REF_TL, dtype, reduction="none")
    assert_result(out, backend, dtype, (2,))
    assert_close(out, brute_batch(lp, REF_TARGETS, REF_IL, REF_TL)[0], rtol, atol)
    assert_close(out, [5.029023, 4.45238], 2e-6)
    assert_close(call(backend, lp, REF_TARGETS, REF_IL, REF_TL, dtype), 1.95127, 5e-6)
    assert_close(
        call(backend, lp, REF_TARGETS, REF_IL, REF_TL, dtype, reduction="sum"), 9.4814, 5e-6
    )
    assert_close(
        call(backend, lp, REF_TARGETS, REF_IL, REF_TL, dtype, blank=3, reduction="none"),
        [6.7948, 4.4011],
        2e-5,
    )
    assert_close(
        call(backend, lp, REF_TARGETS, [6, 6], REF_TL, dtype, reduction="none")[1], 4.4654, 2e-5
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_situation_vs_brute_force(backend, dtype):
    """Repeats, equal labels in a row, empty target, infeasible, varying lengths, padding."""
    if dtype == "float64" and not backend.supports_float64():
        pytest.skip("float64 disabled")
    lp = rounded(B_LP, dtype)
    expected, _ = ref_batch(lp)
    rtol, atol = TOL[dtype]
    out = call(backend, lp, B_TARGETS, B_IL, B_TL, dtype, reduction="none")
    assert_result(out, backend, dtype, (6,))
    assert_close(out, expected, rtol, atol)  # inf where infeasible
    zi = call(backend, lp, B_TARGETS, B_IL, B_TL, dtype, reduction="none", zero_infinity=True)
    assert_close(zi, np.where(B_FEASIBLE, expected, 0.0), rtol, atol)
    # Concatenated targets, lengths as arrays: the same numbers.
    flat = np.concatenate([B_TARGETS[n, : B_TL[n]] for n in range(6)])
    arr = lambda v: make(backend, np.array(v))  # noqa: E731
    cat = ctc_loss(
        make(backend, lp, dtype),
        make(backend, flat),
        arr(B_IL),
        arr(B_TL),
        reduction="none",
        zero_infinity=True,
    )
    assert_close(cat, np.where(B_FEASIBLE, expected, 0.0), rtol, atol)


def test_unbatched(backend):
    lp = REF_LP[:, 0]
    expected = torch_ctc(lp, REF_TARGETS[0], [6], [3], reduction="none")
    for il, tl in ((6, 3), ([6], [3]), (np.array(6), np.array([3]))):
        out = ctc_loss(make(backend, lp), make(backend, REF_TARGETS[0]), il, tl, reduction="none")
        assert_result(out, backend, "float64", ())
        assert_close(out, expected, 1e-12)
    out = ctc_loss(make(backend, lp), make(backend, REF_TARGETS[0]), [6], [3])
    assert_close(out, expected / 3, 1e-12)


def test_length_forms_torch():
    """Lengths as lists, tuples, int32/int64 tensors; int32 targets: torch's numbers."""
    torch = pytest.importorskip("torch")
    lp = torch.tensor(REF_LP)
    expected = torch_ctc(REF_LP, REF_TARGETS, REF_IL, REF_TL, reduction="none")
    for il, tl in (
        (REF_IL, REF_TL),
        (tuple(REF_IL), tuple(REF_TL)),
        (torch.tensor(REF_IL, dtype=torch.int32), torch.tensor(REF_TL, dtype=torch.int32)),
        (torch.tensor(REF_IL), np.array(REF_TL)),
    ):
        for tg in (torch.tensor(REF_TARGETS), torch.tensor(REF_TARGETS, dtype=torch.int32)):
            assert_close(ctc_loss(lp, tg, il, tl, reduction="none"), expected, 1e-13)


def test_label_equal_to_blank_computed_as_torch(backend):
    """Not rejected (torch computes it): the skip rule l'_s != l'_{s-2} decides."""
    targets = np.array([[1, 2, 0], [3, 0, 0]])
    expected = torch_ctc(REF_LP, targets, REF_IL, [3, 3], reduction="none")
    assert_close(call(backend, REF_LP, targets, REF_IL, [3, 3], reduction="none"), expected, 1e-12)


def test_neg_inf_log_probs(backend):
    """log 0 entries: exact value (torch's), no NaN."""
    lp = B_LP.copy()
    lp[:, :, 3] = -np.inf  # class 3 impossible everywhere
    lp[2, 0, 0] = -np.inf
    expected = torch_ctc(lp, np.maximum(B_TARGETS, 0), B_IL, B_TL, reduction="none")
    got = to_numpy(call(backend, lp, B_TARGETS, B_IL, B_TL, reduction="none"))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert not np.isnan(got).any()


def test_vs_tf_and_optax():
    """tf.nn.ctc_loss (dense and sparse labels) and optax.ctc_loss, layouts converted."""
    tf = pytest.importorskip("tensorflow")
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    rng = np.random.default_rng(3)
    t, n, c, s = 30, 5, 7, 8
    lp = np_log_softmax(rng.standard_normal((t, n, c)))
    targets = rng.integers(1, c, (n, s))
    targets[0, 1] = targets[0, 0]  # a repeat
    il = np.array([30, 25, 20, 30, 12])
    tl = np.array([8, 5, 0, 7, 4])
    for dtype, rtol in (("float64", 1e-11), ("float32", 2e-5)):
        x = rounded(lp, dtype)
        ours = to_numpy(ctc_loss(x.astype(dtype), targets, il, tl, reduction="none"))
        others = []
        if dtype == "float32":  # TF's dense-label path (pure TF ops) fails on float64
            others.append(
                tf.nn.ctc_loss(
                    tf.constant(targets, tf.int32),
                    tf.constant(x.astype(dtype)),
                    tf.constant(tl, tf.int32),
                    tf.constant(il, tf.int32),
                    logits_time_major=True,
                    blank_index=0,
                ).numpy()
            )
        # Sparse labels: TF's C++ CTCLoss kernel, which refuses empty targets (row 2).
        keep = tl > 0
        idx = [[i, j] for i, r in enumerate(np.flatnonzero(keep)) for j in range(tl[r])]
        vals = [int(targets[np.flatnonzero(keep)[i], j]) for i, j in idx]
        sparse = tf.SparseTensor(idx, tf.constant(vals, tf.int32), [int(keep.sum()), s])
        sparse_loss = tf.nn.ctc_loss(
            sparse,
            tf.constant(x[:, keep].astype(dtype)),
            None,
            tf.constant(il[keep], tf.int32),
            logits_time_major=True,
            blank_index=0,
        ).numpy()
        # (float64: TF's kernel agrees to ~2e-9 relative, not to rounding)
        np.testing.assert_allclose(ours[keep], sparse_loss, rtol=max(rtol, 1e-8))
        logit_pad = (np.arange(t)[None, :] >= il[:, None]).astype(dtype)
        label_pad = (np.arange(s)[None, :] >= tl[:, None]).astype(dtype)
        ox = optax.ctc_loss(
            jnp.asarray(x.transpose(1, 0, 2).astype(dtype)),
            jnp.asarray(logit_pad),
            jnp.asarray(targets),
            jnp.asarray(label_pad),
        )
        for other in (*others, np.asarray(ox)):
            np.testing.assert_allclose(ours, other, rtol=rtol)
        np.testing.assert_allclose(ours, torch_ctc(x, targets, il, tl, reduction="none"), rtol=rtol)


# ------------------------------------------------------------------------------------------
# Gradients
# ------------------------------------------------------------------------------------------


def _grad(backend, fn, x, dtype="float64"):
    """Gradient of fn(x) (a scalar) with respect to x, through the backend's autodiff."""
    from _helpers import backend_grad

    return backend_grad(backend, fn, [x], 0, dtype)


def _torch_logit_grad(logits, targets, il, tl, **kw):
    import torch
    import torch.nn.functional as F

    x = torch.tensor(logits, requires_grad=True)
    F.ctc_loss(x.log_softmax(-1), torch.tensor(targets), il, tl, **kw).backward()
    return x.grad.numpy()


def _xp_log_softmax(x):
    from lossbridge.backends import get_namespace

    xp, _ = get_namespace(x)
    m = xp.max(x, axis=-1, keepdims=True)
    s = x - m
    return s - xp.log(xp.sum(xp.exp(s), axis=-1, keepdims=True))


def test_log_prob_gradient_is_exact(ad_backend):
    """d loss / d log_probs = -posterior (brute force); torch's is exp(lp) - posterior."""
    pytest.importorskip("torch")
    import torch
    import torch.nn.functional as F

    _, post = ref_batch(B_LP)
    got = _grad(
        ad_backend,
        lambda x: ctc_loss(
            x, make(ad_backend, B_TARGETS), B_IL, B_TL, reduction="sum", zero_infinity=True
        ),
        B_LP,
    )
    post[:, ~B_FEASIBLE] = 0.0
    np.testing.assert_allclose(got, post, rtol=1e-10, atol=1e-13)
    x = torch.tensor(B_LP, requires_grad=True)
    F.ctc_loss(
        x, torch.tensor(np.maximum(B_TARGETS, 0)), B_IL, B_TL, reduction="sum", zero_infinity=True
    ).backward()
    frame = (np.arange(6)[:, None] < np.array(B_IL)[None, :]) & B_FEASIBLE[None, :]
    torch_raw = x.grad.numpy()
    np.testing.assert_allclose(
        torch_raw, np.where(frame[..., None], np.exp(B_LP) + post, 0.0), rtol=1e-10, atol=1e-13
    )


def test_gradient_finite_with_neg_inf_and_infeasible(ad_backend):
    lp = B_LP.copy()
    lp[:, :, 3] = -np.inf
    got = _grad(
        ad_backend,
        lambda x: ctc_loss(x, make(ad_backend, B_TARGETS), B_IL, B_TL, zero_infinity=True),
        lp,
    )
    assert np.all(np.isfinite(got))
    # Without zero_infinity the loss is inf; the gradient is 0 here (torch's is NaN).
    got = _grad(
        ad_backend,
        lambda x: ctc_loss(x, make(ad_backend, B_TARGETS), B_IL, B_TL, reduction="none"),
        B_LP,
    )
    assert np.all(got[:, 3] == 0) and np.all(np.isfinite(got))


def test_float32_gradient(ad_backend):
    pytest.importorskip("torch")
    logits = rounded(np.random.default_rng(2).standard_normal((6, 2, 4)), "float32")
    expected = _torch_logit_grad(logits, REF_TARGETS, REF_IL, REF_TL)
    got = _grad(
        ad_backend,
        lambda x: ctc_loss(_xp_log_softmax(x), make(ad_backend, REF_TARGETS), REF_IL, REF_TL),
        logits,
        "float32",
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------------------
# Compiled
# ------------------------------------------------------------------------------------------


def test_jax_jit():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rows = [0, 1, 2, 4, 5]
    lp, targets = B_LP[:, rows], B_TARGETS[rows]
    il, tl = np.array(B_IL)[rows], np.array(B_TL)[rows]
    expected, post = brute_batch(lp, targets, il, tl)

    @jax.jit
    def f(x, y, a, b):
        return ctc_loss(x, y, a, b, reduction="none")

    assert_close(
        f(jnp.asarray(lp), jnp.asarray(targets), jnp.asarray(il), jnp.asarray(tl)), expected, 1e-12
    )
    flat = np.concatenate([targets[n, : tl[n]] for n in range(5)])  # traced lengths: S = 11
    assert_close(
        f(jnp.asarray(lp), jnp.asarray(flat), jnp.asarray(il), jnp.asarray(tl)), expected, 1e-12
    )
    g = jax.jit(
        jax.grad(
            lambda x, a: ctc_loss(x, jnp.asarray(targets), a, jnp.asarray(tl), reduction="sum")
        )
    )
    np.testing.assert_allclose(
        np.asarray(g(jnp.asarray(lp), jnp.asarray(il))), post, rtol=1e-10, atol=1e-13
    )


def _tf_losses_and_gradient(tf, **function_kwargs):
    """A ``tf.function`` giving the unreduced losses (``zero_infinity``) and their summed
    gradient with respect to the log-probabilities."""

    @tf.function(**function_kwargs)
    def f(x, y, a, b):
        with tf.GradientTape() as tape:
            tape.watch(x)
            losses = ctc_loss(x, y, a, b, reduction="none", zero_infinity=True)
            total = tf.reduce_sum(losses)
        return losses, tape.gradient(total, x)

    return f


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_function(jit_compile):
    tf = pytest.importorskip("tensorflow")
    expected, post = ref_batch(B_LP)
    post[:, ~B_FEASIBLE] = 0.0

    f = _tf_losses_and_gradient(tf, jit_compile=jit_compile)

    losses, grad = f(
        tf.constant(B_LP), tf.constant(B_TARGETS), tf.constant(B_IL), tf.constant(B_TL)
    )
    assert_close(losses, np.where(B_FEASIBLE, expected, 0.0), 1e-12)
    np.testing.assert_allclose(grad.numpy(), post, rtol=1e-10, atol=1e-13)


# issue 18 item 1: the call as reported (T=50, N=3, C=20, concatenated targets, lengths as
# lists). ``cumulative_sum`` of int32 lengths is int64 in TensorFlow (the standard's default
# integer dtype), and TensorFlow's ``-`` refused int64 - int32.
I18_LP = np_log_softmax(np.random.default_rng(18).standard_normal((50, 3, 20)))
I18_TL = [30, 25, 20]
I18_FLAT = np.random.default_rng(19).integers(1, 20, size=sum(I18_TL))


@pytest.mark.parametrize("int_dtype", ["int32", "int64"])
@pytest.mark.parametrize("lengths", ["list", "tensor"])
def test_tf_concatenated_int_targets(int_dtype, lengths):
    tf = pytest.importorskip("tensorflow")
    flat = I18_FLAT.astype(int_dtype)
    expected = torch_ctc(I18_LP, flat, [50] * 3, I18_TL, reduction="none")
    if lengths == "list":
        il, tl = [50] * 3, I18_TL
    else:
        il, tl = tf.constant([50] * 3, int_dtype), tf.constant(I18_TL, int_dtype)
    x, y = tf.constant(I18_LP), tf.constant(flat)
    # 50 log-sum-exp steps in float64: a few dozen ulp at most.
    assert_close(ctc_loss(x, y, il, tl, reduction="none"), expected, 1e-12)
    assert_close(ctc_loss(x, y, il, tl), (expected / np.array(I18_TL)).mean(), 1e-12)
    for jit_compile in (False, True):
        f = tf.function(
            lambda a, b: ctc_loss(a, b, il, tl, reduction="none"), jit_compile=jit_compile
        )
        assert_close(f(x, y), expected, 1e-12)


def test_concatenated_int32_targets(backend):
    """int32 concatenated targets and lengths arrays on every backend: the brute force's numbers."""
    if not backend.supports_float64():
        pytest.skip("float64 disabled")
    expected, _ = ref_batch(B_LP)
    flat = np.concatenate([B_TARGETS[n, : B_TL[n]] for n in range(6)]).astype(np.int32)
    arr = lambda v: make(backend, np.array(v, np.int32))  # noqa: E731
    out = ctc_loss(
        make(backend, B_LP, "float64"), arr(flat), arr(B_IL), arr(B_TL), reduction="none"
    )
    assert_close(out, expected, *TOL["float64"])


def test_torch_compile_fullgraph():
    torch = pytest.importorskip("torch")
    rows = [0, 1, 2, 4, 5]
    logits = np.random.default_rng(3).standard_normal((6, 5, 4))
    targets, il, tl = B_TARGETS[rows], np.array(B_IL)[rows], np.array(B_TL)[rows]
    expected = _torch_logit_grad(logits, np.maximum(targets, 0), list(il), list(tl))

    def f(x, y, a, b):
        return ctc_loss(x.log_softmax(-1), y, a, b)

    ctc_loss(torch.tensor(logits), torch.tensor(targets), il, tl)  # dispatch caches warm
    compiled = torch.compile(f, backend="eager", fullgraph=True)
    x = torch.tensor(logits, requires_grad=True)
    out = compiled(x, torch.tensor(targets), torch.tensor(il), torch.tensor(tl))
    assert_close(out, torch_ctc(np_log_softmax(logits), np.maximum(targets, 0), il, tl), 1e-12)
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------------------------------
# The loop helper
# ------------------------------------------------------------------------------------------


def _cumsum_step(carry, x, consts):
    carry = carry + x * consts
    return carry, carry


def test_scan_helper(backend):
    xs = np.arange(12.0).reshape(4, 3)
    carry, ys = scan(
        _cumsum_step,
        make(backend, np.zeros(3)),
        make(backend, xs),
        consts=make(backend, np.full(3, 2.0)),
    )
    assert_close(carry, 2 * xs.sum(0), 1e-15)
    assert_close(ys, 2 * np.cumsum(xs, axis=0), 1e-15)
    carry, ys = scan(lambda c, x: (c * 2.0, None), make(backend, np.ones(2)), None, length=3)
    assert_close(carry, [8.0, 8.0], 1e-15)
    assert ys is None


def _fold_step(carry, x, consts):
    return carry * consts + x


def test_scan_and_fold_compiled():
    """tf.function(jit_compile=True), jax.jit, torch.compile: fold's custom operator too."""
    tf = pytest.importorskip("tensorflow")
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    xs = np.arange(12.0).reshape(4, 3)
    horner = ((xs[0] * 2 + xs[1]) * 2 + xs[2]) * 2 + xs[3]
    f = tf.function(
        lambda x: (
            scan(_cumsum_step, tf.zeros(3, tf.float64), x, consts=tf.ones(3, tf.float64))[1],
            fold(
                _fold_step,
                tf.zeros(3, tf.float64),
                x,
                consts=tf.fill([3], tf.constant(2.0, tf.float64)),
            ),
        ),
        jit_compile=True,
    )
    ys, last = f(tf.constant(xs))
    assert_close(ys, np.cumsum(xs, axis=0), 1e-15)
    assert_close(last, horner, 1e-15)
    jnp = jax.numpy
    last = jax.jit(lambda x: fold(_fold_step, jnp.zeros(3), x, consts=jnp.full(3, 2.0)))(
        jnp.asarray(xs)
    )
    assert_close(last, horner, 1e-15)

    def g(x):
        zeros, twos = torch.zeros(3, dtype=x.dtype), torch.full((3,), 2.0, dtype=x.dtype)
        _, ys = scan(_cumsum_step, zeros, x, consts=twos / 2)  # unrolled
        return ys, fold(_fold_step, zeros, x, consts=twos)  # lossbridge::scan

    x = torch.tensor(xs, requires_grad=True)
    ys, last = torch.compile(g, backend="eager", fullgraph=True)(x)
    assert_close(ys, np.cumsum(xs, axis=0), 1e-15)
    assert_close(last, horner, 1e-15)
    last.sum().backward()  # d horner / d x_t = 2 ** (T - 1 - t)
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat([[8.0], [4.0], [2.0], [1.0]], 3, 1))


# ------------------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------------------

BAD = {
    "int log_probs": (
        lambda: ((REF_LP * 10).astype(np.int64), REF_TARGETS, REF_IL, REF_TL, {}),
        TypeError,
        "log_probs must have a real floating dtype",
    ),
    "4-d log_probs": (
        lambda: (REF_LP[None], REF_TARGETS, REF_IL, REF_TL, {}),
        ValueError,
        r"log_probs must have shape \(T, N, C\)",
    ),
    "float targets": (
        lambda: (REF_LP, REF_TARGETS * 1.0, REF_IL, REF_TL, {}),
        TypeError,
        "targets must have an integer dtype",
    ),
    "float lengths": (
        lambda: (REF_LP, REF_TARGETS, [6.0, 5.0], REF_TL, {}),
        TypeError,
        "input_lengths must have an integer dtype",
    ),
    "negative input length": (
        lambda: (REF_LP, REF_TARGETS, [-1, 5], REF_TL, {}),
        ValueError,
        r"input_lengths must have values in \[0, T\]",
    ),
    "input length > T": (
        lambda: (REF_LP, REF_TARGETS, [7, 5], REF_TL, {}),
        ValueError,
        r"input_lengths must have values in \[0, T\] = \[0, 6\].*got 7",
    ),
    "negative target length": (
        lambda: (REF_LP, REF_TARGETS, REF_IL, [-1, 2], {}),
        ValueError,
        "target_lengths must be non-negative",
    ),
    "target length > S": (
        lambda: (REF_LP, REF_TARGETS, REF_IL, [4, 2], {}),
        ValueError,
        "target_lengths has value 4, more than the 3 labels",
    ),
    "lengths shape": (
        lambda: (REF_LP, REF_TARGETS, [6, 5, 4], REF_TL, {}),
        ValueError,
        r"input_lengths has shape \(3,\); expected \(2,\)",
    ),
    "concatenated size": (
        lambda: (REF_LP, np.array([1, 2, 2, 3]), REF_IL, REF_TL, {}),
        ValueError,
        "targets is 1-D .* size 4, but target_lengths sums to 5",
    ),
    "targets rows": (
        lambda: (REF_LP, REF_TARGETS[:1], REF_IL, REF_TL, {}),
        ValueError,
        r"targets has shape \(1, 3\)",
    ),
    "label >= C": (
        lambda: (REF_LP, np.array([[1, 2, 4], [3, 1, 0]]), REF_IL, REF_TL, {}),
        ValueError,
        "targets holds label 4, out of range for 4 classes",
    ),
    "label < 0": (
        lambda: (REF_LP, np.array([[1, -1, 2], [3, 1, 0]]), REF_IL, REF_TL, {}),
        ValueError,
        "targets holds label -1",
    ),
    "blank = C": (
        lambda: (REF_LP, REF_TARGETS, REF_IL, REF_TL, dict(blank=4)),
        ValueError,
        r"blank=4 must be an int in \[0, C\)",
    ),
    "blank < 0": (
        lambda: (REF_LP, REF_TARGETS, REF_IL, REF_TL, dict(blank=-1)),
        ValueError,
        "blank=-1",
    ),
    "blank float": (
        lambda: (REF_LP, REF_TARGETS, REF_IL, REF_TL, dict(blank=1.0)),
        TypeError,
        "blank must be an int",
    ),
    "reduction": (
        lambda: (REF_LP, REF_TARGETS, REF_IL, REF_TL, dict(reduction="avg")),
        ValueError,
        "reduction='avg' is not a valid reduction",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_validation(backend, case):
    make_args, exc, msg = BAD[case]
    lp, targets, il, tl, kw = make_args()
    with pytest.raises(exc, match=msg):
        ctc_loss(make(backend, lp), make(backend, targets), il, tl, **kw)


def test_padding_beyond_target_length_is_ignored(backend):
    """Padding values (-1, C, anything) past a row's length are neither checked nor read."""
    targets = np.array([[1, 2, 2], [3, 1, 99]])
    assert_close(
        call(backend, REF_LP, targets, REF_IL, REF_TL, reduction="none"), [5.029023, 4.45238], 2e-6
    )


def test_other_devices(backend):
    """torch's meta device (no values: nothing read) and array-api-strict's second device."""
    for label, device, readable in backend.extra_devices():
        lp = backend.from_numpy(REF_LP, "float64", device=device)
        args = [backend.from_numpy(a, device=device) for a in (REF_TARGETS, REF_IL, REF_TL)]
        out = ctc_loss(lp, *args, reduction="none")
        assert out.device == lp.device, label
        if readable:
            assert_close(out, [5.029023, 4.45238], 2e-6)
        # Targets and lengths on the default device are moved, as torch allows CPU lengths.
        cat = backend.from_numpy(np.array([1, 2, 2, 3, 1]))
        out = ctc_loss(lp, cat, REF_IL, backend.from_numpy(np.array(REF_TL)), reduction="sum")
        assert out.device == lp.device, label
        if readable:
            assert_close(out, 9.4814, 5e-6)


def test_half_precision_torch():
    """float16 / bfloat16 are computed in float32 and returned in their own dtype."""
    torch = pytest.importorskip("torch")
    for dtype, rtol in ((torch.float16, 2e-3), (torch.bfloat16, 1e-2)):
        lp = torch.tensor(REF_LP).to(dtype)
        out = ctc_loss(lp, torch.tensor(REF_TARGETS), REF_IL, REF_TL, reduction="none")
        assert out.dtype == dtype
        expected = brute_batch(lp.double().numpy(), REF_TARGETS, REF_IL, REF_TL)[0]
        np.testing.assert_allclose(out.double().numpy(), expected, rtol=rtol)


def test_huge_finite_log_probs(backend):
    """Masked classes at -1e9 (finite): torch's finite value, not inf."""
    lp = B_LP.copy()
    lp[:, :, 2] = -1e9
    expected = torch_ctc(lp, np.maximum(B_TARGETS, 0), B_IL, B_TL, reduction="none")
    assert np.isfinite(expected[1]) and expected[1] > 1e9
    assert_close(call(backend, lp, B_TARGETS, B_IL, B_TL, reduction="none"), expected, 1e-12)


def test_benchmark_script_smoke(capsys):
    """``python -m benchmarks.ctc`` runs and agrees with the native (timings never asserted)."""
    torch = pytest.importorskip("torch")
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:  # ``benchmarks`` is a top-level folder, not an installed package
        sys.path.insert(0, root)
    from benchmarks.ctc import main

    # --threads 0: do not pin the test process to one CPU; one torch thread all the same (on a
    # busy 2-core machine a second worker thread makes each of the loop's small ops wait)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = main(["--quick", "--framework", "torch/eager", "--fwd-only", "--threads", "0"])
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    out = capsys.readouterr().out
    assert "torch/eager" in out and "F.ctc_loss" in out and "MISMATCH" not in out


# ------------------------------------------------------------------------------------------
# Native kernels (backends/_ctc_ops.py): torch's aten._ctc_loss, TensorFlow's CTCLoss
# ------------------------------------------------------------------------------------------


def _spy(monkeypatch, name):
    """Record what ``_ctc_ops.<name>`` returned (None: it declined, the recursion ran)."""
    from lossbridge.backends import _ctc_ops

    seen = []
    real = getattr(_ctc_ops, name)

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(_ctc_ops, name, spy)
    return seen


def _concat(targets, tl):
    return np.concatenate([np.asarray(targets[n][: tl[n]]) for n in range(len(tl))])


# (name, targets form, blank, zero_infinity, rows of B_*)
NATIVE_CASES = [
    ("padded", "padded", 0, False, [0, 1, 4, 5]),
    ("concatenated", "concat", 0, False, [0, 1, 4, 5]),
    ("blank2", "padded", 2, False, [0, 4, 5]),
    ("infeasible", "padded", 0, False, [0, 3, 4]),
    ("infeasible_zero_inf", "padded", 0, True, [0, 3, 4]),
    ("empty_target", "padded", 0, False, [0, 2, 5]),
    ("empty_target_concat", "concat", 0, False, [2, 4]),
]


def _native_case(case):
    name, form, blank, zero_inf, rows = case
    targets = B_TARGETS[rows].copy()
    if blank:  # relabel: no label equals the blank (torch's skip rule differs there)
        targets = np.where(targets == blank, 0, targets)
    il, tl = [B_IL[r] for r in rows], [B_TL[r] for r in rows]
    lp = np_log_softmax(np.random.default_rng(11).standard_normal((6, len(rows), 4)) * 1.5)
    # float64 brute force: loss and d loss / d log_probs = -posterior
    loss, grad = brute_batch(lp, targets, il, tl, blank)
    infeasible = ~np.isfinite(loss)
    grad[:, infeasible] = 0.0
    tgt = _concat(targets, tl) if form == "concat" else np.maximum(targets, 0)
    return lp, tgt, il, tl, dict(blank=blank, zero_infinity=zero_inf), loss, grad


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", NATIVE_CASES, ids=[c[0] for c in NATIVE_CASES])
def test_torch_native_value_and_gradient(monkeypatch, case, reduction):
    """aten._ctc_loss path: torch's value, OUR gradient (-posterior, 0 when infeasible)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    seen = _spy(monkeypatch, "torch_ctc")
    lp, tgt, il, tl, kw, loss, post = _native_case(case)
    x = torch.tensor(lp, requires_grad=True)
    got = ctc_loss(x, torch.tensor(tgt), il, tl, reduction=reduction, **kw)
    assert seen == [True]
    expected = F.ctc_loss(torch.tensor(lp), torch.tensor(tgt), il, tl, reduction=reduction, **kw)
    np.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        got.detach().numpy(),
        reduce_ctc(loss, tl, reduction, zero_infinity=kw["zero_infinity"]),
        rtol=1e-12,
    )
    # d loss / d log_probs: minus the posterior (weights of the reduction), brute force
    weight = np.ones(len(il))
    if reduction == "mean":
        weight = 1.0 / np.maximum(np.asarray(tl, np.float64), 1) / len(il)
    (g,) = torch.autograd.grad(got.sum(), x)
    np.testing.assert_allclose(g.numpy(), post * weight[None, :, None], rtol=1e-10, atol=1e-13)
    assert np.all(np.isfinite(g.numpy()))
    # d loss / d logits through log_softmax: torch's autograd (feasible rows; torch gives NaN
    # for infinite losses without zero_infinity)
    logits = torch.tensor(lp * 0.7 + 0.3, requires_grad=True)
    ours = ctc_loss(logits.log_softmax(-1), torch.tensor(tgt), il, tl, reduction=reduction, **kw)
    ref_in = logits.detach().clone().requires_grad_(True)
    ref = F.ctc_loss(ref_in.log_softmax(-1), torch.tensor(tgt), il, tl, reduction=reduction, **kw)
    (g_o,) = torch.autograd.grad(ours.sum(), logits)
    (g_r,) = torch.autograd.grad(ref.sum(), ref_in)
    ok = np.isfinite(loss) | kw["zero_infinity"]
    np.testing.assert_allclose(g_o.numpy()[:, ok], g_r.numpy()[:, ok], rtol=1e-9, atol=1e-13)


def test_torch_native_float32_and_neg_inf(monkeypatch):
    """float32 and log 0 entries on the native path: values, finite gradient, zero at -inf."""
    torch = pytest.importorskip("torch")
    seen = _spy(monkeypatch, "torch_ctc")
    rows = [0, 1, 4, 5]
    lp = B_LP[:, rows].copy()
    lp[:, :, 3] = -np.inf
    targets = np.where(B_TARGETS[rows] == 3, 1, np.maximum(B_TARGETS[rows], 0))
    il, tl = [B_IL[r] for r in rows], [B_TL[r] for r in rows]
    loss, post = brute_batch(np.where(np.isinf(lp), -1e300, lp), targets, il, tl)
    for dtype, rtol in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
        x = torch.tensor(lp, dtype=dtype, requires_grad=True)
        got = ctc_loss(x, torch.tensor(targets), il, tl, reduction="sum")
        (g,) = torch.autograd.grad(got, x)
        np.testing.assert_allclose(got.item(), loss.sum(), rtol=rtol)
        assert np.all(np.isfinite(g.numpy())) and np.all(g.numpy()[:, :, 3] == 0)
        np.testing.assert_allclose(g.numpy(), post, rtol=rtol * 10, atol=rtol / 10)
    assert seen == [True, True]


def test_torch_native_declines():
    """Not log-probabilities (> 0.5), NaN, half precision: the recursion (exact there)."""
    torch = pytest.importorskip("torch")
    from lossbridge.backends import _ctc_ops

    lp = torch.tensor(B_LP)
    assert _ctc_ops.torch_usable(lp) == (True, False)
    assert not _ctc_ops.torch_usable(lp + 1.0)[0]
    assert not _ctc_ops.torch_usable(torch.where(lp < -2, torch.nan, lp))[0]
    assert not _ctc_ops.torch_usable(lp.half())[0]
    # unnormalised input (value > 0.5): still the exact gradient, -posterior
    x = torch.tensor(B_LP + 2.0, requires_grad=True)
    got = ctc_loss(
        x, torch.tensor(np.maximum(B_TARGETS, 0)), B_IL, B_TL, reduction="sum", zero_infinity=True
    )
    _, post = ref_batch(B_LP + 2.0)
    post[:, ~B_FEASIBLE] = 0.0
    np.testing.assert_allclose(torch.autograd.grad(got, x)[0].numpy(), post, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("case", NATIVE_CASES, ids=[c[0] for c in NATIVE_CASES])
def test_tf_native_value_and_gradient(monkeypatch, case, reduction):
    """TF's CTCLoss path (float32): torch's value, -posterior; declines where it differs."""
    pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    seen = _spy(monkeypatch, "tf_ctc")
    lp, tgt, il, tl, kw, loss, post = _native_case(case)
    x = tf.constant(lp.astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        got = ctc_loss(x, tf.constant(tgt), il, tl, reduction=reduction, **kw)
    g = tape.gradient(got, x).numpy()
    # infeasible and empty targets: the kernel cannot take them, the recursion runs
    assert seen == [case[0] in ("padded", "concatenated", "blank2")]
    expected = reduce_ctc(loss, tl, reduction, zero_infinity=kw["zero_infinity"])
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-6)
    weight = np.ones(len(il))
    if reduction == "mean":
        weight = 1.0 / np.maximum(np.asarray(tl, np.float64), 1) / len(il)
    np.testing.assert_allclose(g, post * weight[None, :, None], rtol=1e-5, atol=1e-6)


def test_tf_native_unnormalised_and_blank_label(monkeypatch):
    """Logits as log_probs (the lse correction) and a label equal to blank (declined)."""
    pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    seen = _spy(monkeypatch, "tf_ctc")
    rows = [0, 1, 4, 5]
    lp = np.random.default_rng(3).standard_normal((6, 4, 4)) * 2.0  # not normalised
    targets = np.maximum(B_TARGETS[rows], 0)
    il, tl = [B_IL[r] for r in rows], [B_TL[r] for r in rows]
    loss, post = brute_batch(lp, targets, il, tl, 0)
    x = tf.constant(lp.astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(x)
        got = ctc_loss(x, tf.constant(targets), il, tl, reduction="none")
    np.testing.assert_allclose(got.numpy(), loss, rtol=2e-6)
    np.testing.assert_allclose(tape.gradient(got, x).numpy(), post, rtol=1e-5, atol=1e-6)
    assert seen == [True]
    # blank 2, which rows 1 and 5 hold as a label: torch's skip rule, which TF cannot express
    got = ctc_loss(x, tf.constant(targets), il, tl, blank=2, reduction="none")
    np.testing.assert_allclose(
        got.numpy(), torch_ctc(lp, targets, il, tl, blank=2, reduction="none"), rtol=2e-6
    )
    assert seen == [True, False]


@pytest.mark.parametrize("shift", [0.0, 2.0])  # 2.0: not log-probabilities (lse correction)
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_torch_compile_native_op(monkeypatch, shift, zero_infinity):
    """torch.compile fullgraph: the lossbridge::ctc_forward operator, torch's value, -posterior."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    seen = _spy(monkeypatch, "torch_ctc_traced")
    lp = B_LP + shift
    _, post = ref_batch(lp)
    post[:, ~B_FEASIBLE] = 0.0
    targets = torch.tensor(np.maximum(B_TARGETS, 0))

    def f(x, y, a, b):
        return ctc_loss(x, y, a, b, reduction="none", zero_infinity=zero_infinity)

    compiled = torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=False)
    x = torch.tensor(lp, requires_grad=True)
    got = compiled(x, targets, torch.tensor(B_IL), torch.tensor(B_TL))
    assert seen == [True]
    expected = F.ctc_loss(
        torch.tensor(lp), targets, B_IL, B_TL, reduction="none", zero_infinity=zero_infinity
    ).numpy()
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)
    (g,) = torch.autograd.grad(got.sum(), x)
    np.testing.assert_allclose(g.numpy(), post, rtol=1e-10, atol=1e-13)


def test_tf_function_native_cond(monkeypatch):
    """tf.function (not XLA): the kernel behind a tf.cond; an infeasible batch takes the other
    branch; float32 values and -posterior either way."""
    pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    seen = _spy(monkeypatch, "tf_ctc_traced")

    f = _tf_losses_and_gradient(tf)

    for rows in ([0, 1, 4, 5], [0, 3, 4]):  # all feasible; row 3 infeasible
        lp = B_LP[:, rows]
        targets = np.maximum(B_TARGETS[rows], 0)
        il, tl = [B_IL[r] for r in rows], [B_TL[r] for r in rows]
        loss, post = brute_batch(lp, targets, il, tl)
        post[:, ~np.isfinite(loss)] = 0.0
        got, g = f(
            tf.constant(lp.astype(np.float32)),
            tf.constant(targets),
            tf.constant(il),
            tf.constant(tl),
        )
        np.testing.assert_allclose(got.numpy(), np.where(np.isfinite(loss), loss, 0), rtol=2e-6)
        np.testing.assert_allclose(g.numpy(), post, rtol=1e-5, atol=1e-6)
    assert seen == [True, True]
    # forward only (no tape): the recursion, faster in a graph than the kernel
    fwd = tf.function(lambda x, y, a, b: ctc_loss(x, y, a, b, reduction="none"))
    got = fwd(
        tf.constant(lp.astype(np.float32)), tf.constant(targets), tf.constant(il), tf.constant(tl)
    )
    np.testing.assert_allclose(got.numpy(), loss, rtol=2e-6)
    assert seen == [True, True, False]

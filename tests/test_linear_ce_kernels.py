"""The JAX and TensorFlow chunked linear cross-entropy kernels (``backends/_linear_ce_{jax,tf}``).

The kernel contract is in :mod:`lossbridge.backends._linear_ce`. Expected values come from the
contract's formulas transcribed plainly below (:func:`materialized`: the full ``(N, C)`` logits,
``logsumexp``, the picked label, the smoothing sum, PaLM's ``z * lse**2`` weighted like its row
and Gemma's ``c * tanh(l / c)``), run in float64 on NumPy for values and differentiated by each
framework's own autodiff (``jax.grad``, ``tf.GradientTape``) for gradients. Never from a kernel.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

jax = pytest.importorskip("jax")
tf = pytest.importorskip("tensorflow")
jnp = jax.numpy

from lossbridge.backends import _linear_ce_jax as kjax  # noqa: E402
from lossbridge.backends import _linear_ce_tf as ktf  # noqa: E402

N, D, C = 11, 5, 7
IGNORE = -100

# ------------------------------------------------------------------------------------------
# The reference: the contract's formula on the full logits, once, for three array libraries
# ------------------------------------------------------------------------------------------


def _ops(lib: str) -> types.SimpleNamespace:
    if lib == "numpy":
        return types.SimpleNamespace(
            mm=lambda x, w: x @ w.T,
            tanh=np.tanh,
            lse=lambda l: np.log(np.exp(l - l.max(1, keepdims=True)).sum(1)) + l.max(1),
            take=lambda a, i: a[i],
            pick=lambda l, i: np.take_along_axis(l, i[:, None], 1)[:, 0],
            where=np.where,
            sum1=lambda a: a.sum(1),
            ones=lambda n, like: np.ones(n),
        )
    if lib == "jax":
        return types.SimpleNamespace(
            mm=lambda x, w: x @ w.T,
            tanh=jnp.tanh,
            lse=lambda l: jax.scipy.special.logsumexp(l, axis=1),
            take=lambda a, i: a[i],
            pick=lambda l, i: jnp.take_along_axis(l, i[:, None], 1)[:, 0],
            where=jnp.where,
            sum1=lambda a: a.sum(1),
            ones=lambda n, like: jnp.ones(n, like.dtype),
        )
    return types.SimpleNamespace(
        mm=lambda x, w: tf.linalg.matmul(x, w, transpose_b=True),
        tanh=tf.tanh,
        lse=lambda l: tf.reduce_logsumexp(l, axis=1),
        take=tf.gather,
        pick=lambda l, i: tf.gather(l, i, batch_dims=1),
        where=lambda c, a, b: tf.where(c, a, tf.cast(b, a.dtype) if np.isscalar(b) else b),
        sum1=lambda a: tf.reduce_sum(a, 1),
        ones=lambda n, like: tf.ones(n, like.dtype),
    )


def is_prob(t):
    dtype = getattr(t.dtype, "as_numpy_dtype", t.dtype)
    return np.issubdtype(np.dtype(dtype), np.floating)


def materialized(lib, x, w, b, t, cw, *, eps=0.0, z=0.0, cap=None):
    """``(row_loss, row_weight)`` of the contract, from the whole ``(N, C)`` logits."""
    ops = _ops(lib)
    logits = ops.mm(x, w)
    if b is not None:
        logits = logits + b
    if cap is not None:
        logits = cap * ops.tanh(logits / cap)
    n, n_classes = logits.shape
    lse = ops.lse(logits)
    logp = logits - lse[:, None]
    wc = ops.ones(n_classes, x) if cw is None else cw
    if is_prob(t):
        smoothed = (1 - eps) * t + eps / n_classes
        return -ops.sum1(wc * smoothed * logp) + z * lse**2, ops.ones(n, x)
    valid = t != IGNORE
    safe = ops.where(valid, t, 0)
    rw = ops.where(valid, ops.take(wc, safe), 0)
    nll = -ops.pick(logp, safe)
    smooth = -ops.sum1(wc * logp)
    loss = (1 - eps) * rw * nll + eps / n_classes * smooth + z * rw * lse**2
    return ops.where(valid, loss, 0), rw


def data(seed=0, n=N, prob=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype(dtype)
    w = rng.normal(size=(C, D)).astype(dtype)
    b = rng.normal(size=(C,)).astype(dtype)
    cw = rng.uniform(0.5, 2.0, size=C).astype(dtype)
    if prob:
        e = np.exp(rng.normal(size=(n, C)))
        t = (e / e.sum(1, keepdims=True)).astype(dtype)
    else:
        t = rng.integers(0, C, size=n)
        t[::4] = IGNORE  # rows 0, 4, 8 ignored
    g = rng.normal(size=n).astype(dtype)
    return x, w, b, t, cw, g


# (label smoothing, z-loss, softcap, class weights, bias, chunk size)
CONFIGS = {
    "plain-B4": (0.0, 0.0, None, False, True, 4),
    "all-B3": (0.1, 1e-3, 5.0, True, True, 3),
    "nobias-B1": (0.2, 1e-2, None, True, False, 1),
    "softcap-B>N": (0.0, 0.0, 2.0, False, True, 20),
    "B=N": (0.0, 0.0, None, False, True, 11),
}


def cases(modes_of):
    """``(mode, *config)`` params: every config in the first mode, the others for two configs
    (each compiled mode costs a trace and a compile per case on a 2-core machine)."""
    out = []
    for name, config in CONFIGS.items():
        for mode in modes_of(name):
            out.append(pytest.param(mode, *config, id=f"{mode}-{name}"))
    return out


def _full(first, others):
    return lambda name: [first] + (others if name in ("plain-B4", "all-B3") else [])


KW = dict(ignore_index=IGNORE)


def opts(eps, z, cap, size):
    return dict(KW, label_smoothing=eps, z_loss=z, softcap=cap, chunk_size=size)


# ------------------------------------------------------------------------------------------
# JAX
# ------------------------------------------------------------------------------------------


def _jax_losses(kernel, x, w, b, t, g, cotangent):
    loss, weight = kernel(x, w, b, t)
    if cotangent == "mean":
        return jnp.sum(loss) / jnp.sum(weight)
    return jnp.sum(loss * g)


@pytest.mark.parametrize("prob", [False, True], ids=["index", "prob"])
@pytest.mark.parametrize(
    ("mode", "eps", "z", "cap", "use_cw", "use_b", "size"), cases(_full("jit", ["eager"]))
)
def test_jax_values_and_gradients(prob, mode, eps, z, cap, use_cw, use_b, size):
    jit = mode == "jit"
    x, w, b, t, cw, g = data(prob=prob)
    b = b if use_b else None
    cw = cw if use_cw else None
    o = opts(eps, z, cap, size)
    expected = materialized("numpy", x, w, b, t, cw, eps=eps, z=z, cap=cap)
    x_, w_, b_, t_, cw_, g_ = (None if a is None else jnp.asarray(a) for a in (x, w, b, t, cw, g))

    def ours(x, w, b, t):
        return kjax.chunked_linear_ce(x, w, b, t, cw_, **o)

    def theirs(x, w, b, t):
        return materialized("jax", x, w, b, t, cw_, eps=eps, z=z, cap=cap)

    run = jax.jit(ours) if jit else ours
    loss, weight = run(x_, w_, b_, t_)
    np.testing.assert_allclose(np.asarray(loss), expected[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(np.asarray(weight), expected[1])
    wrt = (0, 1, 2, 3) if prob else (0, 1, 2)
    for cotangent in ("mean", "rows"):
        grad = jax.grad(lambda *a, c=cotangent: _jax_losses(ours, *a, g_, c), wrt)
        want = jax.grad(lambda *a, c=cotangent: _jax_losses(theirs, *a, g_, c), wrt)
        got = (jax.jit(grad) if jit else grad)(x_, w_, b_, t_)
        ref = want(x_, w_, b_, t_)
        for name, a, e in zip("xwbt", got, ref, strict=False):
            if e is None:
                assert a is None
                continue
            np.testing.assert_allclose(
                np.asarray(a), np.asarray(e), rtol=1e-10, atol=1e-13, err_msg=f"d{name}"
            )


def test_jax_grad_of_some_inputs_only():
    """``symbolic_zeros``: the products of inputs nobody differentiates are skipped, and the
    others' gradients are unchanged."""
    x, w, b, t, cw, g = (jnp.asarray(a) for a in data())
    o = opts(0.1, 1e-3, None, 4)

    def f(kernel, x, w, b):
        loss, weight = kernel(x, w, b)
        return jnp.sum(loss) / jnp.sum(weight)

    ours = lambda x, w, b: kjax.chunked_linear_ce(x, w, b, t, cw, **o)  # noqa: E731
    theirs = lambda x, w, b: materialized("jax", x, w, b, t, cw, eps=0.1, z=1e-3)  # noqa: E731
    for wrt in (0, 1, 2, (1, 2)):
        got = jax.grad(lambda *a: f(ours, *a), wrt)(x, w, b)
        want = jax.grad(lambda *a: f(theirs, *a), wrt)(x, w, b)
        jax.tree.map(lambda a, e: np.testing.assert_allclose(a, e, rtol=1e-10), got, want)


def test_jax_no_gradient_through_row_weight_or_class_weight():
    x, w, b, t, cw, g = (jnp.asarray(a) for a in data())
    o = opts(0.0, 0.0, None, 4)
    d_cw = jax.grad(lambda cw: jnp.sum(kjax.chunked_linear_ce(x, w, b, t, cw, **o)[0]))(cw)
    np.testing.assert_array_equal(np.asarray(d_cw), 0.0)
    d_x = jax.grad(lambda x: jnp.sum(kjax.chunked_linear_ce(x, w, b, t, cw, **o)[1]))(x)
    np.testing.assert_array_equal(np.asarray(d_x), 0.0)


def test_jax_uniform_cotangent_scales_the_forward_gradients(monkeypatch):
    """A 'mean' (one cotangent on every counted row; ignored rows may differ) skips the
    chunk-by-chunk recomputation of dW, db; a weighted sum of the rows runs it. The
    recomputation is given a NaN cotangent: it must not run in the first case."""
    x, w, b, t, cw, g = (jnp.asarray(a) for a in data())
    o = opts(0.0, 0.0, None, 4)
    real = kjax._add_grads

    def poisoned(spec, x, w, b, t, cw, g, acc, skip):
        return real(spec, x, w, b, t, cw, g * jnp.nan, acc, skip)

    monkeypatch.setattr(kjax, "_add_grads", poisoned)
    valid = t != IGNORE

    def mean(w):
        loss, weight = kjax.chunked_linear_ce(x, w, b, t, cw, **o)
        return jnp.sum(loss) / jnp.sum(weight)

    def masked_sum(w):  # cotangent 0 on ignored rows, 1 elsewhere
        return jnp.sum(jnp.where(valid, kjax.chunked_linear_ce(x, w, b, t, cw, **o)[0], 0.0))

    def weighted(w):
        return jnp.sum(kjax.chunked_linear_ce(x, w, b, t, cw, **o)[0] * g)

    assert np.isfinite(np.asarray(jax.jit(jax.grad(mean))(w))).all()
    assert np.isfinite(np.asarray(jax.grad(masked_sum)(w))).all()
    assert np.isnan(np.asarray(jax.grad(weighted)(w))).all()


def test_jax_empty_batch():
    x, w, b, t, cw, g = (jnp.asarray(a) for a in data(n=0))
    o = opts(0.0, 0.0, None, 4)
    loss, weight = kjax.chunked_linear_ce(x, w, b, t, cw, **o)
    assert loss.shape == weight.shape == (0,)
    dw = jax.grad(lambda w: jnp.sum(kjax.chunked_linear_ce(x, w, b, t, cw, **o)[0]))(w)
    np.testing.assert_array_equal(np.asarray(dw), 0.0)


def test_jax_memory_holds_one_chunk_of_logits():
    """XLA's own accounting (``memory_analysis``, temporaries) of ``value_and_grad`` under
    ``jit``: the materialized path holds (N, C) blocks, the chunked one the (C, D) gradient
    accumulator and a few (B, C) blocks."""
    n, d, c, size = 1024, 64, 4096, 32
    args = (
        jax.ShapeDtypeStruct((n, d), jnp.float32),
        jax.ShapeDtypeStruct((c, d), jnp.float32),
        jax.ShapeDtypeStruct((c,), jnp.float32),
        jax.ShapeDtypeStruct((n,), jnp.int32),
    )
    o = opts(0.0, 0.0, None, size)

    def loss_of(kernel):
        def f(x, w, b, t):
            loss, weight = kernel(x, w, b, t)
            return jnp.sum(loss) / jnp.sum(weight)

        return jax.jit(jax.value_and_grad(f, (0, 1, 2)))

    def temp(f):
        return f.lower(*args).compile().memory_analysis().temp_size_in_bytes

    chunked = temp(loss_of(lambda x, w, b, t: kjax.chunked_linear_ce(x, w, b, t, None, **o)))
    full = temp(loss_of(lambda x, w, b, t: materialized("jax", x, w, b, t, None)))
    logits = n * c * 4
    assert full >= logits
    # the dW accumulator, dx and four (B, C) blocks at most
    assert chunked <= c * d * 4 + n * d * 4 + 4 * size * c * 4, (chunked, full)


# ------------------------------------------------------------------------------------------
# TensorFlow
# ------------------------------------------------------------------------------------------


def _tf_mode(mode, fn):
    if mode == "eager":
        return fn
    return tf.function(fn, jit_compile=mode == "xla")


def _tf_grads(kernel, x, w, b, t, cw, g, cotangent, mode):
    """``(row_loss, grads)`` with the tape inside the (compiled) function."""
    prob = t.dtype.is_floating

    def run(x, w, b, t):
        with tf.GradientTape() as tape:
            tape.watch([x, w] + ([b] if b is not None else []) + ([t] if prob else []))
            loss, weight = kernel(x, w, b, t, cw)
            total = (
                tf.reduce_sum(loss) / tf.reduce_sum(weight)
                if cotangent == "mean"
                else tf.reduce_sum(loss * g)
            )
        srcs = [x, w] + ([b] if b is not None else []) + ([t] if prob else [])
        return loss, tape.gradient(total, srcs)

    return _tf_mode(mode, run)(x, w, b, t)


TF_MODES = ["eager", "function", "xla"]


@pytest.mark.parametrize("prob", [False, True], ids=["index", "prob"])
@pytest.mark.parametrize(
    ("mode", "eps", "z", "cap", "use_cw", "use_b", "size"),
    cases(_full("eager", ["function", "xla"])),
)
def test_tf_values_and_gradients(prob, eps, z, cap, use_cw, use_b, size, mode):
    x, w, b, t, cw, g = data(prob=prob)
    b = b if use_b else None
    cw = cw if use_cw else None
    o = opts(eps, z, cap, size)
    expected = materialized("numpy", x, w, b, t, cw, eps=eps, z=z, cap=cap)
    x_, w_, b_, t_, cw_, g_ = (None if a is None else tf.constant(a) for a in (x, w, b, t, cw, g))

    def ours(x, w, b, t, cw):
        return ktf.chunked_linear_ce(x, w, b, t, cw, **o)

    def theirs(x, w, b, t, cw):
        return materialized("tf", x, w, b, t, cw, eps=eps, z=z, cap=cap)

    loss, weight = _tf_mode(mode, ours)(x_, w_, b_, t_, cw_)
    np.testing.assert_allclose(loss.numpy(), expected[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(weight.numpy(), expected[1])
    for cotangent in ("mean", "rows"):
        loss, got = _tf_grads(ours, x_, w_, b_, t_, cw_, g_, cotangent, mode)
        _, want = _tf_grads(theirs, x_, w_, b_, t_, cw_, g_, cotangent, "eager")
        np.testing.assert_allclose(loss.numpy(), expected[0], rtol=1e-12, atol=1e-13)
        names = "xw" + ("b" if use_b else "") + ("t" if prob else "")
        for name, a, e in zip(names, got, want, strict=True):
            np.testing.assert_allclose(
                a.numpy(), e.numpy(), rtol=1e-10, atol=1e-13, err_msg=f"d{name}"
            )


@pytest.mark.parametrize("prob", [False, True], ids=["index", "prob"])
@pytest.mark.parametrize(
    ("signature", "jit"),
    [(False, False), (True, False), (False, True)],
    ids=["function", "function-unknown-N", "xla"],
)
def test_tf_tape_outside_the_function(prob, signature, jit):
    """A ``tf.function`` called under a tape: its graph is traced before the tape reaches it,
    so the forward keeps no gradients and the backward recomputes them (a variable ``w`` is
    seen read: then every unit gradient but the target's is kept)."""
    x, w, b, t, cw, g = data(prob=prob)
    o = opts(0.1, 1e-3, 3.0, 4)
    x_, b_, t_, cw_, g_ = (tf.constant(a) for a in (x, b, t, cw, g))
    sig = None
    if signature:
        t_spec = tf.TensorSpec([None, C] if prob else [None], t_.dtype)
        sig = [tf.TensorSpec([None, D], tf.float64), t_spec]

    def make(w_):
        def f(x, t):
            return ktf.chunked_linear_ce(x, w_, b_, t, cw_, **o)[0]

        return tf.function(f, input_signature=sig, jit_compile=jit)

    for w_ in (tf.constant(w), tf.Variable(w)):
        f = make(w_)

        srcs = [x_, w_, b_] + ([t_] if prob else [])
        for cotangent in (tf.ones_like(g_), g_):
            with tf.GradientTape() as tape:
                tape.watch([x_, b_, t_] if prob else [x_, b_])
                if isinstance(w_, tf.Tensor):
                    tape.watch(w_)
                total = tf.reduce_sum(f(x_, t_) * cotangent)
            got = tape.gradient(total, srcs)
            with tf.GradientTape() as tape:
                tape.watch(srcs)
                row = materialized("tf", x_, w_, b_, t_, cw_, eps=0.1, z=1e-3, cap=3.0)[0]
                total = tf.reduce_sum(row * cotangent)
            want = tape.gradient(total, srcs)
            for name, a, e in zip("xwbt", got, want, strict=False):
                np.testing.assert_allclose(
                    a.numpy(), e.numpy(), rtol=1e-10, atol=1e-13, err_msg=f"d{name}"
                )


@pytest.mark.parametrize(("mode", "blocks"), [("eager", 5), ("function", 4), ("xla", 4)])
def test_tf_memory_holds_one_chunk_of_logits(mode, blocks):
    """TensorFlow's CPU allocator, peak over a warm ``fwd+bwd`` call: the outputs (``dx``,
    ``dW``), the unit ``dW``, its accumulator and one product's temporary (``(C, D)`` each), and
    one chunk's few ``(B, C)`` blocks (41 to 70 MiB measured), not the ``(N, C)`` logits (128).
    In a graph, not several chunks at once either (a ``while_loop`` runs 10 iterations in
    parallel unless told otherwise: 92 MiB); eagerly, not every chunk's blocks for a tape that
    records the forward (786 MiB)."""
    n, d, c, size = 2048, 16, 16384, 256
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((n, d), dtype=np.float32))
    w = tf.constant(rng.standard_normal((c, d), dtype=np.float32) / 4)
    b = tf.zeros(c)
    t = tf.constant(rng.integers(0, c, n))
    o = opts(0.0, 0.0, None, size)

    def both(x, w, b):
        with tf.GradientTape() as tape:
            tape.watch([x, w, b])
            loss, weight = ktf.chunked_linear_ce(x, w, b, t, None, **o)
            total = tf.reduce_sum(loss) / tf.reduce_sum(weight)
        return tape.gradient(total, [x, w, b])

    f = _tf_mode(mode, both)
    f(x, w, b)
    tf.config.experimental.reset_memory_stats("CPU:0")
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    f(x, w, b)
    peak = tf.config.experimental.get_memory_info("CPU:0")["peak"] - before
    assert peak <= 4 * c * d * 4 + n * d * 4 + blocks * size * c * 4, peak / 2**20


def test_tf_unknown_batch_size_and_empty_batch():
    x, w, b, t, cw, g = data()
    o = opts(0.0, 0.0, None, 4)
    w_ = tf.Variable(w)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, D], tf.float64),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.float64),
        ]
    )
    def step(x, t, g):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = ktf.chunked_linear_ce(x, w_, None, t, None, **o)[0]
            total = tf.reduce_sum(loss * g)
        return (loss, *tape.gradient(total, [x, w_]))

    for n in (0, 3, 4, 11):
        xs, ts, gs = tf.constant(x[:n]), tf.constant(t[:n]), tf.constant(g[:n])
        loss, dx, dw = step(xs, ts, gs)
        with tf.GradientTape() as tape:
            tape.watch(xs)
            row = materialized("tf", xs, w_, None, ts, None)[0]
            total = tf.reduce_sum(row * gs)
        want = tape.gradient(total, [xs, w_])
        np.testing.assert_allclose(loss.numpy(), row.numpy(), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(dx.numpy(), want[0].numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(dw.numpy(), want[1].numpy(), rtol=1e-10, atol=1e-13)


def test_tf_uniform_cotangent_scales_the_forward_gradients(monkeypatch):
    """As for JAX: a 'mean' never runs the recomputation (given a NaN cotangent here)."""
    x, w, b, t, cw, g = (tf.constant(a) for a in data())
    o = opts(0.0, 0.0, None, 4)
    real = ktf._add_grads

    def poisoned(spec, x, w, b, t, cw, g, keys, acc, skip):
        return real(spec, x, w, b, t, cw, g * np.nan, keys, acc, skip)

    monkeypatch.setattr(ktf, "_add_grads", poisoned)
    w_ = tf.Variable(w)
    for mode in TF_MODES:

        def grads(weighted):
            with tf.GradientTape() as tape:
                loss, weight = ktf.chunked_linear_ce(x, w_, b, t, cw, **o)
                total = (
                    tf.reduce_sum(loss * g)
                    if weighted
                    else tf.reduce_sum(loss) / tf.reduce_sum(weight)
                )
            return tape.gradient(total, w_)

        assert np.isfinite(_tf_mode(mode, lambda: grads(False))().numpy()).all(), mode
        assert np.isnan(_tf_mode(mode, lambda: grads(True))().numpy()).all(), mode


def test_tf_forward_only_keeps_no_gradients(monkeypatch):
    """Without a tape the forward is one product per chunk: the gradient pass is not run."""
    x, w, b, t, cw, g = (tf.constant(a) for a in data())
    scales = []
    real = ktf._run_pass

    def spy(spec, x, w, b, t, cw, scale, need, *, with_loss):
        scales.append(scale)
        return real(spec, x, w, b, t, cw, scale, need, with_loss=with_loss)

    monkeypatch.setattr(ktf, "_run_pass", spy)
    ktf.chunked_linear_ce(x, w, b, t, cw, **opts(0.0, 0.0, None, 4))
    assert scales == [None]
    with tf.GradientTape() as tape:
        tape.watch(x)
        ktf.chunked_linear_ce(x, w, b, t, cw, **opts(0.0, 0.0, None, 4))
    assert scales == [None, 1.0]


# ------------------------------------------------------------------------------------------
# Both: float32, chunk boundaries
# ------------------------------------------------------------------------------------------


def _f32_tolerance(x, w, b):
    """Rounding of float32 logits: each is a D-term dot product, off by about
    ``D * eps32 * sum |x_d w_d|``; the loss (lse - l_y) and its gradients inherit it."""
    scale = np.abs(x) @ np.abs(w).T + np.abs(b)
    return D * np.finfo(np.float32).eps * float(scale.max())


@pytest.mark.parametrize("size", [1, 3, 11, 64])
def test_float32_chunk_boundaries_change_only_rounding(size):
    x, w, b, t, cw, g = data(seed=3, dtype=np.float32)
    o = opts(0.1, 1e-3, None, size)
    x64, w64, b64, cw64 = (a.astype(np.float64) for a in (x, w, b, cw))
    expected, _ = materialized("numpy", x64, w64, b64, t, cw64, eps=0.1, z=1e-3)
    atol = _f32_tolerance(x, w, b)
    for kernel, conv in ((kjax, jnp.asarray), (ktf, tf.constant)):
        loss, _ = kernel.chunked_linear_ce(conv(x), conv(w), conv(b), conv(t), conv(cw), **o)
        assert np.asarray(loss).dtype == np.float32
        np.testing.assert_allclose(np.asarray(loss), expected, rtol=0, atol=atol)

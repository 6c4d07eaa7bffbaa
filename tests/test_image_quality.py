"""SSIM and MS-SSIM against the libraries themselves, and the convolution primitive.

Expected values come from pytorch-msssim, torchmetrics, kornia, scikit-image and
``tf.image.ssim`` / ``ssim_multiscale`` (values, and gradients through torch's autograd and
``tf.GradientTape``), from ``scipy.signal.correlate2d`` for the primitive, and from hand
formulas; never from lossbridge. The conformance registry (``conformance/extra_image_quality.py``)
checks every backend and dtype; this file runs the libraries on larger images, with their own
defaults where lossbridge's differ, and the primitive's fused kernels against its generic form.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lossbridge as lb
from lossbridge import _primitives as P
from lossbridge.backends import get_namespace

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1921)
X = RNG.uniform(0.0, 1.0, (2, 3, 37, 41))
Y = np.clip(0.8 * X + 0.25 * RNG.standard_normal(X.shape) + 0.1, 0.0, 1.0)
# MS-SSIM: five scales of an 11-tap window need > 160 pixels a side (pytorch-msssim's check);
# odd sides at several scales (181 -> 91 -> 46 -> 23 -> 12, 177 -> 89 -> 45 -> 23 -> 12)
XM = RNG.uniform(0.0, 1.0, (2, 2, 181, 177))
YM = np.clip(0.8 * XM + 0.25 * RNG.standard_normal(XM.shape) + 0.1, 0.0, 1.0)
F64 = 1e-12  # a few hundred well-conditioned float64 operations per output
F32 = 2e-5  # float32 oracles (tf.image): the moments' cancellation, about 20 ulps of the loss


def t64(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def pms_window(n=11, sigma=1.5, channels=3):
    """pytorch-msssim's ``_fspecial_gauss_1d`` in float64 (its own is float32), per channel."""
    c = torch.arange(n, dtype=torch.float64) - n // 2
    g = torch.exp(-(c**2) / (2 * sigma**2))
    return (g / g.sum()).reshape(1, 1, 1, -1).repeat(channels, 1, 1, 1)


def ours_and_grad(fn, x, y, **kw):
    xt = t64(x, grad=True)
    out = fn(xt, t64(y), **kw)
    out.backward()
    return out.item(), xt.grad.numpy()


def assert_rel(got, expected, rtol, what=""):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    err = np.linalg.norm(got - expected) / np.linalg.norm(expected)
    assert err <= rtol, f"{what}: relative error {err:.2e} > {rtol:.0e}"


# ------------------------------------------------------------------------------------------
# The primitive
# ------------------------------------------------------------------------------------------


def test_depthwise_conv2d_is_scipy_correlate_valid():
    signal = pytest.importorskip("scipy.signal")
    rows, cols = (0.25, 0.5, 0.25, 0.125), (1.0, -2.0, 0.5)
    out = P.depthwise_conv2d(np, X, rows, cols)
    k = np.outer(rows, cols)
    for n in range(2):
        for c in range(3):
            expected = signal.correlate2d(X[n, c], k, mode="valid")
            np.testing.assert_allclose(out[n, c], expected, rtol=1e-13, atol=1e-14)
    assert out.shape == (2, 3, 37 - 3, 41 - 2)


def _frameworks():
    out = ["torch"]
    for mod in ("jax", "tensorflow"):
        try:
            __import__(mod)
            out.append(mod)
        except ImportError:  # pragma: no cover - the `all` extra installs both
            pass
    return out


def _run_conv(fw, x, rows, cols, weight):
    """``sum(weight * conv(x))`` and its gradient w.r.t. ``x`` through ``fw``'s autodiff."""
    if fw == "torch":
        xt = t64(x, grad=True)
        xp, _ = get_namespace(xt)
        out = P.depthwise_conv2d(xp, xt, rows, cols)
        (out * t64(weight)).sum().backward()
        return out.detach().numpy(), xt.grad.numpy()
    if fw == "jax":
        import jax
        import jax.numpy as jnp

        xj = jnp.asarray(x, jnp.float32)
        xp, _ = get_namespace(xj)
        f = lambda a: P.depthwise_conv2d(xp, a, rows, cols)  # noqa: E731
        g = jax.grad(lambda a: jnp.sum(f(a) * jnp.asarray(weight, jnp.float32)))(xj)
        return np.asarray(f(xj), np.float64), np.asarray(g, np.float64)
    import tensorflow as tf

    xv = tf.Variable(x)
    xp, _ = get_namespace(xv)
    with tf.GradientTape() as tape:
        out = P.depthwise_conv2d(xp, tf.convert_to_tensor(xv), rows, cols)
        s = tf.reduce_sum(out * weight)
    return out.numpy(), tape.gradient(s, xv).numpy()


@pytest.mark.parametrize("fw", _frameworks())
def test_fused_conv_matches_generic(fw, monkeypatch):
    """The framework's convolution kernel against the generic sums of slices (fused off):
    values and gradients (the transposed correlation), float64 (float32 on JAX)."""
    import lossbridge._primitives as prim

    rows, cols = (0.1, 0.3, 0.4, 0.15, 0.05), (0.2, 0.5, 0.3)
    x = RNG.normal(size=(2, 3, 12, 10))
    weight = RNG.normal(size=(2, 3, 8, 8))
    fast = _run_conv(fw, x, rows, cols, weight)
    assert P.fused(get_namespace(t64(x))[0], "depthwise_conv2d") is not None or fw != "torch"
    monkeypatch.setattr(prim, "fused", lambda xp, name: None)
    slow = _run_conv(fw, x, rows, cols, weight)
    tol = 1e-6 if fw == "jax" else 1e-13
    for a, b, what in zip(fast, slow, ("value", "gradient"), strict=True):
        assert_rel(a, b, tol, f"{fw} {what}")


def test_fused_conv_is_registered():
    import lossbridge.backends as backends

    xp, _ = get_namespace(t64(X))
    assert backends.fused(xp, "depthwise_conv2d") is not None
    assert backends.fused(np, "depthwise_conv2d") is None


# ------------------------------------------------------------------------------------------
# SSIM against each library (float64, torch autograd for gradients)
# ------------------------------------------------------------------------------------------


def test_pytorch_msssim_values_and_gradients():
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    xt = t64(X, grad=True)
    ref = 1 - pytorch_msssim.ssim(xt, t64(Y), data_range=1.0, win=pms_window())
    ref.backward()
    got, grad = ours_and_grad(lb.ssim_loss, X, Y)
    assert_rel(got, ref.item(), F64, "value")
    assert_rel(grad, xt.grad.numpy(), 1e-10, "gradient")
    # per image: size_average=False; K, win_size, win_sigma and data_range overrides
    xs = t64(255 * X)
    ref = 1 - pytorch_msssim.ssim(
        xs, t64(255 * Y), data_range=255, size_average=False, win=pms_window(7, 1.0), K=(0.02, 0.05)
    )
    got = lb.ssim_loss(
        255 * X,
        255 * Y,
        data_range=255.0,
        window_size=7,
        sigma=1.0,
        k1=0.02,
        k2=0.05,
        reduction="none",
    )
    assert_rel(got, ref.detach().numpy(), F64, "overrides")


def test_pytorch_msssim_own_float32_window():
    """Its default float32 window, in float32: agreement to float32's conditioning."""
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    x32, y32 = torch.tensor(X, dtype=torch.float32), torch.tensor(Y, dtype=torch.float32)
    ref = 1 - pytorch_msssim.ssim(x32, y32, data_range=1.0)
    assert_rel(lb.ssim_loss(x32, y32).item(), ref.item(), F32)


def test_torchmetrics_values_and_gradients():
    tm = pytest.importorskip("torchmetrics.functional.image")
    xt = t64(X, grad=True)
    s = tm.structural_similarity_index_measure(xt, t64(Y), data_range=1.0, reduction="none")
    (1 - s).mean().backward()
    got, grad = ours_and_grad(lb.ssim_loss, X, Y, convention="torchmetrics")
    assert_rel(got, 1 - s.detach().mean().item(), F64, "value")
    assert_rel(grad, xt.grad.numpy(), 1e-10, "gradient")
    # sigma sets the window's size (int(3.5 sigma + 0.5) * 2 + 1 = 7 for sigma = 0.8)
    s = tm.structural_similarity_index_measure(
        t64(X), t64(Y), sigma=0.8, data_range=2.0, k1=0.03, k2=0.01, reduction="none"
    )
    got = lb.ssim_loss(
        X,
        Y,
        convention="torchmetrics",
        sigma=0.8,
        data_range=2.0,
        k1=0.03,
        k2=0.01,
        reduction="none",
    )
    assert_rel(got, 1 - s.numpy(), F64, "sigma")


def test_torchmetrics_uniform_window():
    tm = pytest.importorskip("torchmetrics.functional.image")
    s = tm.structural_similarity_index_measure(
        t64(X), t64(Y), gaussian_kernel=False, kernel_size=5, data_range=1.0
    )
    got = lb.ssim_loss(X, Y, convention="torchmetrics", window="uniform", window_size=5)
    assert_rel(got, 1 - s.item(), F64)


def test_kornia_values_and_gradients():
    """kornia's SSIMLoss: the mean of clamp((1 - SSIM) / 2, 0, 1) over the whole map."""
    kornia = pytest.importorskip("kornia")
    xt = t64(X, grad=True)
    ref = kornia.losses.ssim_loss(xt, t64(Y), 11, max_val=1.0)
    ref.backward()
    got, grad = ours_and_grad(lb.ssim_loss, X, Y, convention="kornia")
    assert_rel(got, ref.item(), F64, "value")
    assert_rel(grad, xt.grad.numpy(), 1e-10, "gradient")
    ref = kornia.losses.ssim_loss(t64(X), t64(Y), 5, max_val=2.0, reduction="sum")
    # kornia's 'sum' adds the map; ours adds the per-image means: times H W C
    got = lb.ssim_loss(X, Y, convention="kornia", window_size=5, data_range=2.0, reduction="sum")
    assert_rel(float(got) * 3 * 37 * 41, ref.item(), F64, "window 5")


def test_kornia_is_half_of_one_minus_ssim_with_reflect_padding():
    """Hand relation: kornia's loss is (1 - SSIM) / 2 of the torchmetrics-style map (both pad
    by reflection and keep the image size), up to kornia's eps = 1e-12."""
    a = lb.ssim_loss(X, Y, convention="kornia")
    b = lb.ssim_loss(X, Y, convention="torchmetrics")
    np.testing.assert_allclose(float(a), float(b) / 2, rtol=1e-9)


def test_skimage_values():
    skm = pytest.importorskip("skimage.metrics")

    def sk(x, y, **kw):
        return np.mean(
            [
                [
                    skm.structural_similarity(x[n, c], y[n, c], data_range=1.0, **kw)
                    for c in range(3)
                ]
                for n in range(2)
            ]
        )

    assert_rel(lb.ssim_loss(X, Y, convention="skimage"), 1 - sk(X, Y), F64, "uniform 7")
    got = lb.ssim_loss(X, Y, convention="skimage", window="gaussian", sample_covariance=False)
    expected = 1 - sk(X, Y, gaussian_weights=True, use_sample_covariance=False)
    assert_rel(got, expected, F64, "Wang et al.'s recipe")
    got = lb.ssim_loss(X, Y, convention="skimage", window="gaussian")
    assert_rel(got, 1 - sk(X, Y, gaussian_weights=True), F64, "gaussian, sample covariance")
    got = lb.ssim_loss(X, Y, convention="skimage", window_size=9, sample_covariance=False)
    assert_rel(got, 1 - sk(X, Y, win_size=9, use_sample_covariance=False), F64, "win_size 9")
    # channel_axis: skimage's own multichannel call on one NHWC image
    nhwc = np.moveaxis(X[:1], 1, -1)
    ref = skm.structural_similarity(
        nhwc[0], np.moveaxis(Y[:1], 1, -1)[0], data_range=1.0, channel_axis=-1
    )
    got = lb.ssim_loss(nhwc, np.moveaxis(Y[:1], 1, -1), convention="skimage", channel_axis=-1)
    assert_rel(got, 1 - ref, F64, "channel_axis")


def _tf():
    return pytest.importorskip("tensorflow")


def test_tf_image_ssim_values_and_gradients():
    tf = _tf()
    x = tf.Variable(np.moveaxis(X, 1, -1).astype(np.float32))
    y = tf.constant(np.moveaxis(Y, 1, -1).astype(np.float32))
    with tf.GradientTape() as tape:
        ref = 1 - tf.reduce_mean(tf.image.ssim(x, y, max_val=1.0))
    gref = np.moveaxis(tape.gradient(ref, x).numpy(), -1, 1)
    got, grad = ours_and_grad(lb.ssim_loss, X, Y, convention="tensorflow")
    assert_rel(got, float(ref), F32, "value")
    assert_rel(grad, gref, 1e-4, "gradient")  # float32 gradients of the cancelling moments
    # its own channel layout, in TensorFlow, against itself
    with tf.GradientTape() as tape:
        ours = lb.ssim_loss(tf.convert_to_tensor(x), y, convention="tensorflow", channel_axis=-1)
    assert_rel(float(ours), float(ref), F32, "NHWC")
    assert_rel(tape.gradient(ours, x).numpy(), np.moveaxis(gref, 1, -1), 1e-4, "NHWC gradient")


# ------------------------------------------------------------------------------------------
# MS-SSIM
# ------------------------------------------------------------------------------------------


def test_pytorch_msssim_ms_ssim_values_and_gradients():
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    xt = t64(XM, grad=True)
    ref = 1 - pytorch_msssim.ms_ssim(xt, t64(YM), data_range=1.0, win=pms_window(channels=2))
    ref.backward()
    got, grad = ours_and_grad(lb.ms_ssim_loss, XM, YM)
    assert_rel(got, ref.item(), F64, "value")
    assert_rel(grad, xt.grad.numpy(), 1e-9, "gradient")
    w = [0.2, 0.3, 0.5]
    ref = 1 - pytorch_msssim.ms_ssim(
        t64(XM),
        t64(YM),
        data_range=1.0,
        win=pms_window(channels=2),
        weights=w,
        size_average=False,
    )
    got = lb.ms_ssim_loss(XM, YM, weights=w, reduction="none")
    assert_rel(got, ref.numpy(), F64, "weights")


def test_torchmetrics_ms_ssim_values_and_gradients():
    tm = pytest.importorskip("torchmetrics.functional.image")
    torch.set_default_dtype(torch.float64)  # its betas: torch.tensor(betas), the default dtype
    try:
        xt = t64(XM, grad=True)
        s = tm.multiscale_structural_similarity_index_measure(xt, t64(YM), data_range=1.0)
        (1 - s).backward()
    finally:
        torch.set_default_dtype(torch.float32)
    got, grad = ours_and_grad(lb.ms_ssim_loss, XM, YM, convention="torchmetrics")
    assert_rel(got, 1 - s.item(), F64, "value")
    assert_rel(grad, xt.grad.numpy(), 1e-9, "gradient")


def test_tf_ssim_multiscale_values_and_gradients():
    tf = _tf()
    x = tf.Variable(np.moveaxis(XM, 1, -1).astype(np.float32))
    y = tf.constant(np.moveaxis(YM, 1, -1).astype(np.float32))
    with tf.GradientTape() as tape:
        ref = 1 - tf.reduce_mean(tf.image.ssim_multiscale(x, y, max_val=1.0))
    gref = np.moveaxis(tape.gradient(ref, x).numpy(), -1, 1)
    got, grad = ours_and_grad(lb.ms_ssim_loss, XM, YM, convention="tensorflow")
    assert_rel(got, float(ref), F32, "value")
    assert_rel(grad, gref, 1e-4, "gradient")


def test_ms_ssim_conventions_differ_on_odd_sides():
    """The three downsamplings give three numbers on odd sides, one on even sides with the
    same window and per-channel terms (pytorch-msssim and TensorFlow)."""
    a = float(lb.ms_ssim_loss(XM, YM, convention="pytorch_msssim"))
    b = float(lb.ms_ssim_loss(XM, YM, convention="tensorflow"))
    assert abs(a - b) > 1e-4
    even_x, even_y = XM[..., :176, :176], YM[..., :176, :176]
    a = float(lb.ms_ssim_loss(even_x, even_y, convention="pytorch_msssim"))
    b = float(lb.ms_ssim_loss(even_x, even_y, convention="tensorflow"))
    np.testing.assert_allclose(a, b, rtol=1e-13)


def test_one_scale_is_ssim():
    """Hand relation: MS-SSIM with one weight 1 is max(SSIM, 0)."""
    got = lb.ms_ssim_loss(X, Y, weights=[1.0], reduction="none")
    np.testing.assert_allclose(got, lb.ssim_loss(X, Y, reduction="none"), rtol=1e-13)


# ------------------------------------------------------------------------------------------
# Reductions, layouts, precision
# ------------------------------------------------------------------------------------------


def test_reductions_and_denominator():
    per = np.asarray(lb.ssim_loss(X, Y, reduction="none"))
    assert per.shape == (2,)
    np.testing.assert_allclose(lb.ssim_loss(X, Y), per.mean(), rtol=1e-14)
    np.testing.assert_allclose(lb.ssim_loss(X, Y, reduction="sum"), per.sum(), rtol=1e-14)
    np.testing.assert_allclose(lb.ssim_loss(X, Y, denominator=8.0), per.sum() / 8, rtol=1e-14)
    np.testing.assert_allclose(lb.mean_denominator(lb.ssim_loss, X, Y), 2.0)
    # shards with the summed count add up to the full batch's mean
    d = 2.0
    parts = [lb.ssim_loss(X[i : i + 1], Y[i : i + 1], denominator=d) for i in range(2)]
    np.testing.assert_allclose(sum(parts), per.mean(), rtol=1e-14)


def test_channels_last_is_a_transpose():
    nhwc = lambda a: np.moveaxis(a, 1, -1)  # noqa: E731
    for fn in (lb.ssim_loss, lb.ms_ssim_loss):
        a, b = (XM, YM) if fn is lb.ms_ssim_loss else (X, Y)
        np.testing.assert_allclose(
            fn(nhwc(a), nhwc(b), channel_axis=-1, reduction="none"),
            fn(a, b, reduction="none"),
            rtol=1e-15,
        )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_inputs_computed_in_float32(dtype):
    """The house's half rule: float32 inside, one rounding (pytorch-msssim in float32 as the
    expected value)."""
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    half = getattr(torch, dtype)
    xh, yh = torch.tensor(X, dtype=half), torch.tensor(Y, dtype=half)
    got = lb.ssim_loss(xh, yh)
    assert got.dtype == half
    ref = 1 - pytorch_msssim.ssim(xh.float(), yh.float(), data_range=1.0)
    assert (
        got.item() == ref.to(half).item()
        or abs(got.item() - ref.item())
        <= 2 * abs(ref.to(half).item() - ref.item()) + torch.finfo(half).eps * ref.item()
    )


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        ({"convention": "matlab"}, ValueError, ["ssim_loss", "convention", "'pytorch_msssim'"]),
        ({"window_size": 4}, ValueError, ["ssim_loss", "window_size", "odd", "4"]),
        ({"window_size": 0}, TypeError, ["ssim_loss", "window_size", "0"]),
        ({"sigma": 0.0}, ValueError, ["ssim_loss", "sigma", "> 0"]),
        ({"data_range": -1.0}, ValueError, ["ssim_loss", "data_range", "-1.0"]),
        ({"k2": -0.1}, ValueError, ["ssim_loss", "k2"]),
        ({"window": "box"}, ValueError, ["ssim_loss", "window", "'box'"]),
        ({"channel_axis": 2}, ValueError, ["ssim_loss", "channel_axis", "2"]),
        ({"sample_covariance": 1}, TypeError, ["ssim_loss", "sample_covariance"]),
        ({"reduction": "batchmean"}, ValueError, ["ssim_loss", "reduction", "batchmean"]),
        ({"reduction": "none", "denominator": 2.0}, ValueError, ["ssim_loss", "denominator"]),
    ],
)
def test_bad_arguments(kwargs, exc, words):
    with pytest.raises(exc) as info:
        lb.ssim_loss(X, Y, **kwargs)
    for w in words:
        assert w in str(info.value)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"ssim_loss: input must have shape \(N, C, H, W\)"):
        lb.ssim_loss(X[0], Y[0])
    with pytest.raises(ValueError, match="ssim_loss.*target"):
        lb.ssim_loss(X, Y[:, :2])
    with pytest.raises(ValueError, match=r"ssim_loss: input has height and width 8 x 41.*>= 11"):
        lb.ssim_loss(X[..., :8, :], Y[..., :8, :])
    with pytest.raises(ValueError, match=r"ms_ssim_loss: the scale 5 image.*>= 11"):
        lb.ms_ssim_loss(X, Y)
    with pytest.raises(ValueError, match="ms_ssim_loss: convention.*kornia"):
        lb.ms_ssim_loss(XM, YM, convention="kornia")
    with pytest.raises(ValueError, match="ms_ssim_loss: weights"):
        lb.ms_ssim_loss(XM, YM, weights=[])
    with pytest.raises(ValueError, match=r"ms_ssim_loss: weights\[1\]"):
        lb.ms_ssim_loss(XM, YM, weights=[0.5, -0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lb.ssim_loss(X[..., :11, :11], Y[..., :11, :11])  # the window fits exactly: no warning


def test_benchmark_section_smoke(capsys):
    """``python -m benchmarks.image_quality``'s rows run and agree with the libraries (torch,
    forward, a small shape: the speed itself is docs/performance.md's)."""
    pytest.importorskip("pytorch_msssim")
    pytest.importorskip("torchmetrics")
    import pathlib
    import sys

    root = str(pathlib.Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.image_quality import MISMATCH_RTOL, run_section

    rows = run_section({"torch"}, quick=True, rounds=3, fwd_only=True, shape=(1, 2, 176, 176))
    out = capsys.readouterr().out
    assert len(rows) == 4, out
    for row in rows:
        assert row.error is None, row
        assert np.isfinite(row.ratio_median) and row.ratio_median > 0
        assert row.max_rel_diff <= MISMATCH_RTOL, row

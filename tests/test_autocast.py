"""The torch autocast rule (issue 14, rule 2): inside ``torch.autocast`` every loss behaves as
``torch.nn.functional``'s losses do there.

Expected values come from torch's own losses under the same autocast, from the registry's float64
NumPy references (:mod:`lossbridge.conformance`), or from float64 formulas written here, always
on the same half-rounded inputs. Bounds:

* a float32 result (every loss on torch's CPU autocast float32 list, and every loss torch does
  not ship) is lossbridge's float32 computation on inputs float32 holds exactly: within
  ``F32_RTOL`` = 1e-6 (about 8 float32 ulps; the float32 matrix's value bound) of the float64
  value and of torch's own float32 value, for these well-conditioned cases (losses of order 1,
  sums over at most 160 terms: a float32 sum's error is below ``n * eps32 / 2`` relative in the
  worst case, far below in practice). A half computation (the pre-rule result, or one bfloat16
  rounding of an input) is 2**-9 = 2e-3 off, a thousand times more;
* the matmul losses (ntxent, circle, arcface): cosines of 32-dimensional embeddings in float32
  are accurate to ``32 * eps32 / 2`` = 2e-6 absolute, times the loss's scale (1 / 0.07 = 14 for
  ntxent, 64 for arcface, 32 for circle): at most 1.3e-4 absolute on losses of 8 to 50, so
  ``MATMUL_RTOL`` = 1e-5 relative (measured: 1.1e-7, 5e-9, 1.2e-8). A bfloat16 matmul's cosines
  are 2**-9 = 2e-3 off, 1e-3 relative after the same scaling: a hundred times the bound;
* a half result (the CPU's keep-half losses) is rounded once from float32: within 1 ulp of the
  half dtype of the float64 value.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import lossbridge as lb

torch = pytest.importorskip("torch")
F = torch.nn.functional

from lossbridge.conformance import get_entry  # noqa: E402
from lossbridge.conformance.autocast import (  # noqa: E402
    AUTOCAST_DTYPES,
    autocast_devices,
    autocast_entries,
    check_case,
    run_autocast,
)

F32_RTOL = 1e-6
MATMUL_RTOL = 1e-5
HALF = {"bfloat16": torch.bfloat16, "float16": torch.float16}

CORE = [e.name for e in autocast_entries() if not e.name.startswith("nn.")]
NN = [e.name for e in autocast_entries() if e.name.startswith("nn.")]


def _failures(results):
    return [r.message for r in results if r.status == "fail"]


# ------------------------------------------------------------------------------------------
# The conformance check, one case per loss
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
@pytest.mark.parametrize("name", CORE)
def test_core_loss_follows_torch_under_cpu_autocast(name, dtype):
    entry = get_entry(name)
    results = check_case(entry, entry.cases[0], "cpu", dtype)
    assert not _failures(results), _failures(results)
    ran = {r.check for r in results if r.status == "pass"}
    assert {"autocast_dtype", "autocast_value"} <= ran
    if entry.oracle is not None:
        assert "autocast_oracle" in ran


@pytest.mark.parametrize("name", NN)
def test_nn_class_follows_torch_nn_under_cpu_autocast(name):
    entry = get_entry(name)
    results = [r for dt in AUTOCAST_DTYPES for r in check_case(entry, entry.cases[0], "cpu", dt)]
    assert not _failures(results), _failures(results)
    assert {"autocast_dtype", "autocast_value", "autocast_oracle"} <= {
        r.check for r in results if r.status == "pass"
    }


def test_check_records_backend_dtype_and_bounds():
    entry = get_entry("cross_entropy")
    results = check_case(entry, entry.case("weight_mean"), "cpu", "bfloat16")
    assert [r.check for r in results] == [
        "autocast_dtype",
        "autocast_value",
        "autocast_oracle",
        "autocast_grad",
    ]
    assert {r.backend for r in results} == {"torch-autocast-cpu-bf16"}
    assert {r.dtype for r in results} == {"bfloat16"}
    assert all(r.passed for r in results)
    assert "torch.float32" in results[0].message  # F's dtype, found by calling F
    grad = results[-1]
    assert grad.tolerance == 2.0 and grad.error <= 2.0  # ulps of bfloat16


def test_oracle_skip_keeps_the_cases_reason():
    """A case whose entry says why torch is no oracle (lossbridge's z_loss/softcap) is not run
    against torch under autocast for that reason, not for the TypeError torch raises."""
    entry = get_entry("linear_cross_entropy")
    case = entry.case("z_loss_softcap_mean")
    results = check_case(entry, case, "cpu", "bfloat16")
    (oracle,) = [r for r in results if r.check == "autocast_oracle"]
    assert oracle.skipped and oracle.message.endswith(case.skipped("oracle", "bfloat16"))
    assert all(r.passed for r in results if not r.skipped)


def test_check_catches_a_half_rounded_target():
    # A loss that rounds its float32 target to the prediction's bfloat16: float32 result, but
    # 2e-3 off. The check must fail it (the value and oracle bounds are 1e-6 here).
    entry = get_entry("mse_loss")

    def rounds_target(input, target, reduction="mean"):
        return lb.mse_loss(input, target.to(input.dtype), reduction=reduction)

    bad = dataclasses.replace(entry, fn=rounds_target)
    results = check_case(bad, bad.case("basic_mean"), "cpu", "bfloat16")
    failed = {r.check for r in results if r.status == "fail"}
    assert {"autocast_value", "autocast_oracle"} <= failed


def test_check_catches_a_half_result_where_torch_returns_float32():
    entry = get_entry("soft_margin_loss")

    def stays_half(input, target, reduction="mean"):
        with torch.autocast("cpu", enabled=False):
            return lb.soft_margin_loss(input, target.to(input.dtype), reduction=reduction)

    bad = dataclasses.replace(entry, fn=stays_half)
    (result,) = check_case(bad, bad.cases[0], "cpu", "bfloat16")
    assert result.check == "autocast_dtype" and result.status == "fail"
    assert "torch.bfloat16 where torch.float32 was expected" in result.message


def test_run_selects_and_reports_devices():
    results = run_autocast(
        losses=["l1_loss", "keras.MeanSquaredError"], dtypes=["float32", "float16"], max_cases=1
    )
    assert {(r.loss, r.backend) for r in results} == {("l1_loss", "torch-autocast-cpu-f16")}
    if "cuda" not in autocast_devices():
        skipped = run_autocast(losses=["l1_loss"], devices=["cuda"], max_cases=1)
        assert {(r.backend, r.check, r.status) for r in skipped} == {
            ("torch-autocast-cuda-bf16", "all", "skip"),
            ("torch-autocast-cuda-f16", "all", "skip"),
        }
    with pytest.raises(ValueError, match="unknown dtype 'half'"):
        run_autocast(dtypes=["half"])
    with pytest.raises(ValueError, match="unknown loss 'nope'"):
        run_autocast(losses=["nope"])


# ------------------------------------------------------------------------------------------
# The examples: logits from an autocast nn.Linear
# ------------------------------------------------------------------------------------------


def _linear(rng, n_in, n_out):
    lin = torch.nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)))
        lin.bias.copy_(torch.from_numpy(rng.standard_normal(n_out) * 0.1))
    return lin


@pytest.fixture
def logits():
    """bfloat16 logits (16, 10) of an autocast ``nn.Linear`` and int64 targets."""
    rng = np.random.default_rng(14)
    lin = _linear(rng, 32, 10)
    x = torch.from_numpy(rng.standard_normal((16, 32))).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = lin(x)
    assert z.dtype == torch.bfloat16
    return z.detach(), torch.from_numpy(rng.integers(0, 10, 16))


def _ce64(z, t, smoothing=0.0):
    z = z.double().numpy()
    logp = z - z.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    nll = -logp[np.arange(len(t)), t.numpy()]
    return float(np.mean((1 - smoothing) * nll - smoothing * logp.mean(1)))


def _close(got, expected, rtol):
    got = float(got.detach()) if isinstance(got, torch.Tensor) else float(got)
    assert abs(got - expected) <= rtol * abs(expected), (got, expected)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_equals_torch_under_autocast(logits, smoothing):
    z, t = logits
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours = lb.cross_entropy(z, t, label_smoothing=smoothing)
        theirs = F.cross_entropy(z, t, label_smoothing=smoothing)
    assert ours.dtype == theirs.dtype == torch.float32
    expected = _ce64(z, t, smoothing)
    _close(theirs, expected, F32_RTOL)  # the bound holds for torch's own float32 value
    _close(ours, expected, F32_RTOL)
    _close(ours, float(theirs), 2 * F32_RTOL)


def test_margin_and_divergence_losses_are_float32_like_torch(logits):
    z, t = logits
    y = torch.where(torch.arange(160).reshape(16, 10) % 3 == 0, 1.0, -1.0)  # float32 +-1
    p = torch.softmax(torch.linspace(-1, 1, 160).reshape(16, 10), 1)  # float32 probabilities
    z64, y64, p64 = z.double().numpy(), y.double().numpy(), p.double().numpy()
    logq = z64 - np.log(np.exp(z64).sum(1, keepdims=True))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logq_half = torch.log_softmax(z, 1)  # torch's autocast: log_softmax runs in float32
        cases = {
            "soft_margin_loss": (
                lb.soft_margin_loss(z, y),
                F.soft_margin_loss(z, y),
                float(np.mean(np.log1p(np.exp(-y64 * z64)))),
            ),
            "multi_margin_loss": (
                lb.multi_margin_loss(z, t),
                F.multi_margin_loss(z, t),
                None,
            ),
            "kl_div": (
                lb.kl_div(logq_half, p, reduction="batchmean"),
                F.kl_div(logq_half, p, reduction="batchmean"),
                None,
            ),
        }
    m = np.maximum(0.0, 1.0 - z64[np.arange(16), t.numpy()][:, None] + z64)
    m[np.arange(16), t.numpy()] = 0.0
    cases["multi_margin_loss"] = (*cases["multi_margin_loss"][:2], float(np.mean(m.sum(1) / 10)))
    lq = logq_half.double().numpy()
    cases["kl_div"] = (*cases["kl_div"][:2], float(np.sum(p64 * (np.log(p64) - lq)) / 16))
    assert logq.shape == lq.shape
    for name, (ours, theirs, expected) in cases.items():
        assert ours.dtype == theirs.dtype == torch.float32, name
        _close(ours, expected, F32_RTOL)
        _close(theirs, expected, F32_RTOL)


def test_losses_torch_lacks_are_float32_under_autocast():
    rng = np.random.default_rng(3)
    lin = _linear(rng, 8, 3)
    x = torch.from_numpy(rng.standard_normal((2, 4, 4, 8))).float()
    target = torch.from_numpy(rng.integers(0, 3, (2, 4, 4)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        seg = lin(x).permute(0, 3, 1, 2)  # (2, 3, 4, 4) bfloat16 logits
        dice = lb.dice_loss(seg, target)
        flat = seg.permute(0, 2, 3, 1).reshape(-1, 3)
        focal = lb.softmax_focal_loss(flat, target.reshape(-1))
    assert seg.dtype == torch.bfloat16
    assert dice.dtype == focal.dtype == torch.float32
    s64, f64 = seg.detach().double().numpy(), flat.detach().double().numpy()
    _close(dice, float(get_entry("dice_loss").reference(s64, target.numpy())), F32_RTOL)
    expected = get_entry("softmax_focal_loss").reference(f64, target.reshape(-1).numpy())
    _close(focal, float(expected), F32_RTOL)


def test_half_logits_mix_with_float32_targets_and_weights(logits):
    z, t = logits
    w = torch.linspace(0.3, 2.0, 10)  # float32 class weights, not bfloat16-representable
    target = (torch.arange(160).reshape(16, 10) % 4 == 0).float()
    pos_weight = torch.linspace(0.5, 1.5, 10)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pairs = [
            (lb.cross_entropy(z, t, weight=w), F.cross_entropy(z, t, weight=w)),
            (
                lb.binary_cross_entropy_with_logits(z, target, pos_weight=pos_weight),
                F.binary_cross_entropy_with_logits(z, target, pos_weight=pos_weight),
            ),
            (lb.nn.CrossEntropyLoss(weight=w)(z, t), torch.nn.CrossEntropyLoss(weight=w)(z, t)),
        ]
    z64, w64 = z.double().numpy(), w.double().numpy()
    logp = z64 - np.log(np.exp(z64).sum(1, keepdims=True))
    wt = w64[t.numpy()]
    ce = float(np.sum(-wt * logp[np.arange(16), t.numpy()]) / wt.sum())
    for ours, theirs in pairs:
        assert ours.dtype == theirs.dtype == torch.float32
        _close(ours, float(theirs), 2 * F32_RTOL)
    _close(pairs[0][0], ce, F32_RTOL)
    _close(pairs[2][0], ce, F32_RTOL)


# ------------------------------------------------------------------------------------------
# Compiled, nested and disabled autocast regions
# ------------------------------------------------------------------------------------------


def test_torch_compile_fullgraph_of_autocast_linear_and_loss(logits):
    rng = np.random.default_rng(5)
    lin = _linear(rng, 32, 10)
    x = torch.from_numpy(rng.standard_normal((16, 32))).float()
    _, t = logits

    def step(x, t):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return lb.cross_entropy(lin(x), t, label_smoothing=0.1)

    eager = step(x, t)
    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")(x, t)
    assert compiled.dtype == eager.dtype == torch.float32
    _close(compiled, float(eager.detach()), F32_RTOL)
    (g_eager,) = torch.autograd.grad(step(x, t), lin.weight)
    (g_compiled,) = torch.autograd.grad(
        torch.compile(step, fullgraph=True, backend="aot_eager")(x, t), lin.weight
    )
    assert g_compiled.dtype == torch.float32  # the parameter's gradient
    np.testing.assert_allclose(g_compiled.numpy(), g_eager.numpy(), rtol=0, atol=1e-6)


def test_autocast_disabled_and_nested_regions(logits):
    z, t = logits
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with torch.autocast("cpu", enabled=False):
            # outside autocast again: half in, half out (rule 1), as F
            inner, inner_f = lb.cross_entropy(z, t), F.cross_entropy(z, t)
        with torch.autocast("cpu", dtype=torch.float16):
            nested, nested_f = lb.cross_entropy(z, t), F.cross_entropy(z, t)
        after = torch.ones(2, 2) @ torch.ones(2, 2)  # autocast still on after our loss
    assert inner.dtype == inner_f.dtype == torch.bfloat16
    eps = torch.finfo(torch.bfloat16).eps
    expected = _ce64(z, t)
    assert abs(float(inner) - expected) <= eps * 2.0 ** np.floor(np.log2(expected))  # 1 ulp
    assert nested.dtype == nested_f.dtype == torch.float32
    _close(nested, expected, F32_RTOL)
    assert after.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")


# ------------------------------------------------------------------------------------------
# Losses built on a matmul stay float32 under autocast
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("ntxent_loss", {}),
        ("circle_loss", {"margin": 0.25, "gamma": 32.0}),
        ("arcface_loss", {"scale": 64.0, "margin": 0.5}),
    ],
)
def test_matmul_losses_compute_in_float32_under_autocast(name, kwargs):
    rng = np.random.default_rng(7)
    lin = _linear(rng, 16, 32)
    x = torch.from_numpy(rng.standard_normal((12, 16))).float()
    labels = torch.from_numpy(np.repeat(np.arange(4), 3))
    centers = torch.from_numpy(rng.standard_normal((4, 32))).float()  # float32 parameter
    with torch.autocast("cpu", dtype=torch.bfloat16):
        emb = lin(x)
        if name == "arcface_loss":
            ours = lb.arcface_loss(emb, labels, centers, **kwargs)
        else:
            ours = getattr(lb, name)(emb, labels, **kwargs)
    assert emb.dtype == torch.bfloat16 and ours.dtype == torch.float32
    e64 = emb.detach().double().numpy()
    ref = get_entry(name).reference
    if name == "arcface_loss":
        expected = ref(e64, labels.numpy(), centers.double().numpy(), **kwargs)
    else:
        expected = ref(e64, labels.numpy(), **kwargs)
    _close(ours, float(expected), MATMUL_RTOL)


# ------------------------------------------------------------------------------------------
# The CPU's keep-half losses: half everywhere in, half out, as torch's
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
def test_keep_half_losses_return_the_half_dtype_like_torch(dtype):
    half = HALF[dtype]
    rng = np.random.default_rng(11)

    def h(shape, lo=None):
        a = rng.standard_normal(shape) if lo is None else rng.uniform(lo, 2.0, shape)
        return torch.from_numpy(a).to(half)

    x, y, var = h((8, 5)), h((8, 5)), h((8, 5), lo=0.5)
    labels = torch.from_numpy(rng.integers(0, 2, (8, 5))).to(half)
    with torch.autocast("cpu", dtype=half):
        pairs = {
            "gaussian_nll_loss": (lb.gaussian_nll_loss(x, y, var), F.gaussian_nll_loss(x, y, var)),
            "multilabel_soft_margin_loss": (
                lb.multilabel_soft_margin_loss(x, labels),
                F.multilabel_soft_margin_loss(x, labels),
            ),
            "pairwise_distance": (lb.pairwise_distance(x, y), F.pairwise_distance(x, y)),
            "triplet_margin_with_distance_loss": (
                lb.triplet_margin_with_distance_loss(x, y, var),
                F.triplet_margin_with_distance_loss(x, y, var),
            ),
        }
    x64, y64, v64, l64 = (a.double().numpy() for a in (x, y, var, labels))
    d = lambda a, b: np.sqrt(np.sum((a - b + 1e-6) ** 2, axis=-1))  # noqa: E731
    expected = {
        "gaussian_nll_loss": np.mean(0.5 * (np.log(v64) + (x64 - y64) ** 2 / v64)),
        "multilabel_soft_margin_loss": np.mean(
            -np.mean(l64 * -np.log1p(np.exp(-x64)) + (1 - l64) * -np.log1p(np.exp(x64)), 1)
        ),
        "pairwise_distance": d(x64, y64),
        "triplet_margin_with_distance_loss": np.mean(
            np.maximum(d(x64, y64) - d(x64, v64) + 1.0, 0.0)
        ),
    }
    eps = float(torch.finfo(half).eps)
    for name, (ours, theirs) in pairs.items():
        assert ours.dtype == theirs.dtype == half, name
        e = np.asarray(expected[name])
        ulp = eps * 2.0 ** np.floor(np.log2(np.maximum(np.abs(e), 1e-30)))
        assert np.all(np.abs(ours.double().numpy() - e) <= ulp), name

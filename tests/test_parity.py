"""The public parity API: a user's own loss, defined here (not shipped), checked everywhere.

``soft_bce`` below stands for a loss a team writes itself against the array API. Its reference
in these tests is a float64 NumPy formula written plainly (never lossbridge's output); broken
variants (a wrong epsilon on torch only, on TensorFlow only, one wrong element) must be caught,
with messages naming the backend, dtype, check and worst element. The porting check compares
native torch and TensorFlow code. Inputs are small and most checks run eagerly, to stay fast.
"""

from __future__ import annotations

import contextlib
import io
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from lossbridge.backends import framework_name, get_namespace
from lossbridge.conformance import (
    ParityReport,
    Spec,
    assert_parity,
    check,
    check_port,
    compare_detail,
    draw_inputs,
    get_driver,
    spec,
)
from lossbridge.conformance.drivers import available_drivers

BACKENDS = [d.name for d in available_drivers()]
AUTODIFF = [d.name for d in available_drivers() if d.autodiff]
SPECS = {"pred": spec((6, 3), "probs"), "target": spec((6, 3), "binary")}


# ------------------------------------------------------------------------------------------
# The user's code
# ------------------------------------------------------------------------------------------


def soft_bce(pred, target, eps=1e-6):
    """Binary cross-entropy on probabilities, with an epsilon inside the logs."""
    xp, _ = get_namespace(pred, target)
    return -xp.mean(target * xp.log(pred + eps) + (1 - target) * xp.log(1 - pred + eps))


def soft_bce_np(pred, target, eps=1e-6):
    """The same formula in plain float64 NumPy: the independent reference."""
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    return -np.mean(t * np.log(p + eps) + (1 - t) * np.log(1 - p + eps))


def soft_bce_eps_torch(pred, target):
    """Broken: epsilon 1e-2 when the arrays are torch tensors."""
    return soft_bce(pred, target, eps=1e-2 if framework_name(pred) == "torch" else 1e-6)


def soft_bce_eps_tf(pred, target):
    """Broken: epsilon 1e-2 when the arrays are TensorFlow tensors."""
    return soft_bce(pred, target, eps=1e-2 if framework_name(pred) == "tensorflow" else 1e-6)


def scaled(x, factor=2.0):
    """A function of arrays (no reduction): ``factor * x``."""
    return factor * x


def scaled_off_at_3_on_torch(x, factor=2.0):
    """``factor * x`` with 1e-3 added to element 3 on torch only."""
    xp, _ = get_namespace(x)
    out = factor * x
    if framework_name(x) == "torch":
        bump = xp.where(xp.arange(x.shape[0]) == 3, 1e-3, 0.0)
        out = out + xp.astype(bump, x.dtype)
    return out


def needs(*names: str):
    missing = [n for n in names if n not in BACKENDS]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)}")


# ------------------------------------------------------------------------------------------
# check()
# ------------------------------------------------------------------------------------------


def test_user_loss_passes_on_every_installed_backend() -> None:
    report = check(soft_bce, specs=SPECS, reference=soft_bce_np, compiled=False)
    assert isinstance(report, ParityReport)
    assert report.ok, report.failure_message()
    ran = {(r.backend, r.dtype) for r in report.ran}
    assert ran == {(b, dt) for b in BACKENDS for dt in ("float32", "float64")}  # the default
    checks = {r.check for r in report.ran}
    assert {"value", "type"} <= checks
    if "numpy" in BACKENDS and len(BACKENDS) > 1:
        assert "cross" in checks
    if AUTODIFF:
        assert "grad_fd" in checks
    if len(AUTODIFF) > 1:
        assert "grad_cross" in checks
    assert not any(r.check in ("oracle", "grad_oracle") for r in report.results)
    text = str(report)
    assert "soft_bce" in text and "PASS" in text and "tolerances" in text


@needs("torch")
def test_wrong_epsilon_on_torch_is_caught_and_blamed_on_torch() -> None:
    report = check(soft_bce_eps_torch, specs=SPECS, reference=soft_bce_np, compiled=False)
    assert not report.ok
    value_fails = {(r.backend, r.dtype) for r in report.failures if r.check == "value"}
    assert value_fails == {("torch", dt) for dt in ("float32", "float64")}  # check()'s default
    msg = report.failure_message()
    first_line = msg.splitlines()[0]
    assert "pointing at torch float32, torch float64" in first_line
    for backend in set(BACKENDS) - {"torch"}:
        assert backend not in first_line.split("(backends")[0]
    first = next(r for r in report.failures if r.check == "value" and r.dtype == "float32")
    # the worst element of a scalar loss, with the two values: the expected one is the plain
    # NumPy formula on the float32-rounded inputs, the one got uses epsilon 1e-2
    inputs = {k: v.astype("float32").astype("float64") for k, v in draw_inputs(SPECS).items()}
    assert first.index == () and first.expected == pytest.approx(soft_bce_np(**inputs), rel=1e-12)
    assert first.got == pytest.approx(soft_bce_np(**inputs, eps=1e-2), rel=1e-6)
    assert first.ulps > 1e4 and first.error > first.tolerance
    for part in ("value:", "on torch float32", "worst element (scalar)", "got", "expected", "ulp"):
        assert part in msg
    assert "repro:" in msg and "get_driver('torch')" in msg


@needs("torch")
def test_repro_snippet_runs_and_shows_the_difference() -> None:
    report = check(
        soft_bce_eps_torch, specs=SPECS, backends=["torch"], dtypes=["float64"], compiled=False
    )
    r = next(r for r in report.failures if r.check == "value")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(r.repro, "<repro>", "exec"), {})  # noqa: S102 - our own generated snippet
    got, ref = (float(line.strip("[] ")) for line in out.getvalue().split("\n")[:2])
    assert got == pytest.approx(r.got) and ref == pytest.approx(r.expected)


@needs("tensorflow")
def test_wrong_epsilon_on_tensorflow_only() -> None:
    backends = [b for b in ("numpy", "tensorflow", "jax") if b in BACKENDS]
    report = check(
        soft_bce_eps_tf, specs=SPECS, backends=backends, dtypes=["float32"], compiled=False
    )
    assert {r.backend for r in report.failures} == {"tensorflow"}
    assert {"value", "cross"} <= {r.check for r in report.failures}
    assert "pointing at tensorflow float32" in str(report.failure_message())
    with pytest.raises(AssertionError, match=r"on tensorflow float32.*worst element"):
        report.assert_ok()


@needs("torch")
def test_worst_element_index_and_values() -> None:
    x = np.linspace(-1.0, 1.0, 7)
    report = check(scaled_off_at_3_on_torch, {"x": x}, backends=["numpy", "torch"], compiled=False)
    (r,) = [r for r in report.failures if r.check == "value" and r.dtype == "float64"]
    assert r.index == (3,) and r.worst == "[3]"
    assert r.expected == pytest.approx(2.0 * x[3]) and r.got == pytest.approx(2.0 * x[3] + 1e-3)
    assert "worst element [3]" in r.message
    # the gradient of sum(out * cotangent) is unaffected by the bump: no gradient failure
    assert not [f for f in report.failures if f.check.startswith("grad")]


def test_compare_detail_index_and_ulps() -> None:
    eps32 = float(np.finfo(np.float32).eps)
    m = compare_detail([1.0, 2.0 + 2 * eps32, -0.5], [1.0, 2.0, -0.5], "float32")
    assert m.index == (1,) and m.got == 2.0 + 2 * eps32 and m.expected == 2.0
    assert m.ulps == pytest.approx(1.0)  # one float32 ulp at the largest magnitude, 2
    assert m.error == pytest.approx(eps32)
    m = compare_detail([[0.0, np.nan]], [[0.0, 1.0]], "float64")
    assert m.index == (0, 1) and m.error == np.inf and "index" in m.note
    assert compare_detail(np.zeros(3), np.zeros((3, 1))).index is None


def test_inputs_arrays_labels_kwargs_grid_and_skip() -> None:
    rng = np.random.default_rng(1)

    def weighted_mse(pred, target, weight, reduction="mean"):
        xp, _ = get_namespace(pred, target, weight)
        w = xp.astype(weight, pred.dtype)
        loss = w * (pred - target) ** 2
        return xp.mean(loss) if reduction == "mean" else xp.sum(loss)

    inputs = {
        "pred": rng.standard_normal((5, 2)),
        "target": rng.standard_normal((5, 2)),
        "weight": np.arange(10).reshape(5, 2),  # integers: kept as integers, not differentiated
    }
    report = check(
        weighted_mse,
        inputs,
        kwargs=[{"reduction": "mean"}, {"reduction": "sum"}],
        backends=[b for b in ("numpy", "array_api_strict", "torch") if b in BACKENDS],
        dtypes=["float64"],
        skip={"grad_fd": "not needed here", "type": "tested elsewhere"},
        compiled=False,
    )
    assert report.ok, report.failure_message()
    assert {r.case for r in report.results} == {"inputs:reduction='mean'", "inputs:reduction='sum'"}
    skipped = {r.check: r.message for r in report.not_run}
    assert skipped.get("type") == "tested elsewhere"
    if "torch" in BACKENDS:
        assert skipped.get("grad_fd") == "not needed here"
        grads = [r for r in report.ran if r.check.startswith("grad")]
        assert all(r.argument in ("pred", "target") for r in grads)


def test_tolerance_override() -> None:
    def off(pred, target):  # 1e-5 away from soft_bce on NumPy-like backends' float64
        out = soft_bce(pred, target)
        return out + 1e-5 if framework_name(pred) == "array_api_strict" else out

    if "array_api_strict" not in BACKENDS:
        pytest.skip("needs array_api_strict")
    kw = {"specs": SPECS, "backends": ["numpy", "array_api_strict"], "dtypes": ["float64"]}
    assert not check(off, **kw).ok
    report = check(off, **kw, tolerances={"float64": {"value": 1e-4}})
    assert report.ok, report.failure_message()
    assert report.tolerances["float64"]["value"] == 1e-4
    assert report.tolerances["float32"]["value"] == 1e-6  # untouched
    with pytest.raises(ValueError, match="unknown key"):
        check(off, **kw, tolerances={"float64": {"vlaue": 1e-4}})


@needs("jax")
def test_compiled_modes_run_and_catch_an_untraceable_function() -> None:
    report = check(soft_bce, specs=SPECS, backends=["jax"], dtypes=["float32"])
    assert report.ok, report.failure_message()
    assert {"jax_jit", "jax_jit_grad"} <= {r.check for r in report.ran}

    def untraceable(pred, target):
        out = soft_bce(pred, target)
        return out * (1.0 if float(out) > 0 else 2.0)

    report = check(untraceable, specs=SPECS, backends=["jax"], dtypes=["float32"])
    (r,) = [r for r in report.failures if r.check == "jax_jit"]
    assert "compiled mode failed" in r.message and "jax float32" in r.message


@needs("jax")
def test_float64_jax_not_run_when_x64_is_off(monkeypatch) -> None:
    jax = get_driver("jax")
    monkeypatch.setattr(type(jax), "supports_float64", lambda self: self.name != "jax")
    report = check(soft_bce, specs=SPECS, backends=["jax"], dtypes=["float64"])
    assert not report.ran and not report.ok
    assert all("jax_enable_x64" in r.message for r in report.not_run)
    with pytest.raises(AssertionError, match="no check ran.*jax_enable_x64"):
        report.assert_ok()


@needs("torch")
def test_device_cpu_runs_and_an_absent_device_is_not_run() -> None:
    import torch

    report = check(soft_bce, specs=SPECS, backends=["torch"], dtypes=["float32"], device="cpu")
    assert report.ok and all(r.device == "cpu" for r in report.results)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the absent-device case cannot be shown")
    # missing_device="skip": not run, with the reasons (the default fails: test_parity_blame.py)
    report = check(
        soft_bce, specs=SPECS, backends=["torch", "numpy"], device="cuda", missing_device="skip"
    )
    assert not report.ran
    reasons = {r.backend: r.message for r in report.not_run}
    assert "cuda" in reasons["torch"] and "is_available" in reasons["torch"]
    assert "host only" in reasons["numpy"]


def soft_bce_float32_inside(pred, target, eps=1e-6):
    """soft_bce computed in float32 and rounded once to the input's dtype (the half rule)."""
    xp, _ = get_namespace(pred, target)
    p, t = xp.astype(pred, xp.float32), xp.astype(target, xp.float32)
    out = -xp.mean(t * xp.log(p + eps) + (1 - t) * xp.log(1 - p + eps))
    return xp.astype(out, pred.dtype)


def test_half_dtypes_for_a_users_function() -> None:
    """float16 and bfloat16 on request: a function that computes in float32 and rounds once
    passes (1 ulp, gradients 2 ulp); array-api-strict is reported as not run."""
    report = check(
        soft_bce_float32_inside,
        specs=SPECS,
        reference=soft_bce_np,
        dtypes=["float16", "bfloat16"],
        compiled=False,
    )
    assert report.ok, report.failure_message()
    ran = {(r.backend, r.dtype) for r in report.ran}
    half_backends = [b for b in BACKENDS if b != "array_api_strict"]
    assert ran == {(b, dt) for b in half_backends for dt in ("float16", "bfloat16")}
    values = [r for r in report.ran if r.check == "value"]
    assert values and all(r.tolerance == 1.0 and r.error <= 1.0 for r in values)
    if AUTODIFF:
        assert "grad_ref" in {r.check for r in report.ran}
    if "array_api_strict" in BACKENDS:
        strict = [r for r in report.results if r.backend == "array_api_strict"]
        assert len(strict) == 2  # one "all" record per half dtype
        assert all(r.skipped and "no half-precision" in r.message for r in strict)
    assert "ulp" in str(report)


def test_a_four_ulp_error_in_half_is_caught() -> None:
    def off(pred, target):
        out = soft_bce_float32_inside(pred, target)
        value = float(np.asarray(out, dtype=np.float64))
        return np.asarray(value * (1 + 4 * 2.0**-10)).astype(np.float16)  # 4-8 ulp

    report = check(off, specs=SPECS, reference=soft_bce_np, backends=["numpy"], dtypes="float16")
    (r,) = [r for r in report.failures if r.check == "value"]
    assert r.error > 3.5 and "ulp" in r.message and "float16" in r.message


def test_bad_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="at least one input array"):
        check(soft_bce, {"eps": 1e-3})
    with pytest.raises(ValueError, match="unknown backend"):
        check(soft_bce, specs=SPECS, backends=["mxnet"])
    with pytest.raises(ValueError, match="unknown dtype.*float32, float64, float16, bfloat16"):
        check(soft_bce, specs=SPECS, dtypes=["float8"])
    with pytest.raises(ValueError, match="grad_args"):
        check(soft_bce, specs=SPECS, grad_args=["nope"])
    with pytest.raises(ValueError, match="skip: unknown checks"):
        check(soft_bce, specs=SPECS, skip={"grad_df": "typo"})

    def native_only(pred, target):
        return pred.detach()  # torch-only code: no NumPy float64 reference

    with pytest.raises(ValueError, match="check_port"):
        check(native_only, specs=SPECS)


def test_assert_parity_raises_and_returns() -> None:
    backends = [b for b in ("numpy", "array_api_strict") if b in BACKENDS]
    assert assert_parity(soft_bce, specs=SPECS, backends=backends).ok

    def wrong(pred, target):
        return soft_bce(pred, target) * 1.01

    with pytest.raises(AssertionError, match="parity of wrong"):
        assert_parity(wrong, specs=SPECS, backends=backends, reference=soft_bce_np)


# ------------------------------------------------------------------------------------------
# Specs
# ------------------------------------------------------------------------------------------


def test_spec_kinds_draw_what_they_say() -> None:
    drawn = draw_inputs(
        {
            "x": spec((4, 5)),
            "labels": spec(40, "labels", 5),
            "p": spec((50,), "probs"),
            "q": spec((3, 4), "simplex"),
            "lq": spec((3, 4), "log_simplex"),
            "v": spec((20,), "positive", low=0.5, high=1.0),
            "s": spec(30, "signs"),
            "b": spec(30, "binary"),
            "oh": spec((6, 3), "onehot", 3),
            "i": spec(30, "integers", low=-2, high=3),
            "z": spec(()),
            "value": 3,
        },
        seed=7,
    )
    assert drawn["x"].shape == (4, 5) and drawn["x"].dtype == np.float64
    assert drawn["labels"].dtype == np.int64 and set(drawn["labels"]) <= set(range(5))
    assert 0.02 <= drawn["p"].min() and drawn["p"].max() < 0.98
    np.testing.assert_allclose(drawn["q"].sum(axis=-1), 1.0)
    np.testing.assert_allclose(np.exp(drawn["lq"]).sum(axis=-1), 1.0)
    assert 0.5 <= drawn["v"].min() and drawn["v"].max() < 1.0
    assert set(drawn["s"]) == {-1.0, 1.0} and set(drawn["b"]) == {0.0, 1.0}
    assert (drawn["oh"].sum(axis=-1) == 1).all()
    assert set(drawn["i"]) <= set(range(-2, 3)) and drawn["z"].shape == ()
    assert drawn["value"] == 3
    again = draw_inputs({"x": spec((4, 5)), "other": spec(3)}, seed=7)
    np.testing.assert_array_equal(again["x"], drawn["x"])  # per-name seeding
    s = spec(8, "labels", 5)
    assert repr(s) == "spec((8,), 'labels', 5)" and eval(repr(s)) == s  # noqa: S307
    with pytest.raises(ValueError, match="num_classes"):
        spec(8, "labels")
    with pytest.raises(ValueError, match="unknown spec kind"):
        Spec((3,), "gaussian")


# ------------------------------------------------------------------------------------------
# Reports
# ------------------------------------------------------------------------------------------


@needs("torch")
def test_reports_json_markdown_junit_heatmap(tmp_path) -> None:
    report = check(soft_bce_eps_torch, specs=SPECS, backends=["numpy", "torch"], compiled=False)
    doc = json.loads(report.to_json(str(tmp_path / "r.json")))
    assert json.loads((tmp_path / "r.json").read_text()) == doc
    assert doc["ok"] is False and doc["summary"]["failed"] == len(report.failures)
    failing = [r for r in doc["results"] if r["passed"] is False and not r["skipped"]]
    assert {r["backend"] for r in failing} == {"torch"} and failing[0]["index"] == []

    md = report.to_markdown()
    assert md.startswith("# Parity check: soft_bce_eps_torch") and "**FAIL**" in md
    assert "| loss | backend | dtype |" in md and "| soft_bce_eps_torch | torch | float32 |" in md
    assert "Pointing at: soft_bce_eps_torch on torch float32" in md and "```python" in md

    root = ET.fromstring(report.to_junit())
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 4 and suite.get("tests") == "4"
    failed = [c for c in cases if c.find("failure") is not None]
    assert suite.get("failures") == root.get("failures") == "2" and len(failed) == 2
    assert {c.get("name") for c in failed} == {"specs[torch-float32]", "specs[torch-float64]"}
    assert "worst element" in failed[0].find("failure").text

    pytest.importorskip("matplotlib")
    png = tmp_path / "heat.png"
    assert report.heatmap(str(png)) == str(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 400 and height > 200 and len(data) > 10_000


# ------------------------------------------------------------------------------------------
# The porting check: native torch against native TensorFlow
# ------------------------------------------------------------------------------------------


def torch_ce(logits, labels):
    import torch.nn.functional as F  # noqa: N812

    return F.cross_entropy(logits, labels)


def tf_ce(logits, labels):
    import tensorflow as tf

    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return tf.reduce_mean(losses)


def torch_smooth_l1(pred, target, beta=1.0):
    import torch.nn.functional as F  # noqa: N812

    return F.smooth_l1_loss(pred, target, beta=beta)


def tf_huber(pred, target, delta=1.0):
    """Huber as Keras defines it: 0.5 d^2 below delta, delta (|d| - delta / 2) above."""
    import tensorflow as tf

    d = tf.abs(pred - target)
    return tf.reduce_mean(tf.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)))


def tf_huber_over_delta(pred, target, delta=1.0):
    """Huber divided by delta: torch's smooth L1 with beta = delta."""
    return tf_huber(pred, target, delta) / delta


def smooth_l1_beta2_np(pred, target):
    """torch's smooth L1 with beta = 2 in float64 NumPy."""
    d = np.abs(pred - target)
    return np.mean(np.where(d < 2.0, 0.5 * d * d / 2.0, d - 1.0))


@needs("torch", "tensorflow")
def test_port_torch_to_tensorflow_passes() -> None:
    specs = {"logits": spec((6, 4), scale=2.0), "labels": spec(6, "labels", 4)}
    report = check_port(torch_ce, tf_ce, specs=specs)
    assert report.ok, report.failure_message()
    assert report.mode == "port" and report.backends == ("torch", "tensorflow")
    ran = {(r.backend, r.check) for r in report.ran}
    assert {("tensorflow", "cross"), ("tensorflow", "grad_cross"), ("torch", "type")} <= ran


@needs("torch", "tensorflow")
def test_port_with_a_different_convention_fails() -> None:
    specs = {"pred": spec((5, 4), scale=3.0), "target": spec((5, 4))}
    kw = {"specs": specs, "kwargs_a": {"beta": 2.0}, "kwargs_b": {"delta": 2.0}}
    good = check_port(torch_smooth_l1, tf_huber_over_delta, **kw, reference=smooth_l1_beta2_np)
    assert good.ok, good.failure_message()
    assert "value" in {r.check for r in good.ran} and "grad_fd" in {r.check for r in good.ran}
    bad = check_port(torch_smooth_l1, tf_huber, **kw, dtypes=["float32"])
    failed = {(r.backend, r.check) for r in bad.failures}
    assert {("tensorflow", "cross"), ("tensorflow", "grad_cross")} <= failed
    msg = bad.failure_message()
    assert "cross: torch_smooth_l1 vs tf_huber" in msg and "on tensorflow float32" in msg
    assert "against torch_smooth_l1 on torch" in msg and "worst element" in msg


@needs("torch")
def test_port_same_backend_and_a_raising_side() -> None:
    def raises(logits, labels):
        raise RuntimeError("not ported yet")

    specs = {"logits": spec((3, 4)), "labels": spec(3, "labels", 4)}
    report = check_port(torch_ce, raises, specs=specs, backend_b="torch", dtypes=["float64"])
    (r,) = report.failures
    assert r.check == "call" and r.backend == "torch (b)" and "not ported yet" in r.message


def test_plugin_and_package_import_no_framework() -> None:
    code = (
        "import sys\n"
        "import lossbridge.conformance, lossbridge.conformance.pytest_plugin\n"
        "bad = {'torch', 'jax', 'tensorflow', 'array_api_strict', 'numpy'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_heatmap_with_a_column_some_losses_lack(tmp_path) -> None:
    """The main job's autocast rows exist for core losses only: a (loss, column) pair that no
    result has is drawn as "n/a", not an error."""
    pytest.importorskip("matplotlib")
    from lossbridge.conformance.heatmap import draw_heatmap, heatmap_grid
    from lossbridge.conformance.runner import Result

    def res(loss, backend, dtype, passed=True):
        return Result(loss, "c", backend, dtype, "value", 1e-7, 1e-6, passed)

    results = [
        res("cross_entropy", "torch", "float32"),
        res("cross_entropy", "torch-autocast-cpu-bf16", "bfloat16"),
        res("keras.Dice", "torch", "float32", passed=False),
    ]
    rows, cols, grid = heatmap_grid(results)
    assert rows == ["cross_entropy", "keras.Dice"] and len(cols) == 2
    missing = grid[1][cols.index(("torch-autocast-cpu-bf16", "bfloat16"))]
    assert missing["ran"] == 0 and missing["failed"] == missing["secondary"] == 0
    png = tmp_path / "sparse.png"
    assert draw_heatmap(results, str(png)) == str(png) and png.stat().st_size > 1000

"""The conformance suite under pytest, and tests that prove the runner can fail.

``test_conformance`` runs every registry entry through the runner, one test per loss and backend
(eager checks, float32 and float64, every case), ``test_conformance_half`` the same at float16
and bfloat16 on a subset of the cases (:data:`HALF_CASES`), ``test_compiled`` the compiled modes
of the cases flagged for them (marked ``slow``; the half dtypes on each core loss's first
compiled case). All assert that every check passed; a failure prints each failing record's
message and repro. The baselines (reference, oracle, NumPy backend, finite differences) are
computed once per session by a shared :class:`~lossbridge.conformance.Suite`.
``python -m lossbridge.conformance`` runs the full grid at all four dtypes.

The remaining tests check the runner itself: a deliberately wrong loss must be reported as
failing, naming the backend and dtype; a compiled-mode failure must be a record, not a crash.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import lossbridge
from lossbridge.backends import framework_name
from lossbridge.conformance import (
    DTYPES,
    REGISTRY,
    Entry,
    Oracle,
    Suite,
    compare,
    get_driver,
    references,
    relative_error,
    run,
)
from lossbridge.conformance import tolerances as tol
from lossbridge.conformance.drivers import available_drivers
from lossbridge.conformance.runner import COMPILED_MODES

BACKENDS = [d.name for d in available_drivers()]
COMPILED_BACKENDS = [b for b in BACKENDS if b in COMPILED_MODES]
LOSSES = list(REGISTRY)
#: One xdist group per loss: under ``pytest -n``, a loss's tests share one worker, so its
#: baselines (reference, oracles, NumPy backend, finite differences) are computed once.
GROUPED = [pytest.param(loss, marks=pytest.mark.xdist_group(loss)) for loss in LOSSES]


@pytest.fixture(scope="session")
def suite() -> Suite:
    """One suite for the session: baselines are computed once per case and dtype."""
    return Suite()


def _explain(results) -> str:
    failures = [r for r in results if r.status == "fail"]
    text = "\n\n".join(f"{r.message}\n{r.repro}" for r in failures[:15])
    more = len(failures) - 15
    return text + (f"\n\n... and {more} more failures" if more > 0 else "")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("loss", GROUPED)
def test_conformance(suite: Suite, loss: str, backend: str) -> None:
    """Every eager check of one loss on one backend passes (float32 and float64)."""
    results = suite.run(losses=[loss], backends=[backend], dtypes=FULL_DTYPES, compile=False)
    ran = [r for r in results if not r.skipped]
    assert ran, f"no check ran for {loss} on {backend}"
    assert all(r.passed for r in ran), _explain(results)


FULL_DTYPES = ("float32", "float64")
HALF = tuple(dt for dt in DTYPES if dt not in FULL_DTYPES)


def _half_cases(entry: Entry) -> list[str]:
    """The cases run at the half dtypes under pytest: each entry's first case and its
    compiled cases (its distinct code paths and the three reductions); the CLI runs all."""
    return list(dict.fromkeys([entry.cases[0].label] + [c.label for c in entry.cases if c.compile]))


HALF_CASES = {loss: _half_cases(entry) for loss, entry in REGISTRY.items()}
HALF_BACKENDS = [b for b in BACKENDS if get_driver(b).dtype_unavailable("float16") is None]


@pytest.mark.parametrize("backend", HALF_BACKENDS)
@pytest.mark.parametrize("loss", GROUPED)
def test_conformance_half(suite: Suite, loss: str, backend: str) -> None:
    """Every eager check of one loss on one backend passes at float16 and bfloat16 (on
    :data:`HALF_CASES`): values within 1 ulp, gradients within 2 ulp + a floor, of float64
    on the same inputs."""
    results = suite.run(
        losses=[loss], backends=[backend], dtypes=HALF, cases=HALF_CASES[loss], compile=False
    )
    # An entry may switch a dtype off per case (Case.skip['all@float16'], with the reason):
    # reported as not run, never silently absent
    assert results and all(r.message for r in results if r.skipped)
    assert all(r.passed for r in results if not r.skipped), _explain(results)


#: The framework each dialect imitates: in this suite a dialect entry's compiled case runs in
#: that framework's compiled modes only (its calls are the core's, whose compiled modes run on
#: every backend here); ``python -m lossbridge.conformance`` runs every mode for every entry.
DIALECT_HOME = {
    "keras": "tensorflow",
    "optax": "jax",
    "nn": "torch",
    "monai": "torch",
    "tfa": "tensorflow",
}
COMPILED_PARAMS = [
    pytest.param(loss, backend, marks=pytest.mark.xdist_group(loss))
    for loss in LOSSES
    for backend in COMPILED_BACKENDS
    if "." not in loss or DIALECT_HOME[loss.split(".", 1)[0]] == backend
]


@pytest.mark.slow
@pytest.mark.parametrize(("loss", "backend"), COMPILED_PARAMS)
def test_compiled(suite: Suite, loss: str, backend: str) -> None:
    """The compiled modes (jax.jit, tf.function +/- XLA, torch.compile) match eager."""
    labels = [c.label for c in REGISTRY[loss].cases if c.compile]
    results = suite.run(losses=[loss], backends=[backend], cases=labels, dtypes=FULL_DTYPES)
    if "." not in loss:  # the half dtypes: a core loss's first compiled case
        results += suite.run(losses=[loss], backends=[backend], cases=labels[:1], dtypes=HALF)
    compiled = [r for r in results if r.check in COMPILED_MODES[backend] and not r.skipped]
    assert compiled, f"no compiled check ran for {loss} on {backend}"
    assert all(r.passed for r in results if not r.skipped), _explain(results)


# ------------------------------------------------------------------------------------------
# The registry is complete and consistent
# ------------------------------------------------------------------------------------------


TORCH_LOSSES = {
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
}
TORCHVISION_LOSSES = {
    "complete_box_iou_loss",
    "distance_box_iou_loss",
    "generalized_box_iou_loss",
    "sigmoid_focal_loss",
}
#: lossbridge.margin's losses (a subset of TORCH_LOSSES).
MARGIN_LOSSES = {
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
}
#: The losses no framework ships (issue 4): no torch oracle; other libraries' where they exist.
BEYOND_LOSSES = {
    # regression
    "rmse_loss",
    "log_cosh_loss",
    "quantile_loss",
    "mape_loss",
    "msle_loss",
    # classification
    "softmax_focal_loss",
    "poly1_cross_entropy",
    "generalized_cross_entropy",
    "hinge_loss",
    "squared_hinge_loss",
    "categorical_hinge_loss",
    # segmentation
    "dice_loss",
    "jaccard_loss",
    "tversky_loss",
    "focal_tversky_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    # boxes
    "box_iou_loss",
    "efficient_box_iou_loss",
    "scylla_box_iou_loss",
    # metric learning
    "contrastive_loss",
    "ntxent_loss",
    "arcface_loss",
    "cosface_loss",
    "magface_loss",
    "circle_loss",
    "cosine_similarity_loss",
    # contrastive pretraining (issue 16)
    "clip_loss",
    "siglip_loss",
    "supcon_loss",
    # forecasting and GLMs (issue 19)
    "crps_ensemble_loss",
    "crps_normal_loss",
    "crps_logistic_loss",
    "tweedie_deviance_loss",
    "poisson_deviance_loss",
    "gamma_deviance_loss",
    # sampled softmax and NCE (issue 19)
    "sampled_softmax_loss",
    "nce_loss",
    # timm's classification losses (issue 19)
    "asymmetric_loss",
    "asymmetric_loss_single_label",
    "soft_target_cross_entropy",
    "smoothed_binary_cross_entropy",
    "jsd_cross_entropy",
    # dense detection: ultralytics and mmdetection (issue 19)
    "varifocal_loss",
    "quality_focal_loss",
    "distribution_focal_loss",
    "probiou_loss",
    # image quality: SSIM and MS-SSIM (issue 19)
    "ssim_loss",
    "ms_ssim_loss",
}
#: Regularisers: a list of parameters in, no reduction; the entry's ``fn`` passes ``p0, p1,
#: p2`` as a list.
REGULARIZERS = {"l1_regularization", "l2_regularization", "elastic_net_regularization"}
#: Exports that are not losses (no entry).
NOT_LOSSES = {"pairwise_distance", "LinearCrossEntropyOptions", "mean_denominator"}
#: The core's entries; the dialects' are named ``<dialect>.<Name>``.
CORE = {name for name in REGISTRY if "." not in name}
DIALECT_ENTRIES = sorted(set(REGISTRY) - CORE)


def test_registry_covers_every_exported_loss() -> None:
    """All 78 losses are registered, and every export is a registered loss (or a known helper)."""
    assert len(TORCH_LOSSES) == 22 and len(TORCHVISION_LOSSES) == 4
    assert len(BEYOND_LOSSES) == 49 and len(REGULARIZERS) == 3
    assert CORE == TORCH_LOSSES | TORCHVISION_LOSSES | BEYOND_LOSSES | REGULARIZERS
    assert set(lossbridge.__all__) - NOT_LOSSES == CORE
    for name, entry in REGISTRY.items():
        if name not in CORE:
            continue
        if name not in REGULARIZERS:
            assert entry.fn is getattr(lossbridge, name)
        # torch.nn.functional's function of the same name is the oracle; torchvision is not
        # installed, so its losses have none (their reference transcribes its source)
        assert entry.oracle == (name if name in TORCH_LOSSES else None)
    # every loss without a torch oracle but with one elsewhere names it as an extra oracle
    with_library_oracle = {n for n, e in REGISTRY.items() if e.extra_oracles and n in CORE}
    assert with_library_oracle >= BEYOND_LOSSES - {
        "quantile_loss",  # no library ships it any more (TF Addons is gone)
        "lovasz_hinge_loss",  # segmentation-models-pytorch needs torchvision: not installable
        "lovasz_softmax_loss",
        "efficient_box_iou_loss",  # mmdetection / YOLO code: transcribed in the tests
        "scylla_box_iou_loss",
        "magface_loss",  # the reference repository only: transcribed in the reference
        # timm does not import (torchvision): its source transcribed in the references
        "asymmetric_loss",
        "asymmetric_loss_single_label",
        "soft_target_cross_entropy",
        "smoothed_binary_cross_entropy",
        "jsd_cross_entropy",
        # ultralytics needs cv2, mmdetection mmcv: their code transcribed in the tests
        "varifocal_loss",
        "quality_focal_loss",
        "distribution_focal_loss",
        "probiou_loss",
    }


@pytest.mark.parametrize("loss", sorted(CORE))
def test_registry_entry_shape(loss: str) -> None:
    entry = REGISTRY[loss]
    reductions = {c.kwargs.get("reduction") for c in entry.cases}
    batchmean = {"kl_div", "asymmetric_loss", "smoothed_binary_cross_entropy"}
    expected = {"none", "mean", "sum"} | ({"batchmean"} if loss in batchmean else set())
    assert reductions == ({None} if loss in REGULARIZERS else expected)
    assert sum(c.placement for c in entry.cases) == 1
    assert sum(c.inductor for c in entry.cases) <= 1
    assert all(c.compile for c in entry.cases if c.inductor)
    assert sum(c.compile for c in entry.cases) >= 1
    for case in entry.cases:  # deterministic inputs
        a, b = case.inputs(), case.inputs()
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("loss", DIALECT_ENTRIES)
def test_dialect_entry_shape(loss: str) -> None:
    """A dialect entry checks its callable against its framework's own implementation."""
    dialect, name = loss.split(".", 1)
    assert dialect in lossbridge.DIALECTS
    entry = REGISTRY[loss]
    assert entry.oracle is None  # not torch.nn.functional's function, ...
    assert entry.extra_oracles  # ... but the framework the dialect imitates
    assert sum(c.placement for c in entry.cases) == 1
    assert sum(c.compile for c in entry.cases) >= 1
    assert not any(c.inductor for c in entry.cases)


def _public(module) -> set[str]:
    return {n for n in dir(module) if not n.startswith("_")}


def test_keras_dialect_covers_keras_losses() -> None:
    """Every name of ``keras.losses`` exists in ``lossbridge.keras``; every loss class has an
    entry checked against Keras."""
    keras = pytest.importorskip("keras")
    import lossbridge.keras as lk

    assert _public(keras.losses) <= _public(lk)
    classes = {
        n
        for n in _public(keras.losses)
        if isinstance(getattr(keras.losses, n), type)
        and issubclass(getattr(keras.losses, n), keras.losses.Loss)
    } - {"Loss", "LossFunctionWrapper"}
    assert len(classes) >= 20
    assert {e for e in DIALECT_ENTRIES if e.startswith("keras.")} == {f"keras.{n}" for n in classes}


def test_optax_dialect_covers_optax_losses() -> None:
    """Every name of ``optax.losses`` exists in ``lossbridge.optax``; every loss has an entry
    checked against optax (the two helpers that are not losses are tested on their own)."""
    optax = pytest.importorskip("optax")
    import lossbridge.optax as lo

    public = {n for n in _public(optax.losses) if callable(getattr(optax.losses, n))}
    assert public <= _public(lo)
    not_losses = {"smooth_labels", "make_fenchel_young_loss"}
    entries = {e.split(".", 1)[1] for e in DIALECT_ENTRIES if e.startswith("optax.")}
    assert entries == public - not_losses


def test_nn_dialect_covers_the_core_torch_losses() -> None:
    """``lossbridge.nn`` has the ``torch.nn`` class of every torch loss the core implements,
    each with an entry checked against the torch module."""
    torch = pytest.importorskip("torch")
    import lossbridge.nn as ln

    # not losses of the core: a layer with its own parameters, and a fused linear layer + CE
    # (lossbridge.nn has LinearCrossEntropyLoss too: tests/test_linear_ce.py checks it against
    # torch's module; it owns a linear layer, so it has no registry entry of its own)
    modules = {"AdaptiveLogSoftmaxWithLoss", "LinearCrossEntropyLoss"}
    classes = {
        n for n in dir(torch.nn) if n.endswith("Loss") and isinstance(getattr(torch.nn, n), type)
    } - modules
    assert len(classes) == len(TORCH_LOSSES) - 1 == 21  # linear_cross_entropy: F only
    assert classes <= _public(ln)
    assert {e for e in DIALECT_ENTRIES if e.startswith("nn.")} == {f"nn.{n}" for n in classes}


def test_inductor_cases() -> None:
    """Inductor (2.5-3 s per compile) on one case of each of the first eleven losses, of
    ctc_loss and of one margin loss; aot_eager (the same dynamo and AOTAutograd tracing, no code
    generation) on every other compiled case."""
    with_inductor = {name for name, e in REGISTRY.items() if any(c.inductor for c in e.cases)}
    assert with_inductor == (TORCH_LOSSES - MARGIN_LOSSES) | {"triplet_margin_loss"}


def test_import_imports_no_framework() -> None:
    code = (
        "import sys, lossbridge.conformance\n"
        "bad = {'torch', 'jax', 'tensorflow', 'array_api_strict'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------------
# The comparison and the tolerances
# ------------------------------------------------------------------------------------------


def test_compare_counts_nan_and_inf_as_equal() -> None:
    assert relative_error([np.nan, np.inf, -np.inf, 1.0], [np.nan, np.inf, -np.inf, 1.0]) == 0.0
    assert relative_error(np.float64(np.nan), np.nan) == 0.0


def test_compare_rejects_one_sided_non_finite_and_shapes() -> None:
    assert relative_error([np.nan, 1.0], [0.0, 1.0]) == math.inf
    assert relative_error([np.inf], [-np.inf]) == math.inf
    err, note = compare(np.zeros((3,)), np.zeros((3, 1)))
    assert err == math.inf and "shape" in note
    assert relative_error(np.zeros((0, 5)), np.zeros((0, 5))) == 0.0


def test_compare_is_normwise_relative() -> None:
    assert relative_error([1.0, 102.0], [1.0, 100.0]) == pytest.approx(0.02)
    assert relative_error([1e-300], [0.0]) > 1.0  # scaled by tiny, not by zero


def test_tolerance_exceptions_only_loosen() -> None:
    for dtype, base in tol.TOLERANCES.items():
        for check, kind in tol.KINDS.items():
            got = tol.tolerance("cross_entropy", "index_mean", check, "torch", dtype)
            assert got >= getattr(base, kind)


# ------------------------------------------------------------------------------------------
# The runner can fail
# ------------------------------------------------------------------------------------------


def _mse_off_on_torch(input, target, reduction="mean", weight=None):
    """mse_loss with an extra 1e-3 on torch arrays only."""
    out = lossbridge.mse_loss(input, target, reduction=reduction, weight=weight)
    return out + 1e-3 if framework_name(input) == "torch" else out


def _entry(name: str, fn, labels: list[str], **kw) -> Entry:
    base = REGISTRY[name]
    return Entry(
        name=name,
        fn=fn,
        reference=getattr(references, name),
        cases=tuple(base.case(label) for label in labels),
        oracle=name,
        grad_args=base.grad_args,
        **kw,
    )


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_wrong_loss_on_one_backend_fails_there() -> None:
    entry = _entry("mse_loss", _mse_off_on_torch, ["basic_mean", "basic_none"])
    results = run([entry], backends=["numpy", "torch"], compile=False)
    failures = [r for r in results if r.status == "fail"]
    assert failures
    assert {r.backend for r in failures} == {"torch"}
    # 1e-3 is below one bfloat16 ulp at these values (2**-7 of 1-2): tests/test_tolerances.py
    # has the half-precision bugs (4 ulp off)
    assert {"float32", "float64"} <= {r.dtype for r in failures}
    assert {"value", "cross", "oracle"} <= {r.check for r in failures}
    for r in failures:
        assert "torch" in r.message and r.dtype in r.message and r.case in r.message
        assert "get_driver('torch')" in r.repro and repr(r.dtype) in r.repro
        assert r.error is not None and r.error > r.tolerance
    assert all(r.passed for r in results if r.backend == "numpy" and not r.skipped)


def _focal_oracle_off(inputs, kwargs, dtype):
    """An 'oracle' 1e-3 away from torchvision's focal loss."""
    x, y = (inputs[k].astype(dtype).astype(np.float64) for k in ("inputs", "targets"))
    return references.sigmoid_focal_loss(x, y, **kwargs) + 1e-3


def test_wrong_extra_oracle_fails_under_its_name() -> None:
    off = Oracle("optax_sigmoid_focal_loss", "off", _focal_oracle_off, lambda dtype: None)
    base = REGISTRY["sigmoid_focal_loss"]
    entry = Entry(
        name=base.name,
        fn=base.fn,
        reference=base.reference,
        cases=(base.case("basic_none"),),
        grad_args=base.grad_args,
        extra_oracles=(off,),
    )
    results = run([entry], backends=["numpy", "array_api_strict"], compile=False)
    failed = {(r.backend, r.dtype, r.check) for r in results if r.status == "fail"}
    assert {check for _, _, check in failed} == {"optax_sigmoid_focal_loss"}
    # float16 / bfloat16: an oracle check passes when ours is no farther from the float64
    # reference than the oracle (which computes partly in half), so a wrong oracle shows only
    # in float32 and float64
    assert {(b, dt) for b, dt, _ in failed} == {
        (b, dt) for b in ("numpy", "array_api_strict") if b in BACKENDS for dt in FULL_DTYPES
    }
    half = [r for r in results if r.check == "optax_sigmoid_focal_loss" and r.dtype in HALF]
    assert half and all(r.passed and "ulp from the float64 reference" in r.message for r in half)


def test_skip_groups_are_checked() -> None:
    case = REGISTRY["ctc_loss"].case("infeasible_none")
    assert case.skipped("tf_ctc_loss") and case.skipped("grad_fd")
    with pytest.raises(ValueError, match="unknown skip groups.*tf_ctc_loss"):
        Entry(name="mse_loss", fn=lossbridge.mse_loss, reference=references.mse_loss, cases=(case,))


def _gaussian_wrong_eps(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """gaussian_nll_loss that ignores ``eps`` and clamps at 1e-3 instead."""
    return lossbridge.gaussian_nll_loss(
        input, target, var, full=full, eps=1e-3, reduction=reduction
    )


def test_wrong_epsilon_fails_everywhere() -> None:
    entry = _entry("gaussian_nll_loss", _gaussian_wrong_eps, ["var_below_eps_sum"])
    results = run([entry], backends=["numpy", "array_api_strict"], dtypes=["float64"])
    failed = {(r.backend, r.check) for r in results if r.status == "fail"}
    assert ("numpy", "value") in failed
    if "array_api_strict" in BACKENDS:
        assert ("array_api_strict", "value") in failed


def _raises(input, target, reduction="mean", weight=None):
    raise RuntimeError("deliberately broken\nsecond line")


def test_exception_is_a_failure_not_a_crash() -> None:
    entry = _entry("mse_loss", _raises, ["basic_mean"])
    results = run([entry], backends=["numpy"], dtypes=["float32"])
    (r,) = [r for r in results if r.status == "fail"]
    assert r.check == "call" and "RuntimeError: deliberately broken" in r.message
    assert "second line" not in r.message


def _untraceable_mse(input, target, reduction="mean", weight=None):
    """Reads an array value with float(): fine eagerly, breaks jax.jit and torch.compile."""
    out = lossbridge.mse_loss(input, target, reduction=reduction, weight=weight)
    return out * (1.0 if float(out) >= 0 else 2.0)


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in ("jax", "torch") if b in BACKENDS])
def test_compiled_failure_is_reported(backend: str) -> None:
    entry = _entry("mse_loss", _untraceable_mse, ["basic_mean"])
    results = run([entry], backends=[backend], dtypes=["float32"])
    eager = [r for r in results if r.check in ("value", "oracle", "grad_fd")]
    assert eager and all(r.passed for r in eager)
    forward = [c for c in COMPILED_MODES[backend] if not c.endswith("_grad")]
    (r,) = [r for r in results if r.check in forward]
    assert not r.passed and "compiled mode failed" in r.message
    assert backend in r.message and "float32" in r.message
    assert "\n" not in r.message


_FIRST_CALL_COMPILED = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import lossbridge as lb
x = np.random.default_rng(0).standard_normal((8, 5)).astype("float32")
y = np.arange(8) % 5
z = x.astype("float64")  # plain float64 formula: mean of logsumexp(z) - z[y]
expected = float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(8), y]))
backends = sys.argv[1:]
if "torch" in backends:
    import torch
    f = torch.compile(lambda a, b: lb.cross_entropy(a, b), fullgraph=True, backend="aot_eager")
    xt = torch.from_numpy(x).requires_grad_(True)
    out = f(xt, torch.from_numpy(y))
    out.backward()
    assert abs(out.item() - expected) < 1e-5
if "jax" in backends:
    import jax
    g = jax.jit(jax.value_and_grad(lambda a, b: lb.cross_entropy(a, b)))
    assert abs(float(g(jax.numpy.asarray(x), jax.numpy.asarray(y))[0]) - expected) < 1e-5
if "tensorflow" in backends:
    import tensorflow as tf
    for jit in (False, True):
        fn = tf.function(lambda a, b: lb.cross_entropy(a, b), jit_compile=jit)
        assert abs(float(fn(tf.constant(x), tf.constant(y))) - expected) < 1e-5
"""


@pytest.mark.slow
@pytest.mark.skipif(not COMPILED_BACKENDS, reason="needs torch, jax or tensorflow")
def test_first_call_inside_compiled_modes() -> None:
    """A process whose first lossbridge call on a framework is inside its compiler works.

    The suite's own compiled checks run after eager calls of the same array types, when the
    dispatch caches are warm; this covers the cold path (fresh process, no eager call first).
    """
    subprocess.run([sys.executable, "-c", _FIRST_CALL_COMPILED, *COMPILED_BACKENDS], check=True)


def test_cli_json_and_exit_status(tmp_path, monkeypatch, capsys) -> None:
    from lossbridge.conformance.__main__ import main

    path = tmp_path / "out.json"
    argv = [
        "--loss",
        "mse_loss",
        "--backend",
        "numpy",
        "--dtype",
        "float32",
        "-q",
        "--case",
        "basic_mean",
        "--json",
        str(path),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "mse_loss" in out and "checks run" in out and "tolerances" in out
    doc = json.loads(path.read_text())
    assert doc["summary"]["failed"] == 0 and doc["summary"]["checks_run"] > 0
    monkeypatch.setitem(REGISTRY, "mse_loss", _entry("mse_loss", _raises, ["basic_mean"]))
    assert main(argv) == 1
    assert "FAILURES" in capsys.readouterr().out


def test_float64_jax_reported_as_not_run_when_x64_is_off(monkeypatch) -> None:
    if "jax" not in BACKENDS:
        pytest.skip("needs jax")
    jax = get_driver("jax")
    monkeypatch.setattr(type(jax), "supports_float64", lambda self: self.name != "jax")
    results = run(losses=["mse_loss"], backends=["jax"], dtypes=["float64"], cases=["basic_sum"])
    (r,) = results
    assert r.skipped and "jax_enable_x64" in r.message

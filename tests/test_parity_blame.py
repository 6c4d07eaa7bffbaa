"""Whom a parity report blames, missing devices, and counts in words (issue 17, item 8).

A user's function is checked with :func:`lossbridge.conformance.check`, whose default float64
reference is the function itself on NumPy float64 arrays. A function wrong only on that NumPy
path (it branches on ``isinstance(x, np.ndarray)``) used to make every other backend's checks
fail and the report point at those four healthy backends. The report now takes a majority vote
of the backends' outputs and names the one outvoted. The functions below are broken on purpose,
by a factor of 1.01 on one path; which path is the suspect follows from how each is written,
never from lossbridge's output.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from lossbridge.backends import framework_name, get_namespace
from lossbridge.conformance import DeviceUnavailable, check, check_port, spec
from lossbridge.conformance.drivers import available_drivers
from lossbridge.conformance.report import culprits, format_report, plural, to_markdown

pytest_plugins = ["pytester"]

BACKENDS = [d.name for d in available_drivers()]
SPECS = {"x": spec((5,)), "y": spec((5,))}
#: Eager checks at one dtype: the vote is the point here, not the compiled modes.
FAST = {"specs": SPECS, "dtypes": ["float32"], "compiled": False, "placement": False}


def sq_mean(x, y):
    """Mean squared difference, against the array API."""
    xp, _ = get_namespace(x, y)
    d = x - y
    return xp.mean(d * d)


def sq_mean_np(x, y):
    """The same formula in plain float64 NumPy: an independent reference."""
    return np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2)


def off_on_numpy(x, y):
    """Broken on the NumPy path only (the path of the default reference)."""
    out = sq_mean(x, y)
    return out * 1.01 if isinstance(x, np.ndarray) else out


def off_on_torch(x, y):
    """Broken on torch only."""
    out = sq_mean(x, y)
    return out * 1.01 if framework_name(x) == "torch" else out


def off_everywhere(x, y):
    """Broken the same way on every backend."""
    return sq_mean(x, y) * 1.01


#: A different factor on each backend: no two agree.
FACTORS = {"numpy": 1.0, "torch": 1.01, "jax": 1.02, "tensorflow": 1.03, "array_api_strict": 1.04}


def off_differently(x, y):
    """Broken differently on every backend but NumPy."""
    return sq_mean(x, y) * FACTORS[framework_name(x)]


def _head(report) -> str:
    """The failure message's first line up to the list of backends asked for."""
    return report.failure_message().splitlines()[0].split(" (backends:")[0]


needs_three = pytest.mark.skipif(
    not {"numpy", "torch"} <= set(BACKENDS) or len(BACKENDS) < 3,
    reason="a majority vote needs numpy, torch and a third backend",
)


# ------------------------------------------------------------------------------------------
# Blame by majority vote
# ------------------------------------------------------------------------------------------


@needs_three
def test_wrong_only_on_the_numpy_reference_path_blames_numpy() -> None:
    report = check(off_on_numpy, **FAST)
    n = len(BACKENDS)
    healthy = [b for b in BACKENDS if b != "numpy"]
    assert not report.ok and report.suspects == ("numpy",)
    (v,) = report.verdicts
    assert v.kind == "suspects" and v.majority == tuple(healthy) and v.reference == "path"
    assert {"cross", "value", "grad_fd"} <= set(v.explains)
    head = _head(report)
    assert f"suspect: numpy (the reference path) - {n - 1} of {n} backends agree" in head
    assert "pointing at" not in head
    for backend in healthy:  # the healthy backends are not named as being at fault
        assert backend not in head
    assert culprits(report.results, report.verdicts) == []
    # every failure is a healthy backend's check against the NumPy path
    assert {r.backend for r in report.failures} == set(healthy)
    md = report.to_markdown()
    assert "Suspect: numpy (the reference path)" in md and "Pointing at:" not in md
    # the matrix marks the healthy rows' failures as pointing elsewhere, not as their own
    assert re.search(r"\| numpy \| float32 \|.*\| pass \|", md)
    for backend in healthy:
        assert re.search(rf"\| {backend} \| float32 \|.*\| fail\* \d+ \|", md), backend
    assert "**FAIL " not in md  # no row fails on its own
    text = str(report)
    assert "Suspect: numpy (the reference path)" in text and "Pointing at:" not in text
    assert report.summary()["suspects"] == ["numpy"]
    doc = json.loads(report.to_json())
    assert doc["verdicts"][0]["suspects"] == ["numpy"]
    assert doc["verdicts"][0]["text"].startswith("suspect: numpy (the reference path)")


@needs_three
def test_wrong_only_on_numpy_with_an_independent_reference() -> None:
    report = check(off_on_numpy, reference=sq_mean_np, **FAST)
    n = len(BACKENDS)
    assert report.suspects == ("numpy",)
    (v,) = report.verdicts
    assert v.reference == "agrees" and v.reference_path == ""
    head = _head(report)
    assert (
        f"suspect: numpy - {n - 1} of {n} backends agree with each other and with the float64 "
        "reference" in head
    )
    # numpy's own value check fails against the independent reference: it is pointed at
    assert "pointing at numpy float32" in head
    assert culprits(report.results, report.verdicts) == [("off_on_numpy", "numpy", "float32")]


@needs_three
def test_wrong_only_on_torch_blames_torch() -> None:
    report = check(off_on_torch, **FAST)
    n = len(BACKENDS)
    assert report.suspects == ("torch",)
    head = _head(report)
    assert "pointing at torch float32" in head
    assert f"suspect: torch - {n - 1} of {n} backends agree with each other" in head
    for backend in set(BACKENDS) - {"torch"}:
        assert backend not in head
    assert culprits(report.results, report.verdicts) == [("off_on_torch", "torch", "float32")]
    assert "Suspect: torch" in report.to_markdown()


@needs_three
def test_wrong_everywhere_says_so() -> None:
    report = check(off_everywhere, reference=sq_mean_np, **FAST)
    n = len(BACKENDS)
    assert not report.ok and report.suspects == ()
    (v,) = report.verdicts
    assert v.kind == "everywhere" and v.reference == "disagrees"
    head = _head(report)
    assert (
        f"wrong everywhere - all {n} backends agree with each other, none with the float64 "
        "reference" in head
    )
    assert "suspect" not in head and "pointing at" not in head
    assert "Wrong everywhere" in report.to_markdown()


@needs_three
def test_no_majority_points_at_each_backend_that_differs() -> None:
    report = check(off_differently, **FAST)
    (v,) = report.verdicts
    assert v.kind == "split" and v.majority == () and report.suspects == ()
    assert all(len(g) == 1 for g in v.groups) and len(v.groups) == len(BACKENDS)
    head = _head(report)
    assert "no majority - the backends disagree with each other" in head
    # nobody is outvoted: each backend whose own checks fail is still pointed at
    assert "pointing at " + ", ".join(f"{b} float32" for b in BACKENDS if b != "numpy") in head


def test_two_backends_cannot_outvote_each_other() -> None:
    if not {"numpy", "torch"} <= set(BACKENDS):
        pytest.skip("needs numpy and torch")
    report = check(off_on_torch, backends=["torch", "numpy"], **FAST)
    (v,) = report.verdicts
    assert v.kind == "split" and report.suspects == ()
    assert "two voters cannot outvote each other" in _head(report)
    # with an independent reference the tie is broken
    report = check(off_on_torch, backends=["torch", "numpy"], reference=sq_mean_np, **FAST)
    assert report.suspects == ("torch",)
    assert "suspect: torch - numpy agrees with the float64 reference" in _head(report)


@pytest.mark.skipif(
    not {"torch", "tensorflow"} <= set(BACKENDS), reason="needs torch and tensorflow"
)
def test_porting_check_blames_the_side_the_reference_outvotes() -> None:
    def port_a(x, y):  # torch: right
        return ((x - y) ** 2).mean()

    def port_b(x, y):  # TensorFlow: wrong by 1 %
        import tensorflow as tf

        return tf.reduce_mean((x - y) ** 2) * 1.01

    options = {"specs": SPECS, "dtypes": ["float32"]}
    report = check_port(port_a, port_b, **options)
    (v,) = report.verdicts
    assert v.kind == "split" and "two voters cannot outvote each other" in _head(report)
    report = check_port(port_a, port_b, reference=sq_mean_np, **options)
    assert report.suspects == ("tensorflow",)
    assert "suspect: tensorflow - torch agrees with the float64 reference" in _head(report)
    # a wrong baseline: the second side's cross failure points at the first
    report = check_port(
        port_b, port_a, backend_a="tensorflow", backend_b="torch", reference=sq_mean_np, **options
    )
    assert report.suspects == ("tensorflow",)
    assert culprits(report.results, report.verdicts) == [
        ("port_b vs port_a", "tensorflow", "float32")
    ]


# ------------------------------------------------------------------------------------------
# Counts in words
# ------------------------------------------------------------------------------------------


def test_plural() -> None:
    assert plural(1, "loss") == "1 loss" and plural(2, "loss") == "2 losses"
    assert plural(0, "case") == "0 cases" and plural(1, "dtype") == "1 dtype"
    assert plural(3, "entry", "entries") == "3 entries"


def test_one_of_everything_is_singular() -> None:
    report = check(
        off_on_numpy,
        specs=SPECS,
        backends=["numpy"],
        dtypes=["float32"],
        reference=sq_mean_np,
        skip={"type": "not the point here"},
    )
    line = "1 case (1 loss) x 1 backend x 1 dtype = 1 combination (0 not run); 1 check run: "
    for text in (format_report(report.results), to_markdown(report.results), str(report)):
        assert line + "0 passed, 1 failed; 1 check not run" in text
    assert "1 of 1 check failed" in report.failure_message()
    assert " 1 losses" not in str(report) and "1 checks" not in str(report)


# ------------------------------------------------------------------------------------------
# A missing device fails unless asked to skip
# ------------------------------------------------------------------------------------------

#: No machine has 100 CUDA devices: absent everywhere, with or without a GPU.
ABSENT = "cuda:99"

needs_torch = pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")


@needs_torch
def test_missing_device_fails_by_default() -> None:
    with pytest.raises(DeviceUnavailable) as info:
        check(sq_mean, specs=SPECS, backends=["torch", "numpy"], device=ABSENT, compiled=False)
    msg = str(info.value)
    assert msg.startswith(f"check(sq_mean): device {ABSENT!r} is not available")
    assert "torch has no device cuda:99" in msg and "missing_device='skip'" in msg
    assert "numpy" not in msg  # host-only: not run on a GPU, by design
    with pytest.raises(DeviceUnavailable, match="torch has no device cuda:99"):
        check_port(
            sq_mean, sq_mean, specs=SPECS, backend_a="torch", backend_b="torch", device=ABSENT
        )


def test_missing_device_on_host_only_backends_fails_when_nothing_would_run() -> None:
    with pytest.raises(DeviceUnavailable, match="numpy computes on the host only"):
        check(sq_mean, specs=SPECS, backends=["numpy"], device="cuda")
    with pytest.raises(ValueError, match=r"missing_device must be one of \['fail', 'skip'\]"):
        check(sq_mean, specs=SPECS, backends=["numpy"], device="cuda", missing_device="ignore")


@needs_torch
def test_missing_device_skip_reports_not_run() -> None:
    report = check(
        sq_mean, specs=SPECS, backends=["torch", "numpy"], device=ABSENT, missing_device="skip"
    )
    assert not report.ran and not report.ok
    reasons = {r.backend: r.message for r in report.not_run}
    assert "cuda:99" in reasons["torch"] and "host only" in reasons["numpy"]


@needs_torch
def test_parity_fixture_fails_on_a_missing_device_unless_asked_to_skip(
    pytester: pytest.Pytester,
) -> None:
    import lossbridge.conformance.parity  # noqa: F401 - imported once, outside pytester
    import lossbridge.conformance.pytest_plugin  # noqa: F401

    pytester.makepyfile(
        test_device="""
from lossbridge.backends import get_namespace
from lossbridge.conformance import spec


def sq_mean(x, y):
    xp, _ = get_namespace(x, y)
    return xp.mean((x - y) * (x - y))


def test_it(parity):
    parity(sq_mean, specs={"x": spec((5,)), "y": spec((5,))}, compiled=False)
"""
    )
    common = (f"--parity-device={ABSENT}", "--parity-backends=torch", "-p", "no:cacheprovider")
    result = pytester.runpytest(*common)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*device 'cuda:99' is not available: torch has no device*"])
    assert "Traceback" not in result.stdout.str()
    result = pytester.runpytest(*common, "--parity-skip-missing-device", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no check ran: torch has no device cuda:99*"])
    pytester.makeini("[pytest]\nparity_skip_missing_device = true\n")
    pytester.runpytest(*common).assert_outcomes(skipped=1)

"""The conformance tolerances: ulps for the half dtypes, conditioning-aware bounds, and proof
that both still catch wrong losses.

Expected values here are hand computations (ulps of float16 / bfloat16 at given magnitudes) or
the runner's verdict on a deliberately wrong loss; nothing is compared with lossbridge's own
output.
"""

from __future__ import annotations

import numpy as np
import pytest

import lossbridge
from lossbridge.conformance import REGISTRY, Entry, Suite, references, run
from lossbridge.conformance import tolerances as tol
from lossbridge.conformance.drivers import available_drivers, finfo, numpy_dtype
from lossbridge.conformance.registry import Case
from lossbridge.conformance.runner import DTYPES, _Recorder, compare_ulps

BACKENDS = [d.name for d in available_drivers()]


# ------------------------------------------------------------------------------------------
# Ulps of the half dtypes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "nmant"), [("float16", 10), ("bfloat16", 7)])
def test_ulps_are_counted_per_element(dtype: str, nmant: int) -> None:
    # ulp(1) = 2**-nmant, ulp(1000) = 2**(9 - nmant): each element in its own ulps
    expected = np.array([1.0, 1000.0])
    got = expected + np.array([2.0**-nmant, 3 * 2.0 ** (9 - nmant)])
    m = compare_ulps(got, expected, dtype)
    assert m.error == pytest.approx(3.0) and m.index == (1,)
    m = compare_ulps([1.0 + 2.0**-nmant, 1000.0], expected, dtype)
    assert m.error == pytest.approx(1.0) and m.index == (0,)


def test_gradient_floor_is_ulps_of_the_largest_element() -> None:
    # An element 2**-12 of the largest is off by 2**-7 ulp of the largest: far more than its
    # own 2 ulp, within the floor of GRAD_FLOOR_ULPS = 2**-6 ulp of the largest.
    expected = np.array([1.0, 2.0**-12])
    got = expected + np.array([0.0, 2.0**-7 * 2.0**-10])
    assert compare_ulps(got, expected, "float16").error > 2
    floor = tol.GRAD_FLOOR_ULPS / 2  # the runner divides the floor by the 2-ulp bound
    assert compare_ulps(got, expected, "float16", floor_ulps=floor).error <= 2


def test_beyond_range_expected_value_is_infinite() -> None:
    # 1e5 does not fit float16 (largest 65504): the correctly rounded value is inf
    assert compare_ulps([np.inf], [1e5], "float16").error == 0
    assert compare_ulps([65504.0], [1e5], "float16").error == np.inf


def test_bfloat16_through_ml_dtypes() -> None:
    assert numpy_dtype("bfloat16").name == "bfloat16"
    assert finfo("bfloat16").nmant == 7 and finfo("float16").nmant == 10


def test_unknown_dtype_names_the_four() -> None:
    with pytest.raises(ValueError, match="float32, float64, float16, bfloat16"):
        run(losses=["mse_loss"], backends=["numpy"], dtypes=["float8"])
    assert DTYPES == ("float32", "float64", "float16", "bfloat16")


# ------------------------------------------------------------------------------------------
# Conditioning-aware bounds
# ------------------------------------------------------------------------------------------


def _recorder(dtype: str, spread: float) -> _Recorder:
    entry = REGISTRY["mse_loss"]
    return _Recorder(entry, entry.cases[0], "torch", dtype, spread=lambda kind: spread)


def test_conditioning_widens_the_flat_bound_only_by_c_times_the_spread() -> None:
    c = tol.CONDITIONING_FACTOR
    # float32: 5e-6 relative is over the flat 1e-6; a spread of 1e-6 allows C * 1e-6
    assert _recorder("float32", 1e-6).numeric("value", [1.0 + 5e-6], [1.0], "x").passed
    assert not _recorder("float32", 5e-6 / c / 2).numeric("value", [1.0 + 5e-6], [1.0], "x").passed
    assert not _recorder("float32", 0.0).numeric("value", [1.0 + 5e-6], [1.0], "x").passed
    # half: the spread is a floor of C * spread of the largest element per element
    off = [1.0 + 3 * 2.0**-10]  # 3 ulp
    assert not _recorder("float16", 0.0).numeric("value", off, [1.0], "x").passed
    assert _recorder("float16", 4 * 2.0**-10 / c).numeric("value", off, [1.0], "x").passed


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch (the float64 gradient)")
@pytest.mark.parametrize(
    ("loss", "case", "amd"),
    [("arcface_loss", "fallback_none", 1.07e-6), ("magface_loss", "fallback_sum", 1.27e-6)],
)
def test_ill_conditioned_cases_bounds_cover_the_amd_measurements(loss, case, amd) -> None:
    """The two float32 gradients an AMD EPYC machine put over the flat 1e-6 (16 and 18 ulp
    from torch's) are inside C x the conditioning spread, which the float64 reference alone
    decides (the same on every CPU)."""
    entry = REGISTRY[loss]
    suite = Suite()
    prep = suite._prepare(entry, entry.case(case), "float32")
    bound = tol.CONDITIONING_FACTOR * suite._spread(prep, "grad")
    assert amd < bound < 1e-5  # covers the measurement, and still far below a 1e-4 bug


def _scaled(fn, factor):
    def wrong(*args, **kwargs):
        out = fn(*args, **kwargs)
        return out * factor

    return wrong


def _entry(name: str, fn, labels: list[str]) -> Entry:
    base = REGISTRY[name]
    return Entry(
        name=name,
        fn=fn,
        reference=base.reference,
        cases=tuple(base.case(label) for label in labels),
        oracle=base.oracle,
        grad_args=base.grad_args,
    )


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
@pytest.mark.parametrize(
    ("loss", "case"), [("mse_loss", "basic_mean"), ("arcface_loss", "fallback_none")]
)
def test_relative_bug_of_1e4_fails_in_float32(loss: str, case: str) -> None:
    """A loss off by a relative 1e-4 fails in float32, also on the ill-conditioned case."""
    entry = _entry(loss, _scaled(REGISTRY[loss].fn, 1 + 1e-4), [case])
    results = run([entry], backends=["numpy", "torch"], dtypes=["float32"], compile=False)
    failed = {(r.backend, r.check) for r in results if r.status == "fail"}
    assert ("numpy", "value") in failed and ("torch", "value") in failed
    assert ("torch", "grad_fd") in failed


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_four_ulp_bug_fails_in_half(dtype: str) -> None:
    """An answer off by 4 ulps of the half dtype fails its value check (NumPy backend)."""
    nmant = finfo(dtype).nmant

    def off(input, target, reduction="mean", weight=None):
        out = lossbridge.mse_loss(input, target, reduction=reduction, weight=weight)
        value = float(np.asarray(out, dtype=np.float64))
        ulp = 2.0 ** (np.floor(np.log2(value)) - nmant)
        return np.asarray(value + 4 * ulp).astype(numpy_dtype(dtype))

    entry = _entry("mse_loss", off, ["basic_mean"])
    results = run([entry], backends=["numpy"], dtypes=[dtype], compile=False)
    (value,) = [r for r in results if r.check == "value"]
    assert value.status == "fail" and 3.5 <= value.error <= 4.5, value.message
    assert "ulp" in value.message


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_correct_half_loss_passes_and_oracle_is_no_worse(dtype: str) -> None:
    results = run(losses=["mse_loss"], cases=["basic_mean"], dtypes=[dtype], compile=False)
    ran = [r for r in results if not r.skipped]
    assert ran and all(r.passed for r in ran), [r.message for r in ran if not r.passed]
    assert {r.tolerance for r in ran if r.check == "value"} == {1.0}
    oracle = [r for r in ran if r.check == "oracle"]
    if "torch" in BACKENDS:
        assert oracle and all("ulp from the float64 reference" in r.message for r in oracle)


def test_half_skips_say_why() -> None:
    results = run(losses=["mse_loss"], cases=["basic_mean"], dtypes=["float16"], compile=False)
    why = {(r.backend, r.check): r.message for r in results if r.skipped}
    if "array_api_strict" in BACKENDS:
        assert "no half-precision" in why[("array_api_strict", "all")]
    for backend in ("torch", "jax", "tensorflow"):
        if backend in BACKENDS:
            assert "same float64 check as float32" in why[(backend, "grad_fd")]


def test_per_dtype_case_skip() -> None:
    base = REGISTRY["mse_loss"].case("basic_mean")
    case = Case(
        label="huge",
        make=base.make,
        kwargs=base.kwargs,
        seed=base.seed,
        skip={"all@float16": "beyond 65504", "grad_oracle@bfloat16": "kink"},
    )
    assert case.skipped("all", "float16") == "beyond 65504"
    assert case.skipped("value", "float16") == "beyond 65504"  # "all" covers every group
    assert case.skipped("grad_oracle", "bfloat16") == "kink" and case.skipped("grad_oracle") is None
    entry = Entry("mse_loss", lossbridge.mse_loss, references.mse_loss, (case,))
    results = run([entry], backends=["numpy"], dtypes=["float16", "float32"], compile=False)
    f16 = [r for r in results if r.dtype == "float16"]
    assert [(r.check, r.message) for r in f16] == [("all", "beyond 65504")]
    assert any(r.passed for r in results if r.dtype == "float32")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_drivers_round_trip_half_arrays(dtype: str) -> None:
    """Every backend with half dtypes holds the rounded values exactly (torch bfloat16 through
    float32, as torch.from_numpy knows no ml_dtypes.bfloat16) and names the dtype."""
    x = np.array([[1.0, 1.0 / 3.0], [-65504.0, 2.0**-20]])
    rounded = x.astype(numpy_dtype(dtype)).astype(np.float64)
    for d in available_drivers():
        if d.dtype_unavailable(dtype):
            assert d.name == "array_api_strict"
            continue
        a = d.from_numpy(x, dtype)
        assert d.dtype_name(a) == dtype
        back = d.to_numpy(a)
        assert back.dtype == numpy_dtype(dtype)
        np.testing.assert_array_equal(back.astype(np.float64), rounded)

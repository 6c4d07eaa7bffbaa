"""Smoke test of the benchmark harness: it measures, checks and prints; timings are never asserted.

The benchmarks themselves are ``python -m benchmarks`` (see ``docs/performance.md``).
"""

from __future__ import annotations

import gc
import math
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path:  # ``benchmarks`` is a top-level folder, not an installed package
    sys.path.insert(0, str(_ROOT))

from benchmarks.cases import Case  # noqa: E402
from benchmarks.harness import Settings, format_summary, format_table, main, run_case  # noqa: E402

TINY = Settings(rounds=3, batch_s=0.0005, max_case_s=0.05, min_rounds=3, warmup=1)


@pytest.fixture(autouse=True)
def _frozen_heap():
    """The harness runs ``gc.collect()`` before each timing; in a pytest worker that has run
    hundreds of conformance tests that scans millions of objects (about 0.5 s per call after
    four losses, measured), most of these tests' time in CI. ``gc.freeze()`` moves what exists
    now out of the collector's sight for the test's duration."""
    gc.freeze()
    yield
    gc.unfreeze()


def test_cli_numpy_one_case(capsys):
    """``python -m benchmarks`` on one NumPy case prints a finite ratio in the table."""
    code = main(
        ["--quick", "--framework", "numpy", "--loss", "cross_entropy", "--shape", "8x4"]
        + ["--rounds", "3", "--threads", "0"]  # 0: do not pin the test process to one CPU
    )
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if line.startswith("CE    8x4")]
    assert len(rows) == 1, out
    ratio = float(rows[0].split()[5])
    assert math.isfinite(ratio) and ratio > 0
    assert "median ratio" in out and "1 rows, 0 failed" in out


def test_torch_eager_one_case(capsys):
    """One torch eager case: finite ratio, outputs agree, table and summary print."""
    pytest.importorskip("torch")
    res = run_case(Case("cross_entropy", (8, 4), "torch", "eager", False), TINY)
    assert res.error is None, res.traceback
    assert res.rounds == 3 and len(res.ratios) == 3
    assert math.isfinite(res.ratio_median) and res.ratio_median > 0
    assert res.max_rel_diff <= 1e-4
    print(format_table([res]))
    print(format_summary([res]))
    out = capsys.readouterr().out
    assert f"{res.ratio_median:.2f}" in out and "torch/eager fwd" in out


def test_numpy_mse_one_case():
    """One of the 1e6-element regression cases on NumPy: finite ratio, outputs agree."""
    res = run_case(Case("mse_loss", (1000, 1000), "numpy", "eager", False), TINY)
    assert res.error is None, res.traceback
    assert math.isfinite(res.ratio_median) and res.ratio_median > 0
    assert res.max_rel_diff <= 1e-4


def test_memory_helpers_small():
    """Saved-for-backward bytes and the one-hot check on (8, 4); XLA temporaries on (8, 4).

    The numbers are not asserted beyond what must hold: ours saves no more than torch's own
    cross_entropy at this shape, builds no one-hot, and XLA reports non-negative sizes.
    """
    torch = pytest.importorskip("torch")
    from benchmarks.cases import make_data
    from benchmarks.memory import _torch_fns, onehot_check, torch_saved_bytes

    x_np, y_np = make_data("cross_entropy", (8, 4))
    ours, native = _torch_fns("cross_entropy")
    x = torch.from_numpy(x_np).requires_grad_(True)
    y = torch.from_numpy(y_np)
    assert 0 < torch_saved_bytes(ours, x, y) <= torch_saved_bytes(native, x, y)
    onehot, big = onehot_check(ours, x.detach(), y, 8, 4)
    assert not onehot and big  # the (8, 4) log-softmax is float, not a one-hot
    # a deliberate one-hot is caught
    caught, _ = onehot_check(
        lambda x, y: (torch.nn.functional.one_hot(y, 4) * x).sum(), x.detach(), y, 8, 4
    )
    assert caught
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    from benchmarks.memory import jax_temp_bytes

    sizes = jax_temp_bytes("cross_entropy", (8, 4))
    assert set(sizes) == {"ours fwd", "ours fwd+bwd", "native fwd", "native fwd+bwd"}
    assert all(v >= 0 for v in sizes.values())


def test_extra_row_and_overhead_ops():
    """One extended row (torch eager) measures and agrees; the aten-op counter counts."""
    torch = pytest.importorskip("torch")
    from benchmarks.extra import build_extra, specs
    from benchmarks.harness import Result, run_pair
    from benchmarks.overhead import aten_ops

    spec = next(s for s in specs({"torch"}) if s.loss == "smooth_l1_loss")
    res = Result(spec.loss, spec.shape, spec.framework, spec.mode, "fwd+bwd")
    res = run_pair(res, lambda: build_extra(spec, True), TINY)
    assert res.error is None, res.traceback
    assert math.isfinite(res.ratio_median) and res.max_rel_diff <= 1e-4
    x = torch.randn(8, 4)
    ops = aten_ops(lambda: torch.nn.functional.cross_entropy(x, torch.tensor([0, 1] * 4)))
    assert ops[-2:] == ["_log_softmax", "nll_loss_forward"]


def test_precision_section_small(capsys):
    """The ``precision`` section on (16, 8), torch and JAX: every row measures, both sides
    agree to the half dtype's precision, and the memory and overhead tables print."""
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    pytest.importorskip("ml_dtypes")
    from benchmarks.precision import run_section

    record = run_section({"torch", "jax"}, quick=True, rounds=3, shape=(16, 8))
    out = capsys.readouterr().out
    rows = record["rows"]
    assert len(rows) == 20, out  # 5 modes (4 torch, 1 jax) x 2 losses x 2 passes
    for row in rows:
        assert row["error"] is None, row["traceback"]
        assert math.isfinite(row["ratio_median"]) and row["ratio_median"] > 0
        assert row["max_rel_diff"] <= 2**-6, row  # a few half ulps at most
    modes = {r["mode"] for r in record["memory"]}
    assert modes == {"autocast-bf16", "bf16", "f16", "jit-bf16"}
    assert "bytes saved for backward" in out and "XLA temporary bytes" in out
    assert [r["loss"] for r in record["overhead"]] == [
        "cross_entropy",
        "binary_cross_entropy_with_logits",
    ]


def test_linear_ce_section_small(capsys):
    """The ``linear_cross_entropy`` section on a tiny head, JAX, TensorFlow and torch: every
    row measures, chunked and materialized agree, and the memory columns are filled (torch's,
    resident-set growth in fresh processes, for fwd+bwd only)."""
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    from benchmarks.linear_ce import run_section

    rows = run_section(
        {"jax", "tensorflow", "torch"}, quick=True, rounds=3, shape=(64, 8, 256), chunks=(24,)
    )
    out = capsys.readouterr().out
    assert len(rows) == 12, out  # 6 framework/modes x 2 passes
    for row in rows:
        assert row.error is None, row
        assert math.isfinite(row.ratio_median) and row.ratio_median > 0
        assert row.max_rel_diff <= 1e-4, row
        if row.framework != "torch" or row.pass_name == "fwd+bwd":
            assert row.ours_temp_mib >= 0 and row.native_temp_mib >= 0, row
    assert "linear_cross_entropy: N=64 D=8 V=256" in out

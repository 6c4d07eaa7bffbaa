"""The command line's plan (issue 17, item 7): the default run covers every loss on every
backend and dtype with one representative case each, ``--full`` runs the whole matrix,
``--jobs`` splits the cases over worker processes with the same records, progress carries an
estimate of the time left, and the timed families add up to no more than the time spent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lossbridge.conformance import Suite
from lossbridge.conformance.__main__ import UsageError, _jobs, _Progress, plan_cases
from lossbridge.conformance.registry import REGISTRY
from lossbridge.conformance.runner import DTYPES, QUICK_COMPILE_DTYPES


def test_default_plan_is_one_compiled_case_per_loss_at_every_dtype():
    plan = plan_cases(list(REGISTRY), full=False, cases=None, dtypes=DTYPES)
    assert [loss for loss, _, _ in plan] == list(REGISTRY)  # every loss once, registry order
    for loss, label, _ in plan:
        case = next(c for c in REGISTRY[loss].cases if c.label == label)
        assert case.compile, f"{loss}: the representative {label} runs no compiled mode"
        # the first compiled case that runs the most kinds of checks
        flags = [(c.compile, c.placement, c.inductor) for c in REGISTRY[loss].cases]
        best = max(flags)
        assert (case.compile, case.placement, case.inductor) == best
        assert label == REGISTRY[loss].cases[flags.index(best)].label
    assert set(QUICK_COMPILE_DTYPES) <= set(DTYPES)


def test_full_plan_is_every_case_and_case_selects():
    full = plan_cases(list(REGISTRY), full=True, cases=None, dtypes=DTYPES)
    assert len(full) == sum(len(e.cases) for e in REGISTRY.values())
    picked = plan_cases(["mse_loss"], full=False, cases=["basic_mean", "nope"], dtypes=DTYPES)
    assert [(loss, label) for loss, label, _ in picked] == [("mse_loss", "basic_mean")]
    # a compiled case weighs its compiled modes: 6 per compiled dtype on top of 1 per dtype
    compiled = next(c.label for c in REGISTRY["mse_loss"].cases if c.compile)
    (_, _, w_quick), (_, _, w_full) = (
        plan_cases(["mse_loss"], full=f, cases=[compiled], dtypes=DTYPES)[0] for f in (False, True)
    )
    assert w_quick == 4 + 6 * len(QUICK_COMPILE_DTYPES) and w_full == 4 + 6 * 4


def test_jobs():
    assert _jobs(3, 2) == 2 and _jobs(1, 100) == 1
    assert 1 <= _jobs(None, 100) <= 4
    with pytest.raises(UsageError, match="--jobs must be at least 1; got 0"):
        _jobs(0, 5)


def test_progress_estimates_the_time_left(monkeypatch, capsys):
    clock = iter([100.0, 110.0, 130.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    progress = _Progress(total=8.0, quiet=False)  # t0 = 100
    progress("a / first", 2.0)  # 10 s for 2 of 8: 30 s left
    progress("b / second", 4.0)  # 30 s for 6 of 8: 10 s left
    lines = capsys.readouterr().err.splitlines()
    assert "25% left ~30s  a / first" in lines[0]
    assert "75% left ~10s  b / second" in lines[1]


def test_timed_families_add_up_to_no_more_than_the_time_spent():
    """The eager family used to include the baselines computed inside it (counted twice)."""
    suite = Suite()
    t0 = time.perf_counter()
    suite.run(losses=["cross_entropy"], backends=["numpy", "torch"], compile=False)
    wall = time.perf_counter() - t0
    assert suite.timings["baselines"] > 0
    assert sum(suite.timings.values()) <= wall


def test_workers_give_the_records_of_one_process(tmp_path):
    """``--jobs 2`` (spawned workers) and ``--jobs 1`` write the same records."""
    # --no-compile: the records' distribution over workers is the point, not torch.compile
    common = ["--backend", "numpy", "--backend", "torch", "--dtype", "float32", "-q"]
    common += ["--no-compile"]
    common += ["--loss", "mse_loss", "--loss", "l1_loss", "--loss", "huber_loss"]
    docs = []
    for jobs in ("1", "2"):
        path = tmp_path / f"j{jobs}.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "lossbridge.conformance",
                *common,
                "-j",
                jobs,
                "--json",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        doc = json.loads(path.read_text())
        docs.append(
            [
                (r["loss"], r["case"], r["backend"], r["dtype"], r["check"], r["passed"])
                for r in doc["results"]
            ]
        )
    assert docs[0] == docs[1] and len(docs[0]) > 20
    assert {loss for loss, *_ in docs[0]} == {"mse_loss", "l1_loss", "huber_loss"}

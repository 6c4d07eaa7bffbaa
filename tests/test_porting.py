"""``docs/porting.md`` runs as written, and every number in its tables is checked.

The guide's Python blocks run in order: the ``Setup`` section's once, then each section's in a
fresh copy of that namespace (the two worked examples assert their own results). Each table row
``| framework | `framework call` | result | `lossbridge call` |`` is evaluated in its section's
namespace: the framework's own call must give the stated result (so the numbers are the
frameworks', recomputed here on every run), and the lossbridge call, on the other framework's
tensors, must give the same numbers. A row whose lossbridge cell is ``-`` states a framework
behaviour that lossbridge does not reproduce on purpose (the sentence above the table says why).
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

for _mod in ("torch", "tensorflow", "jax", "keras", "optax"):
    pytest.importorskip(_mod)

DOC = Path(__file__).resolve().parents[1] / "docs" / "porting.md"
ROW = re.compile(
    r"^\|\s*([^|`]+?)\s*\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(?:`([^`]+)`|-)\s*\|\s*$"
)
# Stated numbers carry 6 significant digits.
RTOL, ATOL = 1e-5, 1e-6


def sections(text: str) -> list[tuple[str, list[str], list[tuple[str, str, str, str | None]]]]:
    """``(title, python blocks, table rows)`` per ``## `` section, in order."""
    out = []
    for chunk in re.split(r"^## ", text, flags=re.M)[1:]:
        title = chunk.splitlines()[0].strip()
        blocks = re.findall(r"^```python\n(.*?)^```", chunk, flags=re.S | re.M)
        rows = [m.groups() for line in chunk.splitlines() if (m := ROW.match(line))]
        out.append((title, blocks, rows))
    return out


def to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    elif hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def parse_result(text: str) -> np.ndarray:
    return np.asarray(eval(text, {"nan": math.nan, "inf": math.inf}), dtype=np.float64)


def format_result(x: Any) -> str:
    """How the guide writes a result (6 significant digits)."""
    a = to_numpy(x)

    def one(v: float) -> str:
        return "nan" if math.isnan(v) else f"{v:.6g}"

    if a.ndim == 0:
        return one(float(a))
    return (
        "[" + ", ".join(one(float(v)) for v in a.reshape(-1)) + "]"
        if a.ndim == 1
        else str([[float(f"{v:.6g}") for v in row] for row in a])
    )


def run_setup(secs) -> dict:
    ns: dict = {"__name__": "porting_doc"}
    for title, blocks, _ in secs:
        if title.startswith("Setup"):
            for b in blocks:
                exec(compile(b, f"{DOC.name}: Setup", "exec"), ns)
    return ns


def evaluate(expr: str, ns: dict) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval(expr, ns)


def assert_matches(actual: Any, stated: np.ndarray, what: str) -> None:
    a = to_numpy(actual)
    assert a.shape == stated.shape, f"{what}: shape {a.shape}, the guide states {stated.shape}"
    # Relative to the stated number; absolute only where it states 0 (so 1e-18 is not 0).
    bound = RTOL * np.abs(stated) + np.where(stated == 0, ATOL, 0.0)
    with np.errstate(invalid="ignore"):
        close = (np.abs(a - stated) <= bound) | (a == stated) | (np.isnan(a) & np.isnan(stated))
    assert close.all(), f"{what}: got {format_result(a)}, the guide states {format_result(stated)}"


_SECS = sections(DOC.read_text()) if DOC.exists() else []
_TITLES = [t for t, *_ in _SECS if not t.startswith("Setup")]


def test_guide_covers_the_seventeen_differences_and_two_examples():
    numbered = [t for t in _TITLES if re.match(r"3\.\d+ ", t)]
    assert [t.split()[0] for t in numbered] == [f"3.{i}" for i in range(1, 18)]
    assert sum(t.startswith("Worked example") for t in _TITLES) == 2


@pytest.fixture(scope="module")
def setup_ns():
    return run_setup(_SECS)


@pytest.mark.parametrize("title", _TITLES)
def test_section_runs_and_its_numbers_hold(title, setup_ns):
    _, blocks, rows = next(s for s in _SECS if s[0] == title)
    ns = dict(setup_ns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in blocks:
            exec(compile(b, f"{DOC.name}: {title}", "exec"), ns)
    for side, call, result, ours in rows:
        stated = parse_result(result)
        theirs = evaluate(call, ns)
        assert_matches(theirs, stated, f"{title}, {side}: {call}")
        if ours is not None:
            assert_matches(evaluate(ours, ns), stated, f"{title}, {side} via lossbridge: {ours}")

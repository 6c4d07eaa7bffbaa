"""NaN and inf (issue 8): every loss, every floating input, every backend, and torch.

For each loss of the conformance registry (dialects aside) and each of its floating array
arguments, the first element of that argument is set to NaN, +inf or -inf, and the loss is
called unreduced (its first ``'none'`` case; a loss without one, reduced) on every backend. The
positions of NaN, +inf and -inf in the output must be the same on every backend, and the same as
in ``torch.nn.functional``'s output where torch has the loss. The behaviour is the frameworks':
NaN propagates, except where torch's own kernel drops it (documented per loss in
``docs/reliability.md``; ``python tests/test_nan_inf.py`` prints that table).

The expected patterns come from torch (float64), never from lossbridge; losses torch lacks are
checked for agreement across the five backends and, for NaN, against the rule "NaN in, NaN
out" unless the table says why not.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from lossbridge.conformance.registry import REGISTRY  # noqa: E402

POISONS = {"nan": np.nan, "+inf": np.inf, "-inf": -np.inf}

#: (loss, argument) whose NaN leaves the unreduced output finite, with the reason; torch's
#: function does the same for each (the test checks it).
NAN_DROPPED: dict[tuple[str, str], str] = {
    ("nll_loss", "input"): "only input[n, target[n]] is read; the NaN is at a class no target "
    "names",
    ("multilabel_margin_loss", "input"): "torch's kernel adds a hinge term only where it is "
    "> 0 (C++ `if (z > 0)`), so a NaN term is dropped",
    ("multi_margin_loss", "input"): "torch's kernel adds a hinge term only where it is > 0 "
    "(C++ `if (z > 0)`), so a NaN term is dropped",
    ("hinge_embedding_loss", "target"): "a target that is neither 1 nor -1 takes both terms "
    "(torch's where(target != 1, ...) + where(target != -1, ...)): finite",
    ("cosine_embedding_loss", "target"): "torch's where(target == 1, ...) and "
    "where(target == -1, ...): any other target, NaN included, gives 0",
    ("nce_loss", "weights"): "only the rows of the targets and sampled classes are read (as "
    "TensorFlow's embedding_lookup reads them); the NaN is at class 0, which the case neither "
    "targets nor samples",
    ("nce_loss", "biases"): "only the targets' and sampled classes' biases are read; the NaN is "
    "at class 0, which the case neither targets nor samples",
}

#: (loss, argument, poison) where torch.nn.functional differs from lossbridge, with the reason.
TORCH_DIFFERS: dict[tuple[str, str, str], str] = {
    ("binary_cross_entropy", "input", "nan"): "torch raises RuntimeError (its check "
    "0 <= x <= 1 is false for NaN); lossbridge's range check lets NaN through and the NaN "
    "propagates, so eager and compiled calls (where no value check can run) agree",
    ("binary_cross_entropy", "target", "nan"): "torch raises RuntimeError (its check "
    "0 <= y <= 1 is false for NaN); lossbridge propagates the NaN, as under compilation",
}

#: (loss, argument, poison) -> (backend, reason): a backend known to differ (an xfail, strict,
#: so the entry must go when the backend is fixed).
KNOWN_BACKEND_ISSUES: dict[tuple[str, str, str], tuple[str, str]] = {
    ("binary_cross_entropy_with_logits", "input", "+inf"): (
        "tensorflow",
        "the fused TensorFlow kernel (tf.nn.sigmoid_cross_entropy_with_logits, "
        "backends/_tf_ops.py) computes max(x, 0) - x t: inf - inf = NaN where torch gives +inf",
    ),
    ("binary_cross_entropy_with_logits", "input", "-inf"): (
        "tensorflow",
        "the fused TensorFlow kernel gives +inf at x = -inf where torch (and the generic form) "
        "give NaN ((1 - t) x - log_sigmoid(x) = -inf + inf)",
    ),
    # timm's BCE is binary_cross_entropy_with_logits on smoothed targets: the same TF kernel
    ("smoothed_binary_cross_entropy", "input", "+inf"): (
        "tensorflow",
        "binary_cross_entropy_with_logits' fused TensorFlow kernel: inf - inf = NaN at x = +inf "
        "where torch gives +inf",
    ),
    ("smoothed_binary_cross_entropy", "input", "-inf"): (
        "tensorflow",
        "binary_cross_entropy_with_logits' fused TensorFlow kernel gives +inf at x = -inf where "
        "torch gives NaN",
    ),
}


def _case(entry: Any) -> Any:
    for c in entry.cases:
        if c.kwargs.get("reduction") == "none":
            return c
    return entry.cases[0]


def poisoned_calls() -> list[tuple[str, str, str, dict[str, np.ndarray], dict[str, Any]]]:
    """``(loss, arg, poison, arrays, kwargs)`` for every loss and floating argument."""
    out = []
    for name, entry in REGISTRY.items():
        if "." in name:
            continue
        case = _case(entry)
        arrays = case.inputs()
        for arg, a in arrays.items():
            if a.dtype.kind != "f" or a.size == 0:
                continue
            for label, value in POISONS.items():
                bad = a.copy()
                bad.reshape(-1)[0] = value
                out.append((name, arg, label, {**arrays, arg: bad}, dict(case.kwargs)))
    return out


def pattern(x: np.ndarray) -> np.ndarray:
    """0 finite, 1 NaN, 2 +inf, 3 -inf, per element."""
    x = np.asarray(x, dtype=np.float64)
    return np.select([np.isnan(x), np.isposinf(x), np.isneginf(x)], [1, 2, 3], 0)


def describe(p: Any) -> str:
    if isinstance(p, str):
        return f"refused ({p})"
    kinds = [k for k, v in (("NaN", 1), ("+inf", 2), ("-inf", 3)) if np.any(p == v)]
    return ", ".join(kinds) if kinds else "finite"


def call(loss: str, driver: Any, arrays: dict[str, np.ndarray], kwargs: dict[str, Any]) -> Any:
    """The output's pattern, or ``'ValueError'`` where lossbridge refuses the value."""
    fn = REGISTRY[loss].fn
    conv = {k: driver.from_numpy(v) for k, v in arrays.items()}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return pattern(driver.to_numpy(fn(**conv, **kwargs)))
        except ValueError:
            return "ValueError"


def torch_pattern(loss: str, arrays: dict[str, np.ndarray], kwargs: dict[str, Any]) -> Any:
    """torch's output pattern, or None where torch has no such loss."""
    entry = REGISTRY[loss]
    oracle = entry.oracle_fn()
    if oracle is None:
        return None
    import torch

    case = _case(entry)
    conv = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = oracle(**conv, **{**kwargs, **case.oracle_kwargs})
        except (RuntimeError, ValueError):
            return "ValueError"  # refused, as lossbridge refuses
    return pattern(out.detach().numpy())


def _drivers() -> list[Any]:
    from lossbridge.conformance.drivers import available_drivers

    return available_drivers()


_CALLS = poisoned_calls()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return a.shape == b.shape and np.array_equal(a, b)


def _params() -> list[Any]:
    out = []
    for c in _CALLS:
        key = c[:3]
        marks = ()
        if key in KNOWN_BACKEND_ISSUES:
            backend, why = KNOWN_BACKEND_ISSUES[key]
            marks = (pytest.mark.xfail(reason=f"{backend}: {why}", strict=True),)
        out.append(pytest.param(*c, id="-".join(key), marks=marks))
    return out


@pytest.mark.parametrize("loss, arg, poison, arrays, kwargs", _params())
def test_same_nan_inf_pattern_everywhere(loss, arg, poison, arrays, kwargs):
    """Every backend puts NaN/inf at the same places, and where torch has the loss, torch's."""
    patterns = {d.name: call(loss, d, arrays, kwargs) for d in _drivers()}
    ref_name, ref = next(iter(patterns.items()))
    for name, p in patterns.items():
        assert _same(p, ref), f"{name}: {describe(p)} {p!r} but {ref_name}: {describe(ref)} {ref!r}"
    if "torch" in patterns and (loss, arg, poison) not in TORCH_DIFFERS:
        tp = torch_pattern(loss, arrays, kwargs)
        if tp is not None:
            assert _same(tp, ref), (
                f"torch.nn.functional: {describe(tp)} {tp!r}; lossbridge: {describe(ref)} {ref!r}"
            )
    if poison == "nan" and not isinstance(ref, str):
        if (loss, arg) in NAN_DROPPED:
            assert not np.any(ref == 1), f"{loss}: NaN in {arg} now propagates; update NAN_DROPPED"
        else:
            assert np.any(ref == 1), f"NaN in {arg} gives {describe(ref)} output; expected NaN"


def test_documented_differences_are_real():
    """Each TORCH_DIFFERS entry still differs from torch (so the list cannot go stale)."""
    pytest.importorskip("torch")
    numpy_driver = next(d for d in _drivers() if d.name == "numpy")
    for loss, arg, poison, arrays, kwargs in _CALLS:
        if (loss, arg, poison) in TORCH_DIFFERS:
            ours = call(loss, numpy_driver, arrays, kwargs)
            assert not _same(ours, torch_pattern(loss, arrays, kwargs)), (loss, arg, poison)


# ------------------------------------------------------------------------------------------
# The table of docs/reliability.md
# ------------------------------------------------------------------------------------------


def markdown() -> str:
    d = next(d for d in _drivers() if d.name == "numpy")
    rows: dict[str, dict[str, list[str]]] = {}
    for loss, arg, poison, arrays, kwargs in _CALLS:
        p = call(loss, d, arrays, kwargs)
        rows.setdefault(loss, {}).setdefault(poison, []).append(f"{arg}: {describe(p)}")
    lines = ["| loss | NaN in | +inf in | -inf in |", "|---|---|---|---|"]
    for loss, per in rows.items():
        cells = ["<br>".join(per.get(k, [])) for k in POISONS]
        lines.append(f"| `{loss}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import torch  # noqa: F401  (before tensorflow, as in the tests)

    try:
        import jax

        jax.config.update("jax_enable_x64", True)
    except ImportError:  # pragma: no cover
        pass
    print(markdown())

"""Text and JSON reports of conformance results.

:func:`format_report` gives the matrix (loss x backend x dtype: worst forward, gradient and
finite-difference errors, pass/fail, forward checks run against each oracle, compiled modes), a
summary line with the counts and the tolerances, the reasons for checks not run, and the details
of every failure with its repro.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lossbridge.conformance import tolerances as _tol
from lossbridge.conformance.drivers import DRIVERS
from lossbridge.conformance.registry import ORACLES
from lossbridge.conformance.runner import COMPILED_MODES, DTYPES, Result

__all__ = ["format_matrix", "format_report", "summarize", "to_json"]

#: Short names of the compiled-mode families in the matrix.
MODE_LABELS = {
    "jax_jit": "jit",
    "tf_function": "tf.function",
    "tf_xla": "xla",
    "torch_compile": "aot_eager",
    "torch_inductor": "inductor",
}
_COMPILED = {c for modes in COMPILED_MODES.values() for c in modes}
#: Short names of the forward oracle checks in the matrix's ``oracles`` column.
ORACLE_LABELS = {"oracle": "F", **{name: o.label for name, o in ORACLES.items()}}


def _family(check: str) -> str:
    return check.removesuffix("_grad")


def _ordered_keys(results: Sequence[Result]) -> list[tuple[str, str, str]]:
    losses = list(dict.fromkeys(r.loss for r in results))
    backend_order = {b: i for i, b in enumerate(DRIVERS)}
    keys = {(r.loss, r.backend, r.dtype) for r in results}
    return sorted(
        keys,
        key=lambda k: (losses.index(k[0]), backend_order.get(k[1], 99), DTYPES.index(k[2])),
    )


def _fmt_err(values: list[float]) -> str:
    return f"{max(values):.1e}" if values else "-"


def summarize(results: Sequence[Result]) -> dict[str, Any]:
    """Counts of a run: cases, backends, dtypes, combinations, checks run, passed, failed."""
    combos = {(r.loss, r.case, r.backend, r.dtype) for r in results}
    not_run = {(r.loss, r.case, r.backend, r.dtype) for r in results if r.check == "all"}
    status = Counter(r.status for r in results if r.check != "all")
    return {
        "cases": len({(r.loss, r.case) for r in results}),
        "losses": len({r.loss for r in results}),
        "backends": len({r.backend for r in results}),
        "dtypes": len({r.dtype for r in results}),
        "combinations": len(combos),
        "combinations_not_run": len(not_run),
        "checks_run": status["pass"] + status["fail"],
        "passed": status["pass"],
        "failed": status["fail"],
        "checks_not_run": status["skip"],
    }


def format_matrix(results: Sequence[Result]) -> str:
    """One row per loss, backend and dtype."""
    groups: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.loss, r.backend, r.dtype)].append(r)
    header = (
        f"{'loss':<33} {'backend':<17} {'dtype':<8} {'cases':>5} {'checks':>6}  "
        f"{'fwd err':>8} {'grad err':>8} {'fd err':>8}  {'result':<8} {'oracles':<30} compiled"
    )
    lines = [header, "-" * len(header)]
    for key in _ordered_keys(results):
        rs = groups[key]
        loss, backend, dtype = key
        ran = [r for r in rs if not r.skipped]
        cases = len({r.case for r in rs if r.check != "all"})
        errs: dict[str, list[float]] = {"value": [], "grad": [], "fd": []}
        for r in ran:
            if r.error is not None and r.check in _tol.KINDS:
                errs[_tol.KINDS[r.check]].append(r.error)
        failed = sum(1 for r in ran if not r.passed)
        if not ran:
            reason = next((r.message for r in rs if r.skipped), "")
            result = "not run"
            oracles = "-"
            compiled = f"({reason[:60]})" if reason else ""
        else:
            result = "pass" if not failed else f"FAIL {failed}"
            oracles = _oracle_cell(ran)
            compiled = _compiled_cell(ran)
        lines.append(
            f"{loss:<33} {backend:<17} {dtype:<8} {cases:>5} {len(ran):>6}  "
            f"{_fmt_err(errs['value']):>8} {_fmt_err(errs['grad']):>8} "
            f"{_fmt_err(errs['fd']):>8}  {result:<8} {oracles:<30} {compiled}"
        )
    return "\n".join(lines)


def _oracle_cell(ran: Iterable[Result]) -> str:
    """Forward checks run against each oracle: ``F`` (torch.nn.functional) and the extra ones."""
    counts: dict[str, list[bool]] = defaultdict(list)
    for r in ran:
        label = ORACLE_LABELS.get(r.check)
        if label is not None:
            counts[label].append(r.passed)
    if not counts:
        return "-"
    return ", ".join(
        f"{label} {sum(ok)}/{len(ok)}{'' if all(ok) else ' FAIL'}" for label, ok in counts.items()
    )


def _compiled_cell(ran: Iterable[Result]) -> str:
    fam: dict[str, list[bool]] = defaultdict(list)
    for r in ran:
        if r.check in _COMPILED:
            fam[_family(r.check)].append(r.passed)
    if not fam:
        return "-"
    cells = []
    for family, label in MODE_LABELS.items():
        if family in fam:
            ok = fam[family]
            mark = "ok" if all(ok) else "FAIL"
            cells.append(f"{label} {sum(ok)}/{len(ok)} {mark}")
    return ", ".join(cells)


def _format_tolerances() -> list[str]:
    lines = ["tolerances (norm-wise relative error, same for every backend):"]
    for dtype, t in _tol.TOLERANCES.items():
        lines.append(
            f"  {dtype}: values {t.value:.0e}, gradients {t.grad:.0e}, "
            f"finite differences {t.fd:.0e}"
        )
    if _tol.EXCEPTIONS:
        lines.append("  exceptions:")
        for e in _tol.EXCEPTIONS:
            lines.append(
                f"    {e.loss}[{e.case}] {e.check} {e.backend} {e.dtype}: {e.bound:.0e} "
                f"(measured {e.measured:.1e}): {e.reason}"
            )
    else:
        lines.append("  exceptions: none")
    return lines


def format_report(
    results: Sequence[Result],
    *,
    timings: Mapping[str, float] | None = None,
    max_failures: int = 50,
) -> str:
    """The matrix, the summary line, tolerances, reasons for checks not run, and failures."""
    s = summarize(results)
    out = [format_matrix(results), ""]
    out.append(
        f"{s['cases']} cases ({s['losses']} losses) x {s['backends']} backends x {s['dtypes']} "
        f"dtypes = {s['combinations']} combinations ({s['combinations_not_run']} not run); "
        f"{s['checks_run']} checks run: {s['passed']} passed, {s['failed']} failed; "
        f"{s['checks_not_run']} checks not run"
    )
    out.extend(_format_tolerances())
    if timings:
        total = sum(timings.values())
        parts = ", ".join(
            f"{k} {v:.0f}s" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])
        )
        out.append(f"time in checks: {total:.0f}s ({parts})")
    skipped = Counter((r.check, r.message) for r in results if r.skipped)
    if skipped:
        out.append("")
        out.append("not run:")
        for (check, why), n in sorted(skipped.items(), key=lambda kv: -kv[1]):
            out.append(f"  {n:>4} x {check}: {why}")
    failures = [r for r in results if r.status == "fail"]
    if failures:
        out.append("")
        out.append(f"FAILURES ({len(failures)}):")
        for r in failures[:max_failures]:
            out.append("")
            out.append(f"- {r.message}")
            out.extend("    " + line for line in r.repro.splitlines())
        if len(failures) > max_failures:
            out.append(f"\n... {len(failures) - max_failures} more failures (see --json)")
    return "\n".join(out)


def to_json(
    results: Sequence[Result], path: str, *, timings: Mapping[str, float] | None = None
) -> None:
    """Write the summary, tolerances and every record to ``path`` as JSON."""
    doc = {
        "summary": summarize(results),
        "tolerances": {k: vars(v) for k, v in _tol.TOLERANCES.items()},
        "exceptions": [vars(e) for e in _tol.EXCEPTIONS],
        "timings": dict(timings or {}),
        "results": [r.to_dict() for r in results],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)

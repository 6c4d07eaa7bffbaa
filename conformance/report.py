"""Text, JSON, Markdown and JUnit XML reports of conformance results.

:func:`format_report` gives the matrix (loss x backend x dtype: worst forward, gradient and
finite-difference errors, the worst error in ulps, pass/fail, forward checks run against each
oracle, compiled modes), a summary line with the counts and the tolerances, the reasons for
checks not run, and the details of every failure with its repro. :func:`to_markdown` gives the
same as a Markdown document, :func:`to_junit` one JUnit test case per loss, case, backend and
dtype (for CI test-report viewers), :func:`worst_ulps` the numbers the heatmap draws
(:mod:`lossbridge.conformance.heatmap`).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any

from lossbridge.conformance import tolerances as _tol
from lossbridge.conformance._text import plural
from lossbridge.conformance.drivers import DRIVERS
from lossbridge.conformance.registry import ORACLES, REGISTRY
from lossbridge.conformance.runner import COMPILED_MODES, DTYPES, Result

__all__ = [
    "Verdict",
    "culprits",
    "format_matrix",
    "format_report",
    "plural",
    "summarize",
    "to_json",
    "to_junit",
    "to_markdown",
    "secondary_failures",
    "verdict_line",
    "worst_ulps",
]

#: Cross-backend checks, and the check against the float64 reference that vouches for the same
#: quantity on the same backend.
_VOUCHED_BY = {"cross": "value", "grad_cross": "grad_fd"}

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
#: Every oracle of the registry: the shared ones and each entry's own (the families beyond the
#: frameworks, the dialects' Keras, optax and torch.nn oracles).
ORACLE_LABELS = {
    "oracle": "F",
    "autocast_oracle": "F",
    **{name: o.label for name, o in ORACLES.items()},
    **{o.name: o.label for e in REGISTRY.values() for o in e.extra_oracles},
}


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


#: How to read the half rows of the matrix.
_HALF_NOTE = (
    "float16 / bfloat16 rows: fwd err and grad err are ulps of the dtype at each element "
    "(bounds 1 and 2 ulp), no fd err (the same float64 check as float32)"
)


def _fmt_err(values: list[float]) -> str:
    return f"{max(values):.1e}" if values else "-"


def _ulps_of(r: Result) -> float | None:
    """The ulps of a value or gradient check that ran (finite differences excluded: their
    error is the difference quotient's, not the backend's)."""
    if r.skipped or r.ulps is None or _tol.KINDS.get(r.check) not in ("value", "grad"):
        return None
    return r.ulps


#: What a :class:`Verdict` calls the float64 reference when it votes on its own.
REFERENCE = "the float64 reference"


@dataclass(frozen=True)
class Verdict:
    """Whom the failures of one loss, case and dtype point at: a majority vote of the backends.

    Every backend's output is compared with every other's by the ``cross`` check's rule (its
    bound, conditioning-aware), and with the float64 reference where that is independent of the
    backends (``reference=``; a registry entry's formula). The largest group of voters that
    agree with each other pairwise, when it holds more than half of them, is the majority; the
    backends outside it are the suspects. Made by :func:`lossbridge.conformance.check` and
    :func:`~lossbridge.conformance.check_port` for each loss, case and dtype with a failure.

    Attributes
    ----------
    loss, case, dtype : str
    kind : {'suspects', 'everywhere', 'split'}
        ``'suspects'``: a majority, and backends outside it. ``'everywhere'``: every backend
        agrees with every other and none with the float64 reference (the function, or the
        reference, is wrong on every backend). ``'split'``: no majority.
    backends : tuple of str
        The backends that voted (those whose output could be computed).
    majority : tuple of str
        The backends of the majority (empty for ``'split'``).
    suspects : tuple of str
        The backends outside the majority.
    reference : {'agrees', 'disagrees', 'path', ''}
        The float64 reference's vote: with the majority or not; ``'path'`` when the reference is
        a backend's own path (a user's function on NumPy float64 arrays: :attr:`reference_path`)
        and so no independent voter; ``''`` when there is none.
    reference_path : str
        The backend whose code path the reference is (``'numpy'``), or ``''``.
    explains : tuple of str
        The checks whose failures on the majority's backends compare them with a suspect
        (``cross`` with the NumPy backend, ``value`` and ``grad_fd`` with the reference,
        ``grad_cross`` with the first autodiff backend): they point at the suspect, not at the
        backend they are recorded on (:func:`secondary_failures`).
    groups : tuple of tuple of str
        The voters grouped by agreement (connected groups), for ``'split'``.
    """

    loss: str
    case: str
    dtype: str
    kind: str
    backends: tuple[str, ...]
    majority: tuple[str, ...] = ()
    suspects: tuple[str, ...] = ()
    reference: str = ""
    reference_path: str = ""
    explains: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()

    def _name(self, backend: str) -> str:
        return f"{backend} (the reference path)" if backend == self.reference_path else backend

    @property
    def head(self) -> str:
        """The finding: ``'suspect: numpy (the reference path)'``, ``'wrong everywhere'``,
        ``'no majority'``."""
        if self.kind == "suspects":
            word = "suspect" if len(self.suspects) == 1 else "suspects"
            return f"{word}: {', '.join(self._name(b) for b in self.suspects)}"
        return "wrong everywhere" if self.kind == "everywhere" else "no majority"

    @property
    def evidence(self) -> str:
        """Why: ``'4 of 5 backends agree with each other'`` and the reference's vote."""
        n, k = len(self.backends), len(self.majority)
        if self.kind == "everywhere":
            return (
                f"all {plural(n, 'backend')} agree with each other, none with {REFERENCE} (the "
                "function is wrong on every backend, or the reference is)"
            )
        if self.kind == "split":
            text = "the backends disagree with each other: " + " | ".join(
                ", ".join(g) for g in self.groups
            )
            if len(self.backends) + (self.reference in ("agrees", "disagrees")) < 3:
                text += " (two voters cannot outvote each other: add backends or pass reference=)"
            return text
        if k == 1:
            return f"{self.majority[0]} agrees with {REFERENCE}"
        text = f"{k} of {plural(n, 'backend')} agree with each other"
        if self.reference == "agrees":
            text += f" and with {REFERENCE}"
        elif self.reference == "disagrees":
            text += f", not with {REFERENCE}"
        return text

    @property
    def text(self) -> str:
        """One line, e.g. ``'suspect: numpy (the reference path) - 4 of 5 backends agree with
        each other'``."""
        return f"{self.head} - {self.evidence}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (with :attr:`text`)."""
        return {**asdict(self), "text": self.text}


def verdict_line(verdicts: Sequence[Verdict]) -> str:
    """The verdicts in one line: each finding once, with the dtypes (and cases) it holds at.

    E.g. ``'suspect: numpy (the reference path) - 4 of 5 backends agree with each other
    (float32); 3 of 4 backends agree with each other (float64)'``; empty without verdicts.
    """
    groups: dict[tuple[str, str], list[Verdict]] = defaultdict(list)
    for v in verdicts:
        groups[(v.loss, v.head)].append(v)
    losses = {v.loss for v in verdicts}
    parts = []
    for (loss, head), vs in groups.items():
        many_cases = len({v.case for v in vs}) > 1
        by_evidence: dict[str, list[str]] = defaultdict(list)
        for v in vs:
            by_evidence[v.evidence].append(f"{v.case} {v.dtype}" if many_cases else v.dtype)
        body = "; ".join(f"{ev} ({', '.join(where)})" for ev, where in by_evidence.items())
        parts.append((f"{loss}: " if len(losses) > 1 else "") + f"{head} - {body}")
    return "; ".join(parts)


def secondary_failures(results: Sequence[Result], verdicts: Sequence[Verdict] = ()) -> list[bool]:
    """Per record: whether it is a failure that points at another backend.

    A cross-backend check (``cross`` against the NumPy backend, ``grad_cross`` against the first
    autodiff backend) that failed on a backend whose own check of the same quantity against the
    float64 reference (``value``, ``grad_fd``) ran and passed for the same loss, case and dtype:
    this backend agrees with the reference, so the baseline backend is the one that is off.
    With ``verdicts`` (:class:`Verdict`), also a failure of a majority backend in a check that
    compares it with a suspect (:attr:`Verdict.explains`): the NumPy backend, or the reference
    when it is the suspect's path.
    """
    own = {
        (r.loss, r.case, r.backend, r.dtype, r.check): r.passed
        for r in results
        if r.check in _VOUCHED_BY.values() and not r.skipped
    }
    explained = {
        (v.loss, v.case, v.dtype, backend, check)
        for v in verdicts
        for backend in v.majority
        for check in v.explains
    }
    out = []
    for r in results:
        vouch = _VOUCHED_BY.get(r.check)
        out.append(
            r.status == "fail"
            and (
                (vouch is not None and own.get((r.loss, r.case, r.backend, r.dtype, vouch), False))
                or (r.loss, r.case, r.dtype, r.backend, r.check) in explained
            )
        )
    return out


def culprits(
    results: Sequence[Result], verdicts: Sequence[Verdict] = ()
) -> list[tuple[str, str, str]]:
    """``(loss, backend, dtype)`` with a failure that is not secondary (in report order)."""
    flagged = {
        (r.loss, r.backend, r.dtype)
        for r, second in zip(results, secondary_failures(results, verdicts), strict=True)
        if r.status == "fail" and not second
    }
    return [k for k in _ordered_keys(results) if k in flagged]


def _culprit_lines(results: Sequence[Result], verdicts: Sequence[Verdict] = ()) -> list[str]:
    """``Pointing at: ...`` (the backends with failures of their own) and, with ``verdicts``,
    the majority vote (``Suspect: ...``)."""
    found = culprits(results, verdicts)
    n_second = sum(secondary_failures(results, verdicts))
    lines = []
    if found or not verdicts:
        lines.append(
            "Pointing at: "
            + (
                ", ".join(f"{loss} on {b} {dt}" for loss, b, dt in found)
                if found
                else "no single backend"
            )
        )
    if verdicts:
        vote = verdict_line(verdicts)
        lines.append(vote[:1].upper() + vote[1:])
    if n_second:
        lines[-1] += (
            f" ({plural(n_second, 'further failure')}: checks of backends that agree with the "
            "float64 reference or the majority, against the one at fault)"
        )
    return lines


def fmt_ulps(u: float | None) -> str:
    """Ulps for a table cell: ``'-'``, ``'0'``, ``'0.5'``, ``'12'``, ``'3.1e+05'``, ``'inf'``."""
    if u is None:
        return "-"
    if math.isinf(u) or math.isnan(u):
        return str(u)
    if u == 0:
        return "0"
    if u < 1:
        return f"{u:.2g}"
    return f"{u:.0f}" if u < 1e4 else f"{u:.1e}"


def worst_ulps(
    results: Sequence[Result], verdicts: Sequence[Verdict] = ()
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per (loss, backend, dtype): ``ulps`` (the worst value or gradient error in ulps of the
    dtype, None if none ran; secondary failures, see :func:`secondary_failures`, excluded),
    ``ran``, ``failed`` (checks), ``secondary`` (of the failed ones) and ``reason`` (why
    nothing ran)."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for key in _ordered_keys(results):
        out[key] = {"ulps": None, "ran": 0, "failed": 0, "secondary": 0, "reason": ""}
    for r, second in zip(results, secondary_failures(results, verdicts), strict=True):
        cell = out[(r.loss, r.backend, r.dtype)]
        if r.skipped:
            cell["reason"] = cell["reason"] or r.message
            continue
        cell["ran"] += 1
        cell["failed"] += not r.passed
        cell["secondary"] += second
        u = None if second else _ulps_of(r)
        if u is not None and (cell["ulps"] is None or not u <= cell["ulps"]):
            cell["ulps"] = u
    return out


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


def format_matrix(results: Sequence[Result], verdicts: Sequence[Verdict] = ()) -> str:
    """One row per loss, backend and dtype."""
    groups: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.loss, r.backend, r.dtype)].append(r)
    header = (
        f"{'loss':<33} {'backend':<17} {'dtype':<8} {'cases':>5} {'checks':>6}  "
        f"{'fwd err':>8} {'grad err':>8} {'fd err':>8} {'ulp':>7}  {'result':<8} "
        f"{'oracles':<30} compiled"
    )
    ulps = worst_ulps(results, verdicts)
    lines = [header, "-" * len(header)]
    if any(r.dtype in _tol.HALF_DTYPES for r in results):
        lines.insert(0, _HALF_NOTE)
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
            result = _result_cell(failed, ulps[key]["secondary"])
            oracles = _oracle_cell(ran)
            compiled = _compiled_cell(ran)
        lines.append(
            f"{loss:<33} {backend:<17} {dtype:<8} {cases:>5} {len(ran):>6}  "
            f"{_fmt_err(errs['value']):>8} {_fmt_err(errs['grad']):>8} "
            f"{_fmt_err(errs['fd']):>8} {fmt_ulps(ulps[key]['ulps']):>7}  {result:<8} "
            f"{oracles:<30} {compiled}"
        )
    if any(c["failed"] and c["failed"] == c["secondary"] for c in ulps.values()):
        lines.append(_ELSEWHERE_NOTE)
    return "\n".join(lines)


#: Under the matrix when a row's failures all point at another backend.
_ELSEWHERE_NOTE = (
    "fail* N: the row's N failed checks all compare it with the backend at fault (see "
    "'Pointing at' / 'Suspect'); the row itself agrees with the reference or the majority"
)


def _result_cell(failed: int, secondary: int, markdown: bool = False) -> str:
    """``pass``, ``FAIL n``, or ``fail* n`` when every failure points at another backend."""
    if not failed:
        return "pass"
    if failed == secondary:
        return f"fail* {failed}"
    return f"**FAIL {failed}**" if markdown else f"FAIL {failed}"


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


def _format_tolerances(
    tolerance_lines: Sequence[str] | None = None, losses: Iterable[str] | None = None
) -> list[str]:
    """The tolerance table (with the exceptions that match ``losses``, default all)."""
    if tolerance_lines is not None:
        return list(tolerance_lines)
    names = None if losses is None else set(losses)
    exceptions = [
        e for e in _tol.EXCEPTIONS if names is None or any(fnmatchcase(n, e.loss) for n in names)
    ]
    lines = [
        "tolerances (float32/float64: norm-wise relative error; half: ulps; the same for every "
        f"backend; at most C = {_tol.CONDITIONING_FACTOR:g} x the case's conditioning spread "
        "where that is larger):"
    ]
    for dtype in _tol.TOLERANCES:
        lines.append(f"  {_tol.describe(dtype)}")
    if exceptions:
        lines.append("  exceptions:")
        for e in exceptions:
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
    tolerance_lines: Sequence[str] | None = None,
    verdicts: Sequence[Verdict] = (),
) -> str:
    """The matrix, the summary line, tolerances, reasons for checks not run, and failures.

    ``tolerance_lines`` replaces the description of the global tolerance table (a report of
    checks run with other bounds: :class:`lossbridge.conformance.ParityReport`); ``verdicts``
    (:class:`Verdict`) add the majority vote's suspects after the summary line.
    """
    out = [format_matrix(results, verdicts), "", _summary_line(results)]
    if any(r.status == "fail" for r in results):
        out.extend(_culprit_lines(results, verdicts))
    out.extend(_format_tolerances(tolerance_lines, {r.loss for r in results}))
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
            more = plural(len(failures) - max_failures, "more failure")
            out.append(f"\n... {more} (see --json)")
    return "\n".join(out)


def _summary_line(results: Sequence[Result]) -> str:
    s = summarize(results)
    return (
        f"{plural(s['cases'], 'case')} ({plural(s['losses'], 'loss')}) x "
        f"{plural(s['backends'], 'backend')} x {plural(s['dtypes'], 'dtype')} = "
        f"{plural(s['combinations'], 'combination')} ({s['combinations_not_run']} not run); "
        f"{plural(s['checks_run'], 'check')} run: {s['passed']} passed, {s['failed']} failed; "
        f"{plural(s['checks_not_run'], 'check')} not run"
    )


def _md(text: Any) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(
    results: Sequence[Result],
    *,
    title: str = "lossbridge conformance",
    timings: Mapping[str, float] | None = None,
    tolerance_lines: Sequence[str] | None = None,
    max_failures: int = 50,
    verdicts: Sequence[Verdict] = (),
) -> str:
    """A Markdown report: verdict and counts, the matrix as a table, tolerances, failures (each
    with its message and repro in a code block), and the checks not run with the reasons.

    ``verdicts`` (:class:`Verdict`) add the majority vote's suspects after the counts."""
    s = summarize(results)
    failures = [r for r in results if r.status == "fail"]
    verdict = "FAIL" if failures else ("PASS" if s["checks_run"] else "NOT RUN")
    out = [f"# {title}", "", f"**{verdict}**: {_summary_line(results)}", ""]
    if failures:
        for line in _culprit_lines(results, verdicts):
            out += [line, ""]
    out += ["## Matrix", "", _HALF_NOTE, ""]
    out.append(
        "| loss | backend | dtype | checks | fwd err | grad err | fd err | worst ulp | result |"
    )
    out.append("|---|---|---|---:|---:|---:|---:|---:|---|")
    ulps = worst_ulps(results, verdicts)
    groups: dict[tuple[str, str, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.loss, r.backend, r.dtype)].append(r)
    for key in _ordered_keys(results):
        ran = [r for r in groups[key] if not r.skipped]
        errs: dict[str, list[float]] = {"value": [], "grad": [], "fd": []}
        for r in ran:
            if r.error is not None and r.check in _tol.KINDS:
                errs[_tol.KINDS[r.check]].append(r.error)
        failed = sum(1 for r in ran if not r.passed)
        if not ran:
            result = f"not run ({ulps[key]['reason']})"
        else:
            result = _result_cell(failed, ulps[key]["secondary"], markdown=True)
        loss, backend, dtype = key
        out.append(
            f"| {_md(loss)} | {_md(backend)} | {dtype} | {len(ran)} | {_fmt_err(errs['value'])} "
            f"| {_fmt_err(errs['grad'])} | {_fmt_err(errs['fd'])} | "
            f"{fmt_ulps(ulps[key]['ulps'])} | {_md(result)} |"
        )
    if any(c["failed"] and c["failed"] == c["secondary"] for c in ulps.values()):
        out += ["", _ELSEWHERE_NOTE]
    tol_lines = _format_tolerances(tolerance_lines, {r.loss for r in results})
    out += ["", "## Tolerances", "", tol_lines[0], ""]
    for line in tol_lines[1:]:
        depth = max(0, (len(line) - len(line.lstrip())) // 2 - 1)
        out.append("  " * depth + f"- {line.strip()}")
    if timings:
        parts = ", ".join(
            f"{k} {v:.1f}s" for k, v in sorted(timings.items(), key=lambda kv: -kv[1])
        )
        out += ["", f"Time in checks: {sum(timings.values()):.1f}s ({parts})"]
    if failures:
        out += ["", f"## Failures ({len(failures)})"]
        for i, r in enumerate(failures[:max_failures], 1):
            out += ["", f"### {i}. `{r.check}`: {_md(r.loss)} [{r.case}] on {r.backend} {r.dtype}"]
            out += ["", r.message, ""]
            if r.repro:
                out += ["```python", r.repro, "```"]
        if len(failures) > max_failures:
            more = plural(len(failures) - max_failures, "more failure")
            out += ["", f"... {more} (see the JSON report)"]
    skipped = Counter((r.check, r.message) for r in results if r.skipped)
    if skipped:
        out += ["", "## Not run", "", "| checks | check | reason |", "|---:|---|---|"]
        for (check, why), n in sorted(skipped.items(), key=lambda kv: -kv[1]):
            out.append(f"| {n} | {check} | {_md(why)} |")
    return "\n".join(out) + "\n"


def to_junit(results: Sequence[Result], *, suite: str = "lossbridge.conformance") -> str:
    """JUnit XML: one ``testcase`` per loss, case, backend and dtype.

    A test case fails (one ``failure`` element holding every failed check's message and repro)
    when any of its checks failed, and is skipped when none of them ran. Its ``classname`` is
    ``<suite>.<loss>``, its name ``<case>[<backend>-<dtype>]``.
    """
    groups: dict[tuple[str, str, str, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.loss, r.case, r.backend, r.dtype)].append(r)
    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=suite)
    n = failed = skipped = 0
    for (loss, case, backend, dtype), rs in groups.items():
        n += 1
        tc = ET.SubElement(
            ts,
            "testcase",
            classname=f"{suite}.{loss}",
            name=f"{case}[{backend}-{dtype}]",
            time="0",
        )
        bad = [r for r in rs if r.status == "fail"]
        ran = [r for r in rs if not r.skipped]
        if bad:
            failed += 1
            f = ET.SubElement(
                tc,
                "failure",
                message=bad[0].message.splitlines()[0][:500] if bad[0].message else bad[0].check,
                type=",".join(dict.fromkeys(r.check for r in bad)),
            )
            f.text = "\n\n".join(f"{r.message}\n{r.repro}".strip() for r in bad)
        elif not ran:
            skipped += 1
            ET.SubElement(tc, "skipped", message=rs[0].message[:500])
        else:
            checks = ", ".join(f"{r.check}" for r in ran)
            ET.SubElement(tc, "system-out").text = f"passed: {checks}"
    for node in (root, ts):
        node.set("tests", str(n))
        node.set("failures", str(failed))
        node.set("errors", "0")
        node.set("skipped", str(skipped))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_json(
    results: Sequence[Result],
    path: str,
    *,
    timings: Mapping[str, float] | None = None,
    verdicts: Sequence[Verdict] = (),
) -> None:
    """Write the summary, tolerances, every record (and ``verdicts``) to ``path`` as JSON."""
    doc = {
        "summary": summarize(results),
        "verdicts": [v.to_dict() for v in verdicts],
        "tolerances": {k: vars(v) for k, v in _tol.TOLERANCES.items()},
        "exceptions": [vars(e) for e in _tol.EXCEPTIONS],
        "timings": dict(timings or {}),
        "results": [r.to_dict() for r in results],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)

"""Worker processes of ``python -m lossbridge.conformance --jobs N``.

Each worker is a fresh (spawned) interpreter that sets the frameworks up as the command does
(:func:`lossbridge.conformance.__main__.set_up_frameworks`), keeps one
:class:`~lossbridge.conformance.runner.Suite` and runs one (loss, case) task at a time: the
baselines of a case are per case and dtype, so splitting the work by case loses no sharing.
"""

from __future__ import annotations

from typing import Any

_SUITE: Any = None


def start(backends: list[str] | None, threads: int) -> None:
    """Set the worker up: the frameworks (``threads`` intra-op threads each) and its suite."""
    global _SUITE
    from lossbridge.conformance.__main__ import set_up_frameworks
    from lossbridge.conformance.runner import Suite

    set_up_frameworks(backends, threads)
    _SUITE = Suite()


def run_case(loss: str, label: str, options: dict[str, Any]) -> tuple[list, dict[str, float]]:
    """The records of one case of one loss, and the seconds this task added per family."""
    before = dict(_SUITE.timings)
    results = _SUITE.run(losses=[loss], cases=[label], **options)
    spent = {k: v - before.get(k, 0.0) for k, v in _SUITE.timings.items()}
    return results, {k: v for k, v in spent.items() if v}

"""nox sessions: tests per backend, the conformance matrix, lint, benchmarks.

Each ``tests-<backend>`` session installs only that framework (plus NumPy and array-api-strict,
which are always there), so a hidden import of another framework fails the run. torch is the
CPU build 2.13.0 (an unpinned torch pulls several GB of CUDA wheels).
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests", "conformance"]
nox.options.reuse_existing_virtualenvs = True

FRAMEWORK_EXTRA = {"numpy": None, "torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


@nox.session(name="tests")
def tests(session: nox.Session) -> None:
    """The whole test suite with every framework installed (what CI runs)."""
    session.install("-e", ".[all,test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(name="tests-backend")
@nox.parametrize("backend", list(FRAMEWORK_EXTRA))
def tests_backend(session: nox.Session, backend: str) -> None:
    """The test suite in an environment with one framework only."""
    extra = FRAMEWORK_EXTRA[backend]
    session.install("-e", f".[test,{extra}]" if extra else ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """The cross-backend conformance matrix over all four frameworks."""
    session.install("-e", ".[all,test]")
    session.run("python", "-m", "lossbridge.conformance", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the code base."""
    session.install("ruff")
    session.run(
        "ruff", "check", "src", "backends", "conformance", "tests", "benchmarks", "noxfile.py"
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ours vs each framework's native op, printed as ratios, JSON written.

    Every section (headline targets, the extended losses, memory, per-call overhead) in under
    ten minutes on a 2-core machine; ``nox -s bench -- --quick`` for a smoke run, ``-- --json
    PATH`` to choose the JSON file (default ``benchmark-results.json``). CTC has its own
    command, ``python -m benchmarks.ctc``.
    """
    session.install("-e", ".[all,test]")
    session.run("python", "-m", "benchmarks", *session.posargs)

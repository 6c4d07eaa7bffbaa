"""nox sessions: tests per backend, the conformance matrix, lint, benchmarks.

Each ``tests-<backend>`` session installs only that framework (plus NumPy and array-api-strict,
which are always there), so a hidden import of another framework fails the run. torch is the
CPU build 2.13.0, chosen by constraints-cpu.txt (an unconstrained torch pulls several GB of CUDA
wheels); the package's extras state ranges only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "conformance", "docs"]
nox.options.reuse_existing_virtualenvs = True

#: pip's constraints for every install of the package (the CPU-only torch CI tests).
CPU = ("-c", "constraints-cpu.txt")

FRAMEWORK_EXTRA = {"numpy": None, "torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}


@nox.session(name="tests")
def tests(session: nox.Session) -> None:
    """The whole test suite with every framework installed (what CI runs)."""
    session.install(*CPU, "-e", ".[all,test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(name="tests-backend")
@nox.parametrize("backend", list(FRAMEWORK_EXTRA))
def tests_backend(session: nox.Session, backend: str) -> None:
    """The test suite in an environment with one framework only."""
    extra = FRAMEWORK_EXTRA[backend]
    session.install(*CPU, "-e", f".[test,{extra}]" if extra else ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """The cross-backend conformance matrix over all four frameworks."""
    session.install(*CPU, "-e", ".[all,test]")
    session.run("python", "-m", "lossbridge.conformance", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The API reference site and the guides, warnings as errors, into ``docs/_build/html``.

    Sphinx with the MyST Markdown guides and the furo theme (``docs/conf.py``); nothing is
    fetched at build time. No framework is installed: the dialects import none. ``nox -s docs
    -- -E`` rebuilds from scratch (more arguments go to ``sphinx-build``).
    """
    session.install(*CPU, "-e", ".[docs]")
    strict = ("-W", "--keep-going", "-b", "html")
    session.run("python", "-m", "sphinx", *strict, *session.posargs, "docs", "docs/_build/html")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the code base; mypy --strict over src/lossbridge ([tool.mypy], pyproject.toml)."""
    # the package for its dependencies (NumPy's stubs, array-api-compat): mypy reads src/
    session.install(*CPU, "-e", ".", "ruff", "mypy>=1.10")
    session.run(
        "ruff", "check", "src", "backends", "conformance", "tests", "benchmarks", "noxfile.py"
    )
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: ours vs each framework's native op, printed as ratios, JSON written.

    Every section (headline targets, the extended losses, memory, per-call overhead) in under
    ten minutes on a 2-core machine; ``nox -s bench -- --quick`` for a smoke run, ``-- --json
    PATH`` to choose the JSON file (default ``benchmark-results.json``). CTC has its own
    command, ``python -m benchmarks.ctc``.
    """
    session.install(*CPU, "-e", ".[all,test]")
    session.run("python", "-m", "benchmarks", *session.posargs)


#: The standard's own test suite (data-apis/array-api-tests, MIT), kept read-only beside the
#: repository; ``ARRAY_API_TESTS_DIR`` points elsewhere.
ROOT = Path(__file__).resolve().parent
ARRAY_API_TESTS = Path(
    os.environ.get("ARRAY_API_TESTS_DIR", ROOT.parent / "shared" / "vendor" / "array-api-tests")
)
#: What the TensorFlow namespace deliberately leaves out, with reasons (one test id a line).
TF_XFAILS = ROOT / "backends" / "tensorflow" / "tensorflow-xfails.txt"
#: Lets the suite's shape helpers iterate ``tf.TensorShape`` (see its docstring).
AAT_PLUGIN = ROOT / "tests" / "array_api_tests_plugin.py"


@nox.session(name="array_api_tests")
def array_api_tests(session: nox.Session) -> None:
    """The whole array API test suite on ``lossbridge.backends.tensorflow``.

    Run from a temporary copy (the vendored suite is read-only; pytest's cache and Hypothesis'
    example database are written beside the copy), with tests/array_api_tests_plugin.py and
    backends/tensorflow/tensorflow-xfails.txt. ``--max-examples 5`` takes about three minutes on
    2 cores, most of it in the xfailed tests (each fails, then Hypothesis shrinks it); ``nox -s
    array_api_tests -- array_api_tests --max-examples 100`` for a thorough run, ``--
    array_api_tests/test_sorting_functions.py`` (any pytest arguments, paths relative to the
    suite) for one file. tests/test_array_api_tests.py runs the suite in CI with the xfailed
    tests skipped.
    """
    session.install(*CPU, "-e", ".[tensorflow,array-api-tests]")
    suite = Path(session.create_tmp()).resolve() / "array-api-tests"
    shutil.rmtree(suite, ignore_errors=True)
    shutil.copytree(ARRAY_API_TESTS, suite, ignore=shutil.ignore_patterns(".git", ".hypothesis"))
    shutil.copy(AAT_PLUGIN, suite)
    args = session.posargs or ["array_api_tests", "--max-examples", "5"]
    session.chdir(suite)
    session.run(
        "python",
        "-m",
        "pytest",
        "-rxXfE",
        "-p",
        AAT_PLUGIN.stem,
        "--disable-deadline",
        # one argument: pytest would take a separate value for a path to test, before the
        # suite's conftest.py defines the option
        f"--xfails-file={TF_XFAILS}",
        *args,
        env={
            "ARRAY_API_TESTS_MODULE": "lossbridge.backends.tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": "2",
        },
    )

"""pytest plugin: numerical-parity checks of your own code as three-line tests.

Installed with lossbridge (entry point ``pytest11``: ``lossbridge``), so every pytest run has it;
loading it imports nothing beyond this module (no framework, not even NumPy). It adds:

the ``parity`` fixture
    ``parity(fn, inputs=None, **options)`` runs :func:`lossbridge.conformance.check` with the
    command line's defaults and fails the test, naming the backend, dtype, check, worst element
    and a repro, unless every check that ran passed; ``parity.port(fn_a, fn_b, ...)`` does the
    same for :func:`lossbridge.conformance.check_port`; ``parity.check(...)`` and
    ``parity.check_port(...)`` return the :class:`~lossbridge.conformance.ParityReport`
    without asserting. When nothing could run (no requested backend installed, the device
    absent) the test is skipped with the reasons.

``assert_parity`` (``from lossbridge.conformance import assert_parity``)
    The same assertion without the fixture (and without the command-line defaults).

command-line options (defaults; a test's own arguments win)
    ``--parity-backends=numpy,torch``, ``--parity-dtypes=float32``, ``--parity-device=cuda``,
    ``--parity-skip-missing-device``, ``--parity-no-compile``, and ``--parity-report=DIR``: a
    Markdown report per parity test. ``parity_backends``, ``parity_dtypes``, ``parity_device``
    and ``parity_skip_missing_device`` can also be set as ini options.

    A device that torch, JAX or TensorFlow lacks (``--parity-device=cuda`` on a machine without
    CUDA) fails the test, naming each backend and why, unless ``--parity-skip-missing-device``
    (or ``missing_device="skip"`` in the call) asks to report them as not run: then a test
    where nothing could run is skipped with the reasons.

A test::

    from lossbridge.conformance import spec
    from mypackage.losses import focal_dice

    def test_focal_dice(parity):
        parity(focal_dice, specs={"logits": spec((4, 3, 8)), "mask": spec((4, 3, 8), "binary")})
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

__all__ = ["Parity", "parity"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lossbridge-parity", "lossbridge numerical-parity checks")
    group.addoption(
        "--parity-backends",
        metavar="LIST",
        default=None,
        help="comma-separated backends for the parity fixture (default: every installed one)",
    )
    group.addoption(
        "--parity-dtypes",
        metavar="LIST",
        default=None,
        help="comma-separated dtypes for the parity fixture: float32, float64, float16, "
        "bfloat16 (default: float32,float64)",
    )
    group.addoption(
        "--parity-device",
        metavar="DEVICE",
        default=None,
        help="device for the parity fixture's arrays: cuda, gpu, cpu, cuda:1 (default: each "
        "framework's default); a backend without it fails the test unless "
        "--parity-skip-missing-device",
    )
    group.addoption(
        "--parity-skip-missing-device",
        action="store_true",
        default=None,
        help="report backends without --parity-device as not run (a test where nothing could "
        "run is skipped) instead of failing the test",
    )
    group.addoption(
        "--parity-no-compile",
        action="store_true",
        default=False,
        help="skip the compiled modes (jax.jit, tf.function, torch.compile) in parity checks",
    )
    group.addoption(
        "--parity-report",
        metavar="DIR",
        default=None,
        help="write a Markdown report per parity check into DIR",
    )
    parser.addini("parity_backends", "default of --parity-backends", default="")
    parser.addini("parity_dtypes", "default of --parity-dtypes", default="")
    parser.addini("parity_device", "default of --parity-device", default="")
    parser.addini(
        "parity_skip_missing_device",
        "default of --parity-skip-missing-device",
        type="bool",
        default=False,
    )


def _split(value: str | None) -> list[str] | None:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    return items or None


class Parity:
    """The ``parity`` fixture's object: parity checks with the command line's defaults.

    Parameters
    ----------
    defaults : dict
        Options applied unless a call gives its own (``backends``, ``dtypes``, ``device``,
        ``compiled``, ``missing_device``).
    report_dir : str, optional
        Where to write a Markdown report of each check.
    test_name : str
        The requesting test's name (for the report file names).
    """

    def __init__(
        self, defaults: dict[str, Any], report_dir: str | None = None, test_name: str = "parity"
    ) -> None:
        self.defaults = defaults
        self.report_dir = report_dir
        self.test_name = test_name
        self.reports: list[Any] = []

    def _options(self, options: dict[str, Any], port: bool) -> dict[str, Any]:
        merged = {k: v for k, v in self.defaults.items() if v is not None}
        if port:
            merged.pop("backends", None)
            merged.pop("compiled", None)
        merged.update(options)
        return merged

    def _keep(self, report: Any) -> Any:
        self.reports.append(report)
        if self.report_dir:
            os.makedirs(self.report_dir, exist_ok=True)
            stem = re.sub(r"[^\w.-]+", "_", f"{self.test_name}-{report.name}")[:150]
            report.to_markdown(os.path.join(self.report_dir, f"{stem}.md"))
        return report

    def _assert(self, report: Any) -> Any:
        __tracebackhide__ = True
        if not report.ran:
            pytest.skip(report.failure_message())
        return report.assert_ok()

    def _run(self, run: Any, *args: Any, **options: Any) -> Any:
        """``run(*args, **options)``; a missing device fails the test with its message."""
        __tracebackhide__ = True
        from lossbridge.conformance.drivers import DeviceUnavailable

        try:
            return self._keep(run(*args, **options))
        except DeviceUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)

    def check(self, fn: Any, inputs: Any = None, **options: Any) -> Any:
        """:func:`lossbridge.conformance.check` with the defaults; returns the report."""
        __tracebackhide__ = True
        from lossbridge.conformance.parity import check

        return self._run(check, fn, inputs, **self._options(options, port=False))

    def check_port(self, fn_a: Any, fn_b: Any, inputs: Any = None, **options: Any) -> Any:
        """:func:`lossbridge.conformance.check_port` with the defaults; returns the report."""
        __tracebackhide__ = True
        from lossbridge.conformance.parity import check_port

        return self._run(check_port, fn_a, fn_b, inputs, **self._options(options, port=True))

    def __call__(self, fn: Any, inputs: Any = None, **options: Any) -> Any:
        """Check ``fn`` and fail the test unless every check that ran passed."""
        __tracebackhide__ = True
        return self._assert(self.check(fn, inputs, **options))

    def port(self, fn_a: Any, fn_b: Any, inputs: Any = None, **options: Any) -> Any:
        """Porting check of ``fn_b`` against ``fn_a``; fail the test unless it passes."""
        __tracebackhide__ = True
        return self._assert(self.check_port(fn_a, fn_b, inputs, **options))


@pytest.fixture
def parity(request: pytest.FixtureRequest) -> Parity:
    """Numerical-parity checks across backends, dtypes and devices (see
    :mod:`lossbridge.conformance.pytest_plugin`): ``parity(fn, inputs, ...)`` asserts."""
    config = request.config

    def option(name: str) -> str | None:
        value = config.getoption(f"--parity-{name}")
        return value if value is not None else (config.getini(f"parity_{name}") or None)

    dtypes = _split(option("dtypes"))
    skip_missing = config.getoption("--parity-skip-missing-device")
    if skip_missing is None:
        skip_missing = config.getini("parity_skip_missing_device")
    defaults = {
        "backends": _split(option("backends")),
        "dtypes": tuple(dtypes) if dtypes else None,
        "device": option("device"),
        "compiled": False if config.getoption("--parity-no-compile") else None,
        "missing_device": "skip" if skip_missing else None,
    }
    return Parity(defaults, config.getoption("--parity-report"), request.node.name)

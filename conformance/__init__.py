"""lossbridge's cross-backend conformance suite, and numerical-parity checks for your own code.

One registry entry per loss (:data:`REGISTRY`) drives every check: values against a float64 NumPy
reference, backend against backend, the ``torch.nn.functional`` oracle, gradients across torch,
JAX and TensorFlow and against finite differences, output type/dtype/device, and the compiled
modes (``jax.jit``, ``tf.function`` with and without ``jit_compile``, ``torch.compile``).

Run it with ``python -m lossbridge.conformance`` (or the ``lossbridge-conformance`` script), or
from Python::

    from lossbridge.conformance import run
    results = run(losses=["cross_entropy"], backends=["numpy", "torch"])
    failures = [r for r in results if r.status == "fail"]

The same machinery checks any function written against the array API (:func:`check`), or two
implementations of one function in two frameworks (:func:`check_port`); see ``docs/parity.md``::

    from lossbridge.conformance import check, spec
    report = check(my_loss, specs={"pred": spec((8, 5)), "target": spec((8,), "labels", 5)})
    report.assert_ok()

Importing this package imports nothing but itself: its names are loaded on first use (so the
pytest plugin, :mod:`lossbridge.conformance.pytest_plugin`, costs nothing at pytest start-up),
and each backend's framework is imported when a check first needs it. The package never changes
global framework state: the application does (the command line enables ``jax_enable_x64`` and
imports torch before tensorflow).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from lossbridge.conformance.drivers import (
        DRIVERS,
        DeviceUnavailable,
        Driver,
        available_drivers,
        get_driver,
    )
    from lossbridge.conformance.parity import (
        ParityReport,
        Spec,
        assert_parity,
        check,
        check_port,
        draw_inputs,
        spec,
    )
    from lossbridge.conformance.registry import (
        ORACLES,
        REGISTRY,
        Case,
        Entry,
        Oracle,
        get_case,
        get_entry,
    )
    from lossbridge.conformance.runner import (
        DTYPES,
        HALF_DTYPES,
        Mismatch,
        Result,
        Suite,
        build_repro,
        compare,
        compare_detail,
        compare_ulps,
        relative_error,
        round_inputs,
        run,
    )
    from lossbridge.conformance.tolerances import EXCEPTIONS, TOLERANCES, Loosened, Tolerance

#: Each public name and the submodule that defines it.
_EXPORTS = {
    "DRIVERS": "drivers",
    "DeviceUnavailable": "drivers",
    "Driver": "drivers",
    "available_drivers": "drivers",
    "get_driver": "drivers",
    "ParityReport": "parity",
    "Spec": "parity",
    "assert_parity": "parity",
    "check": "parity",
    "check_port": "parity",
    "draw_inputs": "parity",
    "spec": "parity",
    "ORACLES": "registry",
    "REGISTRY": "registry",
    "Case": "registry",
    "Entry": "registry",
    "Oracle": "registry",
    "get_case": "registry",
    "get_entry": "registry",
    "DTYPES": "runner",
    "HALF_DTYPES": "runner",
    "Mismatch": "runner",
    "Result": "runner",
    "Suite": "runner",
    "build_repro": "runner",
    "compare": "runner",
    "compare_detail": "runner",
    "compare_ulps": "runner",
    "relative_error": "runner",
    "round_inputs": "runner",
    "run": "runner",
    "EXCEPTIONS": "tolerances",
    "TOLERANCES": "tolerances",
    "Loosened": "tolerances",
    "Tolerance": "tolerances",
}

__all__ = [
    "Case",
    "DRIVERS",
    "DTYPES",
    "DeviceUnavailable",
    "Driver",
    "EXCEPTIONS",
    "Entry",
    "HALF_DTYPES",
    "Loosened",
    "Mismatch",
    "ORACLES",
    "Oracle",
    "ParityReport",
    "REGISTRY",
    "Result",
    "Spec",
    "Suite",
    "TOLERANCES",
    "Tolerance",
    "assert_parity",
    "available_drivers",
    "build_repro",
    "check",
    "check_port",
    "compare",
    "compare_detail",
    "compare_ulps",
    "draw_inputs",
    "get_case",
    "get_driver",
    "get_entry",
    "relative_error",
    "round_inputs",
    "run",
    "spec",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # The registry first: it adds the loss families' tolerance exceptions to EXCEPTIONS.
    importlib.import_module(f"{__name__}.registry")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

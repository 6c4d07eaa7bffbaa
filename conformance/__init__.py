"""lossbridge's cross-backend conformance suite.

One registry entry per loss (:data:`REGISTRY`) drives every check: values against a float64 NumPy
reference, backend against backend, the ``torch.nn.functional`` oracle, gradients across torch,
JAX and TensorFlow and against finite differences, output type/dtype/device, and the compiled
modes (``jax.jit``, ``tf.function`` with and without ``jit_compile``, ``torch.compile``).

Run it with ``python -m lossbridge.conformance`` (or the ``lossbridge-conformance`` script), or
from Python::

    from lossbridge.conformance import run
    results = run(losses=["cross_entropy"], backends=["numpy", "torch"])
    failures = [r for r in results if r.status == "fail"]

Importing this package imports no framework; each backend's framework is imported when a check
first needs it. The package never changes global framework state: the application does (the
command line enables ``jax_enable_x64`` and imports torch before tensorflow).
"""

from lossbridge.conformance.drivers import DRIVERS, Driver, available_drivers, get_driver
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
    Result,
    Suite,
    build_repro,
    compare,
    relative_error,
    round_inputs,
    run,
)
from lossbridge.conformance.tolerances import EXCEPTIONS, TOLERANCES, Loosened, Tolerance

__all__ = [
    "DRIVERS",
    "DTYPES",
    "EXCEPTIONS",
    "ORACLES",
    "REGISTRY",
    "TOLERANCES",
    "Case",
    "Driver",
    "Entry",
    "Loosened",
    "Oracle",
    "Result",
    "Suite",
    "Tolerance",
    "available_drivers",
    "build_repro",
    "compare",
    "get_case",
    "get_driver",
    "get_entry",
    "relative_error",
    "round_inputs",
    "run",
]

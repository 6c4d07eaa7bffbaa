"""Shared fixtures: one ``backend`` fixture over every installed framework.

The library never flips global framework state; the test process does, before anything imports
jax: JAX float64 needs ``jax_enable_x64``. torch is imported before tensorflow (both bundle
native libraries; this order is the one known to work in one process).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Persistent compilation caches (of the test run, never of the library): JAX compiles each eager
# op per shape and dtype, and the conformance suite's many small shapes made XLA compilation
# about half of its JAX time; torch.compile's inductor reuses its FX graphs. Under
# LOSSBRIDGE_TEST_CACHE (default ~/.cache/lossbridge-tests; "off" for none), shared with the
# subprocesses the tests start. A cold run (an empty or no cache) passes the same tests, slower:
# README gives both times.
_CACHE = os.environ.get("LOSSBRIDGE_TEST_CACHE", os.path.expanduser("~/.cache/lossbridge-tests"))
if _CACHE != "off":
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(_CACHE, "jax"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(_CACHE, "torchinductor"))

import importlib.util  # noqa: E402

if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401

if importlib.util.find_spec("jax") is not None:
    import jax

    jax.config.update("jax_enable_x64", True)

import pytest  # noqa: E402

from lossbridge.conformance.drivers import available_drivers  # noqa: E402

BACKENDS = [d.name for d in available_drivers()]
AUTODIFF_BACKENDS = [d.name for d in available_drivers() if d.autodiff]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A :class:`lossbridge.conformance.drivers.Driver` for each installed backend."""
    from lossbridge.conformance.drivers import get_driver

    return get_driver(request.param)


@pytest.fixture(params=AUTODIFF_BACKENDS)
def ad_backend(request):
    """Drivers of the backends with autodiff (torch, jax, tensorflow)."""
    from lossbridge.conformance.drivers import get_driver

    return get_driver(request.param)


# Hypothesis profiles for the property suite (tests/test_properties.py): ``ci`` by default, a
# few derandomized examples per loss (the file stays near a minute on one core); ``nightly``
# draws many more. Choose with HYPOTHESIS_PROFILE=nightly or pytest --hypothesis-profile=nightly.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass
else:
    _slow_ok = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile(
        "ci",
        max_examples=2,
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=True,
        suppress_health_check=_slow_ok,
    )
    settings.register_profile(
        "nightly",
        max_examples=200,
        deadline=None,
        print_blob=True,
        suppress_health_check=_slow_ok,
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

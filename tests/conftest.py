"""Shared fixtures: one ``backend`` fixture over every installed framework.

The library never flips global framework state; the test process does, before anything imports
jax: JAX float64 needs ``jax_enable_x64``. torch is imported before tensorflow (both bundle
native libraries; this order is the one known to work in one process).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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

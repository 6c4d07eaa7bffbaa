"""JAX's fast paths behind :func:`lossbridge.backends.fused` (imported only with JAX).

XLA fuses the generic array-API forms already (``jax.jit`` ratios are at parity), so only the
absolute value gets a native form: ``jnp.abs`` has gradient 1 at 0 in JAX, so the generic
``x * sign(x)`` pays a product rule for torch's gradient 0; a ``custom_jvp`` gives the same
gradient with one ``abs`` forward and one ``sign`` backward.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["abs0", "abs_error"]


@jax.custom_jvp
def abs0(x: Any) -> Any:
    """``|x|`` with gradient ``sign(x)`` (0 at 0, like torch)."""
    return jnp.abs(x)


@abs0.defjvp
def _abs0_jvp(primals: Any, tangents: Any) -> Any:
    (x,) = primals
    (t,) = tangents
    return jnp.abs(x), jnp.sign(x) * t


def abs_error(a: Any, b: Any) -> Any:
    """``|a - b|`` with gradient ``sign(a - b)``."""
    return abs0(a - b)

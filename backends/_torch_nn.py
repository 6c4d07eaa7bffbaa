"""What ``lossbridge.nn`` needs of torch to make its losses ``torch.nn.Module``\\ s.

The losses in ``src/`` touch no framework: the torch side of ``lossbridge.nn`` (the Module base,
weights as buffers, the linear layer of ``LinearCrossEntropyLoss``) lives here. Nothing here
imports torch unless torch is already imported, but for :func:`module_class` and
:func:`as_torch`, which a caller reaches only with a torch object in hand.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["as_torch", "is_tensor", "linear_layer", "loaded_module_class", "module_class"]


def loaded_module_class() -> type | None:
    """``torch.nn.Module`` while torch is imported, else None (torch is never imported)."""
    nn = getattr(sys.modules.get("torch"), "nn", None)
    module = getattr(nn, "Module", None)
    return module if isinstance(module, type) else None


def module_class() -> type:
    """``torch.nn.Module`` (imports torch: for unpickling a module-based loss)."""
    import torch

    return torch.nn.Module


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (False while torch is not imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def as_torch(host: Any) -> Any:
    """A NumPy array as a CPU torch tensor (a copy)."""
    import numpy as np
    import torch

    return torch.from_numpy(np.array(host, copy=True))


def linear_layer(
    in_features: int, out_features: int, bias: bool, device: Any, dtype: Any, loss: str
) -> Any:
    """A ``torch.nn.Linear`` with torch's initialisation; ``dtype`` None, a torch dtype, a
    NumPy dtype or its name (a floating one: ``TypeError`` naming ``loss`` otherwise)."""
    torch = sys.modules["torch"]
    if dtype is not None and not isinstance(dtype, torch.dtype):
        import numpy as np

        try:
            name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
        except TypeError:
            name = None
        out = getattr(torch, name, None) if name else None
        if not isinstance(out, torch.dtype) or not out.is_floating_point:
            raise TypeError(f"{loss}: dtype must be a floating dtype; got {dtype!r}")
        dtype = out
    return torch.nn.Linear(in_features, out_features, bias=bias, device=device, dtype=dtype)

"""Types for the public signatures: the caller's array, array-like data, reductions.

A loss takes the arrays of one framework and returns that framework's array, so the prediction
is typed with a type variable, :data:`ArrayT`, that any type binds::

    def mse_loss(input: ArrayT, target: ArrayLike, reduction: Reduction = "mean", ...) -> ArrayT

``torch.Tensor`` in, ``torch.Tensor`` out; ``jax.Array`` in, ``jax.Array`` out; an
``numpy.ndarray`` in, a ``numpy.ndarray`` out as far as a type checker knows (at run time a
reduced NumPy loss is a NumPy scalar, ``numpy.float64``, as NumPy's own reductions are; the
scalar has the array's methods). TensorFlow ships no type information, so its tensors are
``Any`` to a type checker and so is the loss.

Why a free type variable and not a Protocol: the one attribute the array API standard gives
every array, ``__array_namespace__``, is missing from ``torch.Tensor`` and ``tf.Tensor`` (the
namespaces come from array-api-compat and :mod:`lossbridge.backends`), and
``array-api-typing``, the standard's typing package, is a placeholder with no release yet.
SciPy (``scipy/_lib/_array_api.py``) makes the same choice with ``Array: TypeAlias = Any``.

Targets, weights and other data arguments are :data:`ArrayLike`: an array of the prediction's
framework, a NumPy array, a Python number or a (nested) list or tuple of numbers
(:func:`lossbridge._inputs.setup` converts them). That set has no static type short of
``Any`` (no Protocol matches a TensorFlow tensor), so :data:`ArrayLike` is ``Any``, named for
the reader; :func:`lossbridge._validation.check_array_like` refuses strings and dicts at run
time.

Nothing here imports a framework, and nothing here exists for the interpreter beyond a few
names: the annotations are strings (``from __future__ import annotations``) everywhere.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias, TypeVar

__all__ = [
    "ArrayLike",
    "ArrayT",
    "KLDivReduction",
    "Reduction",
    "SegmentationActivation",
]

#: The caller's array type: a loss returns an array of the framework its prediction is of.
#: ``bound=Any`` and not ``object``: inside a loss the prediction is used as an array
#: (``input.shape``, ``-input``) before the namespace's functions take over; a caller's type
#: binds it all the same (``torch.Tensor`` in, ``torch.Tensor`` out).
ArrayT = TypeVar("ArrayT", bound=Any)

#: Array data: an array of the prediction's framework, a NumPy array, a Python number, or a
#: (nested) list or tuple of numbers. ``Any``: no static type describes every framework's arrays.
ArrayLike: TypeAlias = Any

#: torch's reductions, the ``reduction`` argument of every core loss.
Reduction: TypeAlias = Literal["none", "mean", "sum"]

#: :func:`lossbridge.kl_div`'s reductions: torch's and ``'batchmean'`` (sum / batch size).
KLDivReduction: TypeAlias = Literal["none", "mean", "sum", "batchmean"]

#: The segmentation losses' ``activation``: over the channel axis, or ``None`` for probabilities.
SegmentationActivation: TypeAlias = Literal["softmax", "sigmoid"] | None

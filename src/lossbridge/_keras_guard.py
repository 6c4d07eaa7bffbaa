"""Stop a core loss that Keras calls as ``fn(y_true, y_pred)``.

``model.compile(loss=fn)`` and ``metrics=[fn]`` wrap a plain function in Keras's
``LossFunctionWrapper`` / ``MeanMetricWrapper``, which call ``fn(y_true, y_pred)`` and then
weight and reduce what it returns. A core loss takes ``(input, target)`` in torch's order and
reduces the batch itself: called so, it takes the labels for predictions (a binary
cross-entropy of 48 for Keras's 0.78) and Keras weights an already reduced value (``mse_loss``
with sample weights: 2.7405 for Keras's 2.7161), with no error. Keras offers no hook on that path
(``keras.losses.get`` returns any callable as it is and ``compile_utils.get_loss`` wraps it), so
the core loss's entry (:func:`lossbridge._precision.half_precision`) looks at its caller:
:func:`check_caller` raises where it is one of those two Keras methods.

Cost per call (measured on the 2-core CI machine): 0.2 us with neither torch nor Keras
imported, 0.4 us with torch (``torch.compiler.is_compiling()``), 0.55 us with Keras too (one
frame look-up more), against 20 us or more for the smallest loss call. Inside ``torch.compile``
(which cannot trace ``sys._getframe``) the check is skipped, and it asks torch first so that a
compiled graph guards on nothing of Keras (importing Keras later recompiles nothing); there,
Keras's torch backend with ``jit_compile=True`` would not be stopped. No framework is imported
here.
"""

from __future__ import annotations

import sys

from lossbridge.backends import torch_compiling

__all__ = ["check_caller"]

#: The Keras methods that call a plain loss function as ``fn(y_true, y_pred)``: module name to
#: function name (``LossFunctionWrapper.call``, ``MeanMetricWrapper.update_state``).
_KERAS_CALLERS = {
    "keras.src.losses.losses": "call",
    "keras.src.metrics.reduction_metrics": "update_state",
}

#: The ``lossbridge.keras`` loss to use instead of a core loss, where one exists.
_KERAS_EQUIVALENT = {
    "binary_cross_entropy": "BinaryCrossentropy()",
    "binary_cross_entropy_with_logits": "BinaryCrossentropy(from_logits=True)",
    "cross_entropy": "SparseCategoricalCrossentropy(from_logits=True) or "
    "lossbridge.keras.CategoricalCrossentropy(from_logits=True)",
    "kl_div": "KLDivergence()",
    "mse_loss": "MeanSquaredError()",
    "l1_loss": "MeanAbsoluteError()",
    "mape_loss": "MeanAbsolutePercentageError()",
    "msle_loss": "MeanSquaredLogarithmicError()",
    "huber_loss": "Huber()",
    "log_cosh_loss": "LogCosh()",
    "poisson_nll_loss": "Poisson()",
    "hinge_loss": "Hinge()",
    "squared_hinge_loss": "SquaredHinge()",
    "categorical_hinge_loss": "CategoricalHinge()",
    "cosine_similarity_loss": "CosineSimilarity()",
    "dice_loss": "Dice()",
    "tversky_loss": "Tversky()",
    "circle_loss": "Circle()",
    "ctc_loss": "CTC()",
    "sigmoid_focal_loss": "BinaryFocalCrossentropy(from_logits=True)",
    "softmax_focal_loss": "CategoricalFocalCrossentropy(from_logits=True)",
    "generalized_cross_entropy": "CategoricalGeneralizedCrossEntropy()",
}


def keras_misuse_message(name: str) -> str:
    """Why the core loss ``name`` cannot be given to Keras, and what to use instead."""
    instead = _KERAS_EQUIVALENT.get(name)
    use = f"lossbridge.keras.{instead}" if instead else "a loss of lossbridge.keras"
    return (
        "Keras calls a loss function as fn(y_true, y_pred) and then weights and reduces what "
        "it returns; lossbridge's core losses take (input, target) in torch's order and reduce "
        f"the batch themselves, so Keras would get a wrong number. Use {use}, which has "
        "Keras's argument order, reductions and numbers, or call this loss yourself in its "
        f"order: loss=lambda y_true, y_pred: lossbridge.{name}(y_pred, y_true, "
        "reduction='none')"
    )


def check_caller(name: str, depth: int = 2) -> None:
    """Raise ``TypeError`` if the frame ``depth`` levels up is Keras calling a loss function.

    Parameters
    ----------
    name : str
        The core loss's public name, for the message.
    depth : int, default 2
        Frames between this function and the loss's caller (2: called from the loss's entry).
    """
    if torch_compiling():  # first: a trace of torch.compile guards on no more
        return  # torch.compile cannot trace sys._getframe
    if "keras.src.losses.losses" not in sys.modules:
        return
    frame = sys._getframe(depth)
    if _KERAS_CALLERS.get(frame.f_globals.get("__name__", "")) == frame.f_code.co_name:
        raise TypeError(keras_misuse_message(name))

"""Losses by name: :func:`lossbridge.get` and :func:`lossbridge.available`.

The names are the modules' own ``__all__`` (``lossbridge`` for the core, ``lossbridge.keras``,
``lossbridge.optax``, ``lossbridge.nn`` for the dialects) less the exports that are not losses,
listed in :data:`NOT_LOSSES`. Nothing here imports a framework: the core and the dialect modules
import none.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

import lossbridge  # the package's DIALECTS, read at call time (the package imports this module)

#: Exports of each module that are not losses (``""``: the core), left out of :func:`available`.
NOT_LOSSES: dict[str, frozenset[str]] = {
    # linear_cross_entropy's options; a distance the margin losses use; the count of a mean
    "": frozenset({"LinearCrossEntropyOptions", "mean_denominator", "pairwise_distance"}),
    # the base classes and keras.losses's get/serialize/deserialize
    "keras": frozenset({"Loss", "LossFunctionWrapper", "deserialize", "get", "serialize"}),
    # a factory of losses and a label transform
    "optax": frozenset({"make_fenchel_young_loss", "smooth_labels"}),
    "nn": frozenset(),
    "monai": frozenset(),
    # the sparsemax activation (tfa.activations.sparsemax), which SparsemaxLoss uses
    "tfa": frozenset({"sparsemax"}),
}


def _module(dialect: str) -> Any:
    return importlib.import_module(f"lossbridge.{dialect}" if dialect else "lossbridge")


def _names(dialect: str) -> tuple[str, ...]:
    return tuple(sorted(set(_module(dialect).__all__) - NOT_LOSSES[dialect]))


def available(dialect: str | None = None) -> tuple[str, ...]:
    """The names of every loss, sorted: the core's, or one dialect's.

    Parameters
    ----------
    dialect : {None, 'keras', 'optax', 'nn', 'monai', 'tfa'}, optional
        None (default): the core losses (``lossbridge.<name>``). A dialect: the losses of
        ``lossbridge.<dialect>``, classes and functions, unqualified (``'Huber'``,
        ``'huber'``); :func:`get` takes them qualified (``'keras.Huber'``).

    Returns
    -------
    tuple of str
        Sorted names; each one, qualified by its dialect if any, is a name :func:`get` takes.

    Raises
    ------
    ValueError
        ``dialect`` is not None nor one of ``'keras'``, ``'optax'``, ``'nn'``, ``'monai'``,
        ``'tfa'``.
    """
    if dialect is not None and dialect not in lossbridge.DIALECTS:
        raise ValueError(
            f"available: dialect={dialect!r} is not a dialect; expected None (the core "
            f"losses) or one of {', '.join(repr(d) for d in lossbridge.DIALECTS)}"
        )
    return _names(dialect or "")


def get(name: str) -> Callable[..., Any]:
    """The loss a name stands for: a core loss, or a dialect's loss qualified by its dialect.

    Parameters
    ----------
    name : str
        A core loss's name, ``lossbridge.<name>`` (``'cross_entropy'``), or a dialect's,
        qualified: ``'keras.<Name>'`` / ``'keras.<name>'``, ``'optax.<name>'``,
        ``'nn.<Name>'`` (``'keras.Huber'``, ``'optax.softmax_cross_entropy'``,
        ``'nn.CrossEntropyLoss'``). :func:`available` lists them.

    Returns
    -------
    callable
        The core function, or the dialect's class or function (the object itself, not an
        instance).

    Raises
    ------
    TypeError
        ``name`` is not a string.
    ValueError
        No loss has that name; the message names the nearest names (``did you mean``).
    """
    if not isinstance(name, str):
        raise TypeError(
            f"get: name must be a str naming a loss (see lossbridge.available()), got "
            f"{type(name).__name__} {name!r}"
        )
    dialect, _, short = name.rpartition(".")
    if (dialect == "" or dialect in lossbridge.DIALECTS) and short in _names(dialect):
        loss: Callable[..., Any] = getattr(_module(dialect), short)
        return loss
    raise ValueError(
        f"get: name={name!r} is not a lossbridge loss; expected a core loss's name "
        f"(lossbridge.available()) or a dialect's qualified by it, e.g. 'keras.Huber' "
        f"(lossbridge.available('keras'), 'optax', 'nn'){_did_you_mean(name)}"
    )


def _did_you_mean(name: str) -> str:
    """``". Did you mean 'x' or 'y'?"``: the names nearest ``name``, case ignored (else those
    containing it), or ``""``."""
    names = list(_names(""))
    for dialect in lossbridge.DIALECTS:
        names += [f"{dialect}.{n}" for n in _names(dialect)]
    by_lower: dict[str, list[str]] = {}
    for n in names:  # 'keras.Huber' and 'keras.huber' are both near 'keras.hubr'
        by_lower.setdefault(n.lower(), []).append(n)
    query = name.lower()
    near = difflib.get_close_matches(query, list(by_lower), n=3, cutoff=0.6)
    if not near and len(query) >= 3:  # 'mse': 'mse_loss', 'nn.MSELoss'
        near = sorted((key for key in by_lower if query in key), key=len)[:3]
    found = [repr(n) for key in near for n in by_lower[key]][:4]
    if not found:
        return ""
    return f". Did you mean {' or '.join(found) if len(found) < 3 else ', '.join(found)}?"

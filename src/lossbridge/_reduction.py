"""Reductions shared by every loss.

torch's conventions: ``'none'`` returns the per-element loss, ``'sum'`` its sum, ``'mean'`` its
mean, or, for weighted losses, the weighted mean ``sum(w * l) / sum(w)`` (the caller passes the
denominator). ``'batchmean'`` (kl_div only) divides the sum by the size of the first axis.
"""

from __future__ import annotations

from typing import Any


def reduce(xp: Any, loss: Any, reduction: str, *, denominator: Any = None) -> Any:
    """Reduce ``loss`` as ``reduction`` says.

    Parameters
    ----------
    xp : namespace
    loss : array
        The unreduced loss.
    reduction : {'none', 'mean', 'sum', 'batchmean'}
        Already validated by the caller.
    denominator : array or int, optional
        For ``'mean'``: divide the sum by this instead of the element count (weighted means,
        means over non-ignored items). An empty selection gives NaN, as in torch.
    """
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    if reduction == "mean":
        if denominator is None:
            return xp.mean(loss)
        return xp.sum(loss) / denominator
    if reduction == "batchmean":
        # kl_div passes input.shape[0] (torch divides by the input's, not the loss's, batch).
        n = denominator if denominator is not None else (loss.shape[0] if loss.ndim else 1)
        return xp.sum(loss) / n
    raise AssertionError(f"unvalidated reduction {reduction!r}")  # pragma: no cover

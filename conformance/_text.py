"""Small text helpers for the conformance reports (no imports, so every module may use them)."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is exactly 1.

    Parameters
    ----------
    n : int
    noun : str
        The singular.
    nouns : str, optional
        The plural (default: ``noun`` + ``'es'`` after s, x, ch or sh, else + ``'s'``).

    Returns
    -------
    str

    Examples
    --------
    >>> plural(1, "loss"), plural(2, "loss"), plural(0, "check"), plural(3, "entry", "entries")
    ('1 loss', '2 losses', '0 checks', '3 entries')
    """
    if n == 1:
        return f"{n} {noun}"
    if nouns is None:
        nouns = noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{n} {nouns}"

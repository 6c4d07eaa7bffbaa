"""The conformance matrix as a heatmap: worst error in ulps per loss x backend and dtype.

One row per loss (or checked function), one column per backend and dtype. A cell's colour is the
worst error of the value and gradient checks that ran there (eager, cross-backend, compiled; not
the finite-difference checks, whose error is the difference quotient's), in units of the last
place of the dtype at the largest expected magnitude (:attr:`Result.ulps`; float16 and
bfloat16: at each element's own magnitude, as their bounds count them), on a logarithmic
scale; the number is written in the cell. A cell with a failed check gets a red frame and
``FAIL``; a cell whose only failures are cross-backend checks of a backend that agrees with the
float64 reference (so the baseline backend is off, see
:func:`lossbridge.conformance.report.secondary_failures`) gets a dashed orange frame; a cell
where nothing ran is grey, ``n/a``.

Needs matplotlib (``pip install lossbridge[plot]``). It is drawn with matplotlib's object API on
the Agg canvas: no ``pyplot``, no global backend or style change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lossbridge.conformance.drivers import DRIVERS
from lossbridge.conformance.report import fmt_ulps, worst_ulps
from lossbridge.conformance.runner import DTYPES, Result

__all__ = ["draw_heatmap", "heatmap_grid"]

_DTYPE_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16"}


def heatmap_grid(
    results: Sequence[Result],
) -> tuple[list[str], list[tuple[str, str]], list[list[dict[str, Any]]]]:
    """Rows (losses), columns (backend, dtype) and the cells of :func:`draw_heatmap`.

    Each cell is a dict from :func:`lossbridge.conformance.report.worst_ulps` (``ulps``,
    ``ran``, ``failed``, ``secondary``, ``reason``); combinations absent from ``results`` have
    ``ran == 0``.
    """
    cells = worst_ulps(results)
    rows = list(dict.fromkeys(r.loss for r in results))
    order = {b: i for i, b in enumerate(DRIVERS)}
    present = {(b, dt) for _, b, dt in cells}
    cols = sorted(
        present,
        key=lambda c: (order.get(c[0].split(" ")[0], 99), c[0], DTYPES.index(c[1])),
    )
    empty = {"ulps": None, "ran": 0, "failed": 0, "secondary": 0, "reason": "not run"}
    grid = [[cells.get((loss, b, dt), empty) for b, dt in cols] for loss in rows]
    return rows, cols, grid


def draw_heatmap(
    results: Sequence[Result], path: str, *, title: str | None = None, dpi: int = 130
) -> str:
    """Draw the heatmap of ``results`` to ``path`` (any format matplotlib writes: .png, .svg,
    .pdf); returns ``path``.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If ``results`` is empty.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the heatmap needs matplotlib: pip install 'lossbridge[plot]' (or matplotlib>=3.7)"
        ) from exc
    if not results:
        raise ValueError("no results to draw")
    import matplotlib as mpl
    import numpy as np

    rows, cols, grid = heatmap_grid(results)
    finite = [
        c["ulps"]
        for line in grid
        for c in line
        if c["ulps"] is not None and math.isfinite(c["ulps"]) and c["ulps"] > 0
    ]
    vmin = 0.5
    vmax = max([100.0, *(u * 1.5 for u in finite)])
    values = np.full((len(rows), len(cols)), np.nan)
    for i, line in enumerate(grid):
        for j, c in enumerate(line):
            u = c["ulps"]
            if u is not None:
                values[i, j] = min(max(u, vmin), vmax) if not math.isnan(u) else vmax

    width = min(3.2 + 0.95 * len(cols), 40.0)
    height = min(max(2.9, 2.1 + 0.34 * len(rows)), 60.0)
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = mpl.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    norm = LogNorm(vmin=vmin, vmax=vmax)
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap=cmap, norm=norm, aspect="auto", interpolation="none"
    )
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels([f"{b}\n{_DTYPE_SHORT.get(dt, dt)}" for b, dt in cols], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.set_xticks(np.arange(-0.5, len(cols)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows)), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)

    failed_cells = secondary_cells = 0
    for i, line in enumerate(grid):
        for j, c in enumerate(line):
            if not c["ran"]:
                label, colour, weight = "n/a", "#555555", "normal"
            else:
                label = fmt_ulps(c["ulps"]) if c["ulps"] is not None else "-"
                shade = norm(values[i, j]) if not np.isnan(values[i, j]) else 0.0
                colour = "black" if shade > 0.6 else "white"
                weight = "normal"
            if c["failed"] > c["secondary"]:
                failed_cells += 1
                label = f"FAIL\n{label}" if label not in ("-", "n/a") else "FAIL"
                weight = "bold"
                frame = {"edgecolor": "#e31a1c", "lw": 2.4}
            elif c["failed"]:
                secondary_cells += 1
                label = f"{label}\n≠ baseline"
                frame = {"edgecolor": "#ff9f1c", "lw": 1.8, "linestyle": "--"}
            else:
                frame = None
            if frame:
                ax.add_patch(Rectangle((j - 0.46, i - 0.44), 0.92, 0.88, fill=False, **frame))
            ax.text(
                j, i, label, ha="center", va="center", fontsize=7.5, color=colour, weight=weight
            )
    bar = fig.colorbar(image, ax=ax, shrink=min(1.0, 6.0 / max(len(rows), 1)) if rows else 1.0)
    bar.set_label("worst error, ulps (log)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    n_fail = sum(1 for r in results if r.status == "fail")
    heading = title or "lossbridge conformance: worst error in ulps per loss x backend"
    if n_fail:
        verdict = f"{n_fail} failed checks: red frame = failing cell ({failed_cells})"
        if secondary_cells:
            verdict += (
                f", orange = agrees with the float64 reference but not with a failing baseline "
                f"backend ({secondary_cells})"
            )
    else:
        verdict = "every check that ran passed"
    ax.set_title(
        f"{heading}\n{verdict}\nvalues and gradients (finite differences excluded); grey: not run",
        fontsize=9,
        pad=10,
    )
    fig.savefig(path)
    return path

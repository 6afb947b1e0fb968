"""The measured accuracy of a formula over the grid of ``adamw-rms accuracy``, as a heat map.

Reads the data only (:mod:`adamw_rms.data`), never the measurement code.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["accuracy_grid", "draw_accuracy_map", "read_accuracy_rows"]

#: Colour bins (relative error, in %) matching the "within 1%, 3%, 10%" tables; errors beyond
#: ±10% take the outermost colours.
BOUNDARIES_PERCENT = (-10.0, -3.0, -1.0, 1.0, 3.0, 10.0)


def read_accuracy_rows(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The rows of ``accuracy.csv`` (default: the copy shipped in ``adamw_rms.data``)."""
    from importlib import resources

    from ..data import read_csv

    if path is not None:
        return read_csv(Path(path))
    with resources.as_file(resources.files("adamw_rms.data").joinpath("accuracy.csv")) as file:
        return read_csv(file)


def accuracy_grid(
    rows: list[dict[str, Any]],
    *,
    formula: str = "theta_rms",
    bias_correction: bool = True,
    decay: float = 1e-3,
    init_rms: float = 0.0,
) -> tuple[np.ndarray, list[str], list[str]]:
    """Relative errors as a matrix: rows (β₁, β₂), columns (SNR, t·ηλ).

    Returns the matrix (NaN where the grid has no point) and the row and column labels.
    """
    from ..data import GRID

    chosen = {
        (r["beta1"], r["beta2"], r["snr"], r["t_decay"]): r["rel_error"]
        for r in rows
        if r["formula"] == formula
        and r["bias_correction"] == float(bias_correction)
        and r["decay"] == decay
        and r["init_rms"] == init_rms
    }
    if not chosen:
        raise ValueError(
            f"no accuracy points for formula={formula!r}, bias_correction={bias_correction}, "
            f"decay={decay:g}, init_rms={init_rms:g}"
        )
    row_keys = list(itertools.product(GRID["beta1"], GRID["beta2"]))
    column_keys = list(itertools.product(GRID["snr"], GRID["t_decay"]))
    matrix = np.full((len(row_keys), len(column_keys)), np.nan)
    for i, (beta1, beta2) in enumerate(row_keys):
        for j, (snr, t_decay) in enumerate(column_keys):
            matrix[i, j] = chosen.get((beta1, beta2, snr, t_decay), np.nan)
    row_labels = [f"β₁={b1:g}, β₂={b2:g}" for b1, b2 in row_keys]
    column_labels = [f"{t:g}" for _, t in column_keys]
    return matrix, row_labels, column_labels


def draw_accuracy_map(
    axis: Any, rows: list[dict[str, Any]], *, colorbar: bool = True, **where: Any
) -> Any:
    """Draw :func:`accuracy_grid` as a heat map binned at ±1%, ±3%, ±10%.

    Columns are grouped by SNR (labelled above) with t·ηλ along each group; ``where`` selects
    the formula, bias correction, ηλ and initial RMS (see :func:`accuracy_grid`).
    """
    import matplotlib.colors as colors

    from ..data import GRID
    from .style import LABELS

    matrix, row_labels, column_labels = accuracy_grid(rows, **where)
    palette = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]
    norm = colors.BoundaryNorm(BOUNDARIES_PERCENT, len(palette), extend="both")
    image = axis.imshow(
        100 * matrix,
        cmap=colors.ListedColormap(palette),
        norm=norm,
        aspect="auto",
        interpolation="nearest",
    )
    axis.set_yticks(range(len(row_labels)), row_labels)
    axis.set_xticks(range(len(column_labels)), column_labels)
    axis.set_xlabel(LABELS["decay_time"] + ", grouped by SNR")
    axis.grid(False)
    group = len(GRID["t_decay"])
    top = axis.secondary_xaxis("top")
    top.set_xticks(
        [index * group + (group - 1) / 2 for index in range(len(GRID["snr"]))],
        [f"SNR = {snr:g}" for snr in GRID["snr"]],
    )
    top.tick_params(length=0)
    for index in range(1, len(GRID["snr"])):
        axis.axvline(index * group - 0.5, color="white", lw=2)
    for index in range(1, len(GRID["beta1"])):
        axis.axhline(index * len(GRID["beta2"]) - 0.5, color="white", lw=2)
    if colorbar:
        bar = axis.figure.colorbar(image, ax=axis, ticks=BOUNDARIES_PERCENT, shrink=0.85)
        bar.set_label("predicted / simulated − 1 (%)")
    return image

r"""The benchmark's figures: one per run, one panel per matrix, drawn from the study's files.

Each panel shows the tensor's measured RMS (black), the iid theory (dashed blue) and the
monitor's forecasts from 30% and 50% of the run (dashed orange and red, from the step they
were made at, marked by a dotted line), as :mod:`.curves` records them; the title comes from
the run's rows of ``realnet.csv``. The same rows give byte-identical files
(:func:`adamw_rms.plot.style.save_figure`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..plot.style import LABELS, save_figure, styled
from .train import FORECAST_POINTS

__all__ = ["FORECAST_COLORS", "IID_COLOR", "plot_run", "run_figure"]

#: A colour per forecast point (30%, 50%); more points take the next tab10 colours.
FORECAST_COLORS = ("tab:orange", "tab:red", "tab:purple", "tab:brown")
IID_COLOR = "tab:blue"
# Twelve many-panel figures: a lower resolution than the package's single plots keeps the
# committed files small.
DPI = 90


def _column(rows: list[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([row[key] for row in rows], dtype=float)


def run_figure(table: list[dict[str, Any]], curves: list[dict[str, Any]]) -> Any:
    """The figure of one run from its rows of ``realnet.csv`` (``table``) and of
    ``realnet-curves.csv`` (``curves``); a matplotlib ``Figure``, not attached to pyplot."""
    from matplotlib.figure import Figure

    matrices = [row for row in table if row["matrix"]]
    if not matrices:
        raise ValueError("table must hold the rows of one run with at least one matrix")
    first = matrices[0]
    columns = min(4, len(matrices))
    rows = math.ceil(len(matrices) / columns)
    with styled():
        figure = Figure(figsize=(2.9 * columns, 2.3 * rows + 0.5), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for axis, matrix in zip(axes, matrices, strict=False):
            name = matrix["tensor"]
            points = [row for row in curves if row["tensor"] == name]
            steps = _column(points, "step")
            axis.plot(steps, _column(points, "measured"), color="black", lw=1.1,
                      label="measured")  # fmt: skip
            axis.plot(steps, _column(points, "iid"), color=IID_COLOR, ls="--",
                      label="iid theory")  # fmt: skip
            for color, fraction in zip(FORECAST_COLORS, FORECAST_POINTS, strict=False):
                values = _column(points, f"forecast_{round(100 * fraction)}")
                made = np.isfinite(values)
                if not made.any():
                    continue
                axis.plot(steps[made], values[made], color=color, ls="--",
                          label=f"forecast from {fraction:.0%}")  # fmt: skip
                axis.axvline(steps[made][0], color=color, lw=0.6, ls=":")
            axis.set_title(f"{name} ({matrix['shape']})")
            axis.set_xlabel(LABELS["step"])
        for axis in axes[len(matrices) :]:
            axis.set_visible(False)
        axes[0].set_ylabel("weight RMS")
        axes[0].legend(loc="best")
        figure.suptitle(
            f"{first['problem']}, {first['schedule']} schedule (peak lr {first['peak_lr']:g}, "
            f"weight decay {first['weight_decay']:g}, {first['steps']} steps, "
            f"seed {first['seed']})"
        )
    return figure


def plot_run(
    table: list[dict[str, Any]], curves: list[dict[str, Any]], folder: str | os.PathLike[str]
) -> Path:
    """Write ``<folder>/realnet-<problem>-<schedule>.png`` atomically; return its path."""
    import matplotlib

    first = table[0]
    target = Path(folder) / f"realnet-{first['problem']}-{first['schedule']}.png"
    with styled(), matplotlib.rc_context({"savefig.dpi": DPI}):
        return save_figure(run_figure(table, curves), target)

"""Figures (extra ``plot``): one style (:mod:`.style`) for notebooks, ``check --plot`` and
``make figures`` (:mod:`adamw_rms.figures`)."""

from .accuracy_map import accuracy_grid, draw_accuracy_map, read_accuracy_rows
from .style import LABELS, formula_color, require_matplotlib, save_figure, se_band, styled
from .trajectory import describe_config, draw_schedule, draw_trajectory, plot_trajectory

__all__ = [
    "LABELS",
    "accuracy_grid",
    "describe_config",
    "draw_accuracy_map",
    "draw_schedule",
    "draw_trajectory",
    "formula_color",
    "plot_trajectory",
    "read_accuracy_rows",
    "require_matplotlib",
    "save_figure",
    "se_band",
    "styled",
]

"""The source's formula and the corrected one against the measured grid, point by point.

Reads the data only (:mod:`adamw_rms.data`), never the measurement code.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["draw_formula_errors"]

# Each formula's points sit a little left or right of their t_decay, to keep both visible.
_OFFSET = {"theta_rms": 0.92, "theta_rms_corrected": 1.08}
_STYLE = {
    "theta_rms": {"color": "0.55", "marker": "o", "label": "eq:theta-rms (the source)"},
    "theta_rms_corrected": {"color": "C3", "marker": "D", "label": "corrected"},
}


def draw_formula_errors(axis: Any, rows: list[dict[str, Any]], *, bias_correction: bool) -> None:
    """predicted / simulated - 1 (%) of both formulas at every grid point, against t_decay.

    Every beta1, beta2, SNR, decay and init_rms of the grid (with weight decay) at one
    bias-correction setting; the
    y axis is symmetric-log (the source's formula is off by up to -86% early without bias
    correction, the corrected one within 1%); the band is the corrected formula's bar, +-0.5%.
    """
    for name, style in _STYLE.items():
        chosen = [
            r
            for r in rows
            if r["formula"] == name
            and bool(float(r["bias_correction"])) == bias_correction
            and float(r["weight_decay"]) > 0  # the no-decay runs are a study of their own
        ]
        t = np.array([float(r["t_decay"]) for r in chosen]) * _OFFSET[name]
        error = 100 * np.array([float(r["rel_error"]) for r in chosen])
        axis.scatter(t, error, s=9, alpha=0.45, linewidths=0, **style)
    axis.axhspan(-0.5, 0.5, color="C3", alpha=0.12, linewidth=0)
    axis.axhline(0.0, color="k", linewidth=0.6)
    axis.set_xscale("log")
    axis.set_yscale("symlog", linthresh=1.0)
    axis.set_xlabel("t · lr · weight_decay (timescales)")
    axis.grid(True, which="major", alpha=0.3)

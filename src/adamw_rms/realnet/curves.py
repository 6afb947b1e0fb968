r"""What the figures draw, as rows: each matrix's RMS trajectories at about 100 steps per run.

Per run, matrix and recorded step: the measured RMS, the iid theory and the forecast from each
forecast point. The iid theory is the monitor's own ``iid_rms`` series (what the report's
tables show) where the run has one, else
:func:`adamw_rms.estimators.weight_rms_trajectory` (``method="mean_field"``, SNR 0) along the
recorded rates from the measured initial RMS; at step 0 it is the initial RMS. A forecast made
after ``k`` steps starts at step ``k`` from the measured RMS there and is empty (NaN) before.

The study writes these rows to ``realnet-curves.csv`` (6 significant digits: what a figure
can show) and draws the figures from the file it wrote, so that the committed CSV holds the
committed figures' data.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from .train import FORECAST_POINTS

__all__ = ["CURVE_COLUMNS", "POINTS", "curve_rows", "read_curves", "write_curves"]

#: Recorded steps per run (plus each forecast point, so that a forecast starts where it was made).
POINTS = 100
#: ``problem, schedule, tensor, step, measured, iid, forecast_<p>...`` (``p`` in percent).
CURVE_COLUMNS = (
    "problem", "schedule", "tensor", "step", "measured", "iid",
    *(f"forecast_{round(100 * f)}" for f in FORECAST_POINTS),
)  # fmt: skip


def _iid(run: dict[str, Any], i: int, beta1: float = 0.9) -> np.ndarray:
    """The iid RMS of tensor ``i`` at steps ``0..steps``."""
    from ..estimators import weight_rms_trajectory

    start = float(run["measured"][0, i])
    series = (run.get("report_series") or {}).get("iid_rms")
    steps = np.asarray(run.get("report_steps", []), dtype=int)
    if series is not None and steps.size == run["steps"] and np.isfinite(series[:, i]).any():
        out = np.full(run["steps"] + 1, np.nan)
        out[steps] = series[:, i]
        out[0] = start
        return out
    rms = weight_rms_trajectory(run["lr"], run["weight_decay"], beta1=beta1, init_rms=start,
                                method="mean_field")  # fmt: skip
    return np.concatenate([[start], rms])


def curve_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The curve rows (:data:`CURVE_COLUMNS`) of every matrix of a :func:`.train_run` result."""
    total = run["steps"]
    starts = [forecast["step"] for forecast in run["forecasts"].values()]
    grid = np.unique(np.concatenate([np.linspace(0, total, POINTS + 1).round(), starts]))
    out = []
    for i, (name, decayed) in enumerate(zip(run["names"], run["decayed"], strict=True)):
        if not decayed:
            continue
        iid = _iid(run, i)
        for step in grid.astype(int):
            row = {"problem": run["problem"], "schedule": run["schedule"], "tensor": name,
                   "step": int(step), "measured": float(run["measured"][step, i]),
                   "iid": float(iid[step])}  # fmt: skip
            for fraction in FORECAST_POINTS:
                forecast = run["forecasts"].get(fraction)
                value = math.nan
                if forecast is not None and name in forecast["rms"]:
                    at = forecast["step"]
                    if step == at:
                        value = float(run["measured"][at, i])
                    elif step > at:
                        value = float(forecast["rms"][name][step - at - 1])
                row[f"forecast_{round(100 * fraction)}"] = value
            out.append(row)
    return out


def write_curves(rows: list[dict[str, Any]]) -> str:
    """The CSV text of curve ``rows`` (numbers with 6 significant digits, ``\\n`` line ends)."""
    from ..data import write_csv

    text = [{k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            for row in rows]  # fmt: skip
    return write_csv(text, CURVE_COLUMNS)


def read_curves(path: str | Path) -> list[dict[str, Any]]:
    """Rows written by :func:`write_curves`: ``step`` an int, the RMS columns floats."""
    out = []
    with Path(path).open(encoding="utf-8", newline="") as stream:
        for raw in csv.DictReader(stream):
            row: dict[str, Any] = {k: raw[k] for k in ("problem", "schedule", "tensor")}
            row["step"] = int(raw["step"])
            row.update({k: float(v) for k, v in raw.items() if k not in row})
            out.append(row)
    return out

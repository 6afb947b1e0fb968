r"""The benchmark's figures: one per run, one panel per matrix.

Each panel shows the tensor's measured RMS after every step (black), the iid theory along the
run's recorded learning rates (:func:`adamw_rms.estimators.weight_rms_trajectory`,
``method="mean_field"``, SNR 0, from the measured initial RMS; dashed blue) and the monitor's
forecasts from 30% and 50% of the run (dashed orange and red, from the step they were made at).
Seeded runs give byte-identical files (:func:`adamw_rms.plot.style.save_figure`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..plot.style import LABELS, save_figure, styled

__all__ = ["FORECAST_COLORS", "iid_trajectories", "plot_run", "run_figure"]

#: A colour per forecast point (30%, 50%); more points take the next tab10 colours.
FORECAST_COLORS = ("tab:orange", "tab:red", "tab:purple", "tab:brown")
IID_COLOR = "tab:blue"
# At most this many points per drawn curve: the PNG stays small and looks the same.
POINTS = 600
DPI = 90


def _thin(count: int) -> np.ndarray:
    return np.unique(np.linspace(0, count - 1, min(count, POINTS)).round().astype(int))


def iid_trajectories(run: dict[str, Any], beta1: float = 0.9) -> dict[str, tuple[Any, Any]]:
    """The iid theory's RMS of every decayed tensor of ``run``: ``{name: (steps, rms)}``.

    The monitor's own ``iid_rms`` series where the run has one (what the report's tables
    show); else :func:`adamw_rms.estimators.weight_rms_trajectory` along the recorded rates
    from the measured initial RMS, after each step ``1..steps``.
    """
    from ..estimators import weight_rms_trajectory

    series = (run.get("report_series") or {}).get("iid_rms")
    curves = {}
    for i, (name, decayed) in enumerate(zip(run["names"], run["decayed"], strict=True)):
        if not decayed:
            continue
        if series is not None and np.isfinite(series[:, i]).any():
            curves[name] = (np.asarray(run["report_steps"]), series[:, i])
            continue
        rms = weight_rms_trajectory(
            run["lr"],
            run["weight_decay"],
            beta1=beta1,
            init_rms=float(run["measured"][0, i]),
            method="mean_field",
        )
        curves[name] = (np.arange(1, run["steps"] + 1), rms)
    return curves


def run_figure(run: dict[str, Any]) -> Any:
    """The figure of one run (a matplotlib ``Figure``, not attached to pyplot)."""
    from matplotlib.figure import Figure

    matrices = [i for i, decayed in enumerate(run["decayed"]) if decayed]
    columns = min(4, len(matrices))
    rows = math.ceil(len(matrices) / columns)
    iid = iid_trajectories(run)
    steps = np.arange(run["steps"] + 1)
    with styled():
        figure = Figure(figsize=(2.9 * columns, 2.3 * rows + 0.5), layout="constrained")
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for axis, i in zip(axes, matrices, strict=False):
            name = run["names"][i]
            keep = _thin(len(steps))
            axis.plot(steps[keep], run["measured"][keep, i], color="black", lw=1.1,
                      label="measured")  # fmt: skip
            at, rms = iid[name]
            keep = _thin(len(at))
            axis.plot(at[keep], rms[keep], color=IID_COLOR, ls="--", label="iid theory")
            for color, (fraction, forecast) in zip(
                FORECAST_COLORS, sorted(run["forecasts"].items()), strict=False
            ):
                predicted = forecast["rms"].get(name)
                if predicted is None:
                    continue
                at = forecast["step"]
                keep = _thin(len(predicted))
                axis.plot(at + 1 + keep, predicted[keep], color=color, ls="--",
                          label=f"forecast from {fraction:.0%}")  # fmt: skip
                axis.axvline(at, color=color, lw=0.6, ls=":")
            shape = "x".join(str(n) for n in run["shapes"][i])
            axis.set_title(f"{name} ({shape})")
            axis.set_xlabel(LABELS["step"])
        for axis in axes[len(matrices) :]:
            axis.set_visible(False)
        axes[0].set_ylabel("weight RMS")
        axes[0].legend(loc="best")
        figure.suptitle(
            f"{run['problem']}, {run['schedule']} schedule (peak lr {run['peak_lr']:g}, "
            f"weight decay {run['weight_decay']:g}, {run['steps']} steps, seed {run['seed']})"
        )
    return figure


def plot_run(run: dict[str, Any], folder: str | os.PathLike[str]) -> Path:
    """Write ``<folder>/realnet-<problem>-<schedule>.png`` atomically; return its path."""
    import matplotlib

    target = Path(folder) / f"realnet-{run['problem']}-{run['schedule']}.png"
    # Twelve many-panel figures: a lower resolution than the package's single plots keeps the
    # committed files small.
    with styled(), matplotlib.rc_context({"savefig.dpi": DPI}):
        return save_figure(run_figure(run), target)

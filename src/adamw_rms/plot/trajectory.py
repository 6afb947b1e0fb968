"""Weight RMS over a run: the simulation inside its ±2 SE band, each applicable formula a line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .style import LABELS, formula_color, save_figure, se_band, styled

__all__ = ["describe_config", "draw_schedule", "draw_trajectory", "plot_trajectory"]


def _describe(value: Any) -> str:
    """A number, or a per-step schedule by its peak and its last value (a warmup's first value
    is no description of the run: 1.5e-07 for a 2000-step warmup to 3e-4)."""
    if np.ndim(value) == 0:
        return f"{float(value):g}"
    array = np.asarray(value)
    if np.all(array == array[0]):
        return f"{array[0]:g}"
    return f"peak {array.max():g}→{array[-1]:g}"


def describe_config(config: Any) -> str:
    """A one-line title: the hyperparameters that set the weight RMS.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.plot import describe_config
    >>> from adamw_rms.simulation import SimulationConfig
    >>> lr = np.concatenate([np.linspace(1e-6, 3e-4, 20), np.linspace(3e-4, 3e-5, 80)])
    >>> describe_config(SimulationConfig(lr=lr, weight_decay=0.1, steps=100, n=10))
    'η=peak 0.0003→3e-05, λ=0.1, β=(0.9, 0.999), SNR=0, init RMS=0, n=10'
    """
    return (
        f"η={_describe(config.lr)}, λ={_describe(config.weight_decay)}, "
        f"β=({config.beta1:g}, {config.beta2:g}), SNR={config.snr:g}, "
        f"init RMS={config.init_rms:g}, n={config.n}"
    )


def draw_trajectory(
    axis: Any,
    result: Any,
    *,
    formulas: Sequence[str] | None = None,
    title: bool = True,
    legend: bool = True,
) -> list[str]:
    """Draw ``result``'s weight RMS and the formulas that apply to its configuration.

    Parameters
    ----------
    axis : matplotlib.axes.Axes
        Where to draw.
    result : SimulationResult
        A simulation with several recorded steps.
    formulas : sequence of str, optional
        Names from :data:`adamw_rms.formulas.FORMULAS` to draw (default: every one that
        applies and predicts the weight RMS).
    title, legend : bool
        Add the configuration as the title, and a legend.

    Returns
    -------
    list of str
        The names of the formulas drawn.
    """
    from ..formulas import FORMULAS

    config = result.config
    steps = np.asarray(result.steps)
    se_band(
        axis, steps, result.weight_rms, result.weight_rms_se, label=f"simulation ({result.engine})"
    )
    drawn = []
    for formula in FORMULAS:
        if formula.target != "weight_rms" or formula.applies(config) is not None:
            continue
        if formulas is not None and formula.name not in formulas:
            continue
        predicted = formula.predictions(config, steps)
        axis.plot(steps, predicted, ls="--", color=formula_color(formula.name), label=formula.label)
        drawn.append(formula.name)
    axis.set_xlabel(LABELS["step"])
    axis.set_ylabel(LABELS["weight_rms"])
    if title:
        axis.set_title(describe_config(config))
    if legend:
        axis.legend()
    return drawn


def draw_schedule(axes: Sequence[Any], result: Any, **options: Any) -> list[str]:
    """A scheduled run on two axes: the learning rate (and decay) above, the weight RMS below."""
    lr_axis, rms_axis = axes
    config = result.config
    steps = np.arange(1, config.steps + 1)
    lr = np.broadcast_to(config.lr, steps.shape)
    lr_axis.plot(steps, lr, color="tab:gray", label=r"$\eta_t$")
    lr_axis.set_ylabel(LABELS["lr"])
    lr_axis.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    if np.ndim(config.weight_decay):
        decay_axis = lr_axis.twinx()
        decay_axis.plot(steps, config.weight_decay, color="tab:pink", ls=":", label=r"$\lambda_t$")
        decay_axis.set_ylabel(LABELS["weight_decay"])
        decay_axis.grid(False)
    lr_axis.set_title(describe_config(config))
    return draw_trajectory(rms_axis, result, title=False, **options)


def plot_trajectory(result: Any, path: str | os.PathLike[str]) -> Path:
    """Draw ``result``'s weight RMS over its recorded steps with every applicable formula.

    A scheduled run gets a second panel with its learning rate. The file is written
    atomically (a temporary file in the same folder, then a rename); the format follows the
    suffix (``.png``, ``.pdf``, ``.svg``).
    """
    with styled():
        # A bare Figure (no pyplot): no backend is chosen, no window opens, nothing is kept.
        from matplotlib.figure import Figure

        if result.config.has_schedule:
            figure = Figure(figsize=(7, 5.6), layout="constrained")
            axes = figure.subplots(2, 1, sharex=True, height_ratios=(1, 2.2))
            draw_schedule(axes, result)
        else:
            figure = Figure(figsize=(7, 4.2), layout="constrained")
            draw_trajectory(figure.subplots(), result)
        return save_figure(figure, path)

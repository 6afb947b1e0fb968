"""Trajectory plots: simulation with a ±2 SE band and each formula as a line (extra ``plot``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_trajectory", "require_matplotlib"]


def require_matplotlib() -> None:
    """ImportError with the install hint when matplotlib is missing (checked before a run)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError("--plot needs matplotlib: pip install 'adamw-rms[plot]'") from error


def _describe(value: Any) -> str:
    """A number, or a per-step schedule by its first and last values."""
    if np.ndim(value) == 0:
        return f"{float(value):g}"
    array = np.asarray(value)
    return f"{array[0]:g}..{array[-1]:g} ({array.size} steps)"


def plot_trajectory(result: Any, path: str | os.PathLike[str]) -> Path:
    """Draw ``result``'s weight RMS over its recorded steps with every applicable formula.

    The file is written atomically (a temporary file in the same folder, then a rename); the
    format follows the suffix (``.png``, ``.pdf``, ``.svg``).
    """
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .comparison import FORMULAS

    target = Path(path)
    config = result.config
    steps = result.steps
    figure, axis = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    low = result.weight_rms - 2 * result.weight_rms_se
    high = result.weight_rms + 2 * result.weight_rms_se
    axis.fill_between(steps, low, high, color="0.75", label="simulation ± 2 SE")
    axis.plot(
        steps, result.weight_rms, color="black", lw=1.2, label=f"simulation ({result.engine})"
    )
    for formula in FORMULAS:
        if formula.target != "weight_rms" or formula.applies(config) is not None:
            continue
        predicted = np.array([formula.predict(config, int(s)) for s in steps], dtype=float)
        axis.plot(steps, predicted, lw=1.2, ls="--", label=formula.label)
    axis.set_xlabel("step")
    axis.set_ylabel("weight RMS")
    axis.set_title(
        f"lr={_describe(config.lr)}, wd={_describe(config.weight_decay)}, "
        f"betas=({config.beta1:g}, {config.beta2:g}), SNR={config.snr:g}, n={config.n}",
        fontsize=9,
    )
    axis.legend(fontsize=8)
    suffix = target.suffix or ".png"
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}-", suffix=suffix, dir=target.parent
    )
    os.close(handle)
    try:
        figure.savefig(temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        plt.close(figure)
    return target

"""One look for every figure: notebooks, ``check --plot`` and ``make figures`` share it.

The conventions: axes are labelled with the quantity, its symbol and (where there is one) its
unit; a simulation is drawn as a black line inside a grey band of ±2 standard errors; each formula
is a dashed line in a colour that belongs to it everywhere; legends are always shown.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FORMULA_COLORS",
    "LABELS",
    "RC_PARAMS",
    "formula_color",
    "require_matplotlib",
    "save_figure",
    "se_band",
    "styled",
]

#: Axis labels (quantity, symbol, unit) used across the package's figures.
LABELS: dict[str, str] = {
    "step": r"step $t$",
    "weight_rms": r"weight RMS $\Vert\theta_t\Vert_{\mathrm{RMS}}$",
    "update_rms": r"update RMS $\Vert u_t\Vert_{\mathrm{RMS}}$",
    "lr": r"learning rate $\eta_t$",
    "weight_decay": r"weight decay $\lambda_t$",
    "decay_time": r"time in decay units $t\,\eta\lambda$",
    "rel_error": r"relative error (predicted / simulated $-$ 1)",
}

#: A fixed colour per formula (matplotlib's tab10), so a formula looks the same in every figure.
FORMULA_COLORS: dict[str, str] = {
    "theta_rms": "tab:blue",
    "theta_rms_mu0": "tab:cyan",
    "equilibrium": "tab:green",
    "no_decay": "tab:olive",
    "large_snr": "tab:purple",
    "quick": "tab:red",
    "update_rms": "tab:brown",
    "schedule_mean_field": "tab:blue",
    "schedule_series": "tab:orange",
    "schedule_ode": "tab:green",
    "schedule_single_epoch": "tab:red",
    "sign_arcsine": "tab:blue",
    "sign_source": "tab:red",
}

#: Matplotlib settings applied inside :func:`styled`.
RC_PARAMS: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.3,
    # Deterministic output: no timestamps, and hashes of glyph subsets do not vary by run.
    "svg.hashsalt": "adamw-rms",
}

SIMULATION_COLOR = "black"
BAND_COLOR = "0.78"


def require_matplotlib() -> None:
    """ImportError with the install hint when matplotlib is missing (checked before a run)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install 'adamw-rms[plot]'") from error


def formula_color(name: str) -> str | None:
    """The colour of formula ``name`` (None: let matplotlib choose)."""
    return FORMULA_COLORS.get(name)


@contextmanager
def styled() -> Iterator[None]:
    """Apply :data:`RC_PARAMS` for the duration of a ``with`` block."""
    require_matplotlib()
    import matplotlib

    with matplotlib.rc_context(RC_PARAMS):
        yield


def se_band(
    axis: Any,
    x: Any,
    mean: Any,
    se: Any,
    *,
    label: str = "simulation",
    color: str = SIMULATION_COLOR,
) -> None:
    """Draw a simulated mean as a line inside its ±2 SE band (one legend entry each)."""
    x, mean, se = (np.asarray(a, dtype=float) for a in (x, mean, se))
    axis.fill_between(
        x, mean - 2 * se, mean + 2 * se, color=BAND_COLOR, lw=0, label=f"{label} ± 2 SE"
    )
    axis.plot(x, mean, color=color, lw=1.1, label=label)


def save_figure(figure: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` atomically (temporary file in the same folder, then a rename).

    The format follows the suffix (``.png``, ``.pdf``, ``.svg``); metadata that would vary
    between runs or versions (software, dates) is dropped, so a seeded figure is byte-stable.
    """
    target = Path(path)
    suffix = target.suffix or ".png"
    metadata = {"png": {"Software": None}, "pdf": {"Producer": None, "CreationDate": None},
                "svg": {"Date": None, "Creator": None}}.get(suffix.lstrip(".").lower())  # fmt: skip
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}-", suffix=suffix, dir=target.parent
    )
    os.close(handle)
    try:
        figure.savefig(temporary, metadata=metadata)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        if getattr(figure.canvas, "manager", None) is not None:  # a pyplot figure: release it
            import matplotlib.pyplot as plt

            plt.close(figure)
    return target

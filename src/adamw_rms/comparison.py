"""Predicted against simulated: relative error, z-score and the formula's measured accuracy.

The formulas themselves, and where each applies, are the registry :mod:`adamw_rms.formulas`
(re-exported here). Their accuracy is not assumed: ``adamw-rms accuracy`` (``make accuracy``)
simulates a grid of settings (``docs/accuracy.md``) and stores every point in
``adamw_rms/data/accuracy.csv``; the band of a configuration is the range of relative errors
``predicted / simulated - 1`` over the grid points of its nearest grid cell (nearest ``beta1``,
``beta2``, SNR and ``t * lr * weight_decay``; same bias-correction setting; all ``init_rms`` and
``lr * weight_decay`` of the grid), widened by 4 of the grid's standard errors. A comparison is
*within* when ``predicted / simulated - 1`` lies in that band widened by 4 of this simulation's
standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import ACCURACY_FILES, accuracy_table
from .formulas import FORMULAS, Formula, formula
from .simulation import SimulationConfig, SimulationResult

__all__ = [
    "ACCURACY_FILES",
    "FORMULAS",
    "Band",
    "Comparison",
    "Formula",
    "accuracy_table",
    "compare",
    "comparison_table",
    "formula",
    "measured_band",
]

#: Standard errors added on each side of a band (grid) and of a comparison (this simulation).
SE_MULTIPLIER = 4.0


@dataclass(frozen=True)
class Band:
    """Measured range of ``predicted / simulated - 1`` where the formula was tested."""

    low: float
    high: float
    cell: dict[str, Any]
    points: int
    extrapolated: bool

    def __str__(self) -> str:
        where = " (extrapolated)" if self.extrapolated else ""
        return f"[{self.low:+.2%}, {self.high:+.2%}]{where}"


@dataclass(frozen=True)
class Comparison:
    """One formula against one simulated number."""

    formula: Formula
    step: int
    predicted: float
    simulated: float
    se: float
    band: Band | None

    @property
    def rel_error(self) -> float:
        """``predicted / simulated - 1``."""
        return self.predicted / self.simulated - 1.0 if self.simulated else math.inf

    @property
    def rel_se(self) -> float:
        """The simulation's standard error relative to the simulated value."""
        return self.se / self.simulated if self.simulated else math.inf

    @property
    def z(self) -> float:
        """``(predicted - simulated) / se``: how many standard errors apart."""
        if self.se == 0:
            return (
                0.0
                if self.predicted == self.simulated
                else math.copysign(math.inf, self.predicted - self.simulated)
            )
        return (self.predicted - self.simulated) / self.se

    @property
    def within(self) -> bool | None:
        """Inside the measured band +- 4 SE of this simulation (None: no band measured)."""
        if self.band is None:
            return None
        margin = SE_MULTIPLIER * self.rel_se
        return self.band.low - margin <= self.rel_error <= self.band.high + margin

    @property
    def verdict(self) -> str:
        if self.band is None:
            return "no measured band"
        text = "within band" if self.within else "OUTSIDE band"
        return text + (" (extrapolated)" if self.band.extrapolated else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula.name,
            "label": self.formula.label,
            "step_id": self.formula.step_id,
            "target": self.formula.target,
            "step": self.step,
            "predicted": self.predicted,
            "simulated": self.simulated,
            "se": self.se,
            "rel_error": self.rel_error,
            "z": self.z,
            "band": None if self.band is None else [self.band.low, self.band.high],
            "extrapolated": None if self.band is None else self.band.extrapolated,
            "within": self.within,
        }


def compare(result: SimulationResult, step: int | None = None) -> list[Comparison]:
    """Every applicable formula against ``result`` at ``step`` (default: the last recorded).

    Examples
    --------
    >>> from adamw_rms.comparison import compare
    >>> from adamw_rms.simulation import SimulationConfig, simulate
    >>> result = simulate(SimulationConfig.source(n=2000, steps=3000), engine="numpy")
    >>> [c.formula.name for c in compare(result)]
    ['theta_rms', 'theta_rms_mu0', 'equilibrium', 'quick', 'update_rms']
    """
    config = result.config
    step = int(result.steps[-1]) if step is None else step
    simulated_weight, weight_se = result.at(step)
    rows = []
    for item in FORMULAS:
        if item.applies(config) is not None:
            continue
        if item.target == "weight_rms":
            simulated, se = simulated_weight, weight_se
        else:
            simulated, se = result.update_rms, result.update_rms_se
        rows.append(
            Comparison(
                formula=item,
                step=step,
                predicted=float(item.predict(config, step)),
                simulated=simulated,
                se=se,
                band=item.band(config, step),
            )
        )
    return rows


# ---- measured bands -----------------------------------------------------------------------------


def _nearest(grid: np.ndarray, value: float, transform: Callable[[np.ndarray], np.ndarray]):
    levels = np.unique(grid)
    distance = np.abs(transform(levels) - transform(np.asarray(value)))
    best = levels[int(np.argmin(distance))]
    slack = 1e-9 * max(1.0, abs(float(value)))  # e.g. sqrt(10)**2 is 10.000000000000002
    return best, not (levels.min() - slack <= value <= levels.max() + slack)


def measured_band(item: Formula, config: SimulationConfig, step: int) -> Band | None:
    """The measured accuracy band of ``item`` for ``config`` at ``step`` (None: never
    measured); :meth:`Formula.band <adamw_rms.formulas.Formula.band>` calls it."""
    table = accuracy_table()
    if not table or config.has_schedule:
        return None
    name = item.name
    rows = table["formula"] == name
    sign = item.update == "sign_sgdm"
    if not sign:  # beta2 and bias correction do not enter a sign update
        rows &= table["bias_correction"] == float(config.bias_correction)
    if not rows.any():
        return None
    decay = float(config.lr_per_step()[0] * config.weight_decay_per_step()[0])
    t_decay = step * decay if decay > 0 else math.inf
    log_gap = lambda b: np.log(1.0 - np.minimum(b, 1 - 1e-12))  # noqa: E731
    axes = (
        ("beta1", config.beta1, lambda b: b),
        ("beta2", config.beta2, log_gap),
        ("snr", config.snr, lambda s: np.log(s + 1e-3)),
        ("t_decay", t_decay, np.log),
    )
    cell: dict[str, Any] = {} if sign else {"bias_correction": config.bias_correction}
    # The grid ran with eps = 0 (see the eps table of docs/accuracy.md for larger eps).
    extrapolated = not sign and config.eps > 1e-3 * config.grad_std
    # The grid's trajectories without weight decay are measured for "no_decay" only.
    extrapolated |= decay == 0 and name not in ("no_decay", "update_rms")
    update_target = item.target == "update_rms"
    if update_target:
        # The grid's update RMS is a steady-state average; an early window is a transient.
        window_start = config.steps - config.update_window + 1
        extrapolated |= window_start < 5 / max(1e-12, 1 - config.beta2)
    for column, value, transform in axes:
        if column == "t_decay" and (update_target or not math.isfinite(value)):
            continue
        if column == "beta2" and sign:
            continue
        level, outside = _nearest(table[column][rows], value, transform)
        rows &= table[column] == level
        cell[column] = float(level)
        extrapolated |= outside
    if not rows.any():
        return None
    errors = table["rel_error"][rows]
    margins = SE_MULTIPLIER * table["rel_se"][rows]
    return Band(
        low=float(np.min(errors - margins)),
        high=float(np.max(errors + margins)),
        cell=cell,
        points=int(rows.sum()),
        extrapolated=bool(extrapolated),
    )


def comparison_table(rows: Sequence[Comparison]) -> str:
    """The rows of :func:`compare` as an aligned text table (what ``adamw-rms check`` prints).

    Columns: formula, target, predicted, simulated ± SE, relative error, z-score, the measured
    accuracy band and the verdict.
    """
    header = ("formula", "target", "predicted", "simulated ± SE", "rel. error", "z", "band",
              "verdict")  # fmt: skip
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.formula.name,
                row.formula.target,
                f"{row.predicted:.6g}",
                f"{row.simulated:.6g} ± {row.se:.2g}",
                f"{row.rel_error:+.2%}",
                f"{row.z:+.1f}",
                str(row.band) if row.band else "-",
                row.verdict,
            )
        )
    widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )

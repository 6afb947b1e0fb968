"""Predicted against simulated: relative error, z-score and the formula's measured accuracy.

Each formula of the derivations is a :class:`Formula`: what it predicts (the weight RMS at a
step, or the update RMS), when it applies, and its *measured* accuracy. The accuracy is not
assumed: ``make accuracy`` simulates a grid of settings (``docs/accuracy.md``) and stores every
point in ``adamw_rms/data/accuracy.csv``; the band of a configuration is the range of relative
errors ``predicted / simulated - 1`` over the grid points of its nearest grid cell (nearest
``beta1``, ``beta2``, SNR and ``t * lr * weight_decay``; same bias-correction setting; all
``init_rms`` and ``lr * weight_decay`` of the grid), widened by 4 of the grid's standard errors.
A comparison is *within* when ``predicted / simulated - 1`` lies in that band widened by 4 of
this simulation's standard errors.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from . import estimators
from .simulation import SimulationConfig, SimulationResult

__all__ = ["FORMULAS", "Band", "Comparison", "Formula", "compare", "comparison_table", "formula"]

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
class Formula:
    """A derived formula as a prediction of a simulated quantity.

    ``target`` is ``"weight_rms"`` (at a recorded step) or ``"update_rms"``; ``predict``
    takes the configuration and the step; ``applies`` returns ``None`` or why not;
    ``predict_steps`` (optional) predicts many steps at once where that is cheaper than one
    call per step (a schedule's trajectory is computed once).
    """

    name: str
    label: str
    step_id: str
    target: str
    predict: Callable[[SimulationConfig, int], float]
    applies: Callable[[SimulationConfig], str | None]
    update: str = "adamw"
    predict_steps: Callable[[SimulationConfig, Sequence[int]], np.ndarray] | None = None

    def predictions(self, config: SimulationConfig, steps: Sequence[int]) -> np.ndarray:
        """The predicted values at each of ``steps``."""
        if self.predict_steps is not None:
            return np.asarray(self.predict_steps(config, steps), dtype=float)
        return np.array([self.predict(config, int(step)) for step in steps], dtype=float)

    def band(self, config: SimulationConfig, step: int) -> Band | None:
        """The measured accuracy band for ``config`` at ``step`` (None: never measured)."""
        return _band(self.name, config, step)


def _constant(config: SimulationConfig) -> str | None:
    if config.has_schedule:
        return "the part-1 formulas assume constant lr and weight decay"
    if config.update != "adamw":
        return "an AdamW formula (update = sign_sgdm)"
    return None


def _constant_sign(config: SimulationConfig) -> str | None:
    if config.has_schedule:
        return "the part-1 formulas assume constant lr and weight decay"
    if config.update != "sign_sgdm":
        return "a SignSGDMW formula (update = adamw)"
    return None


def _sign(formula_name: str) -> Callable[[SimulationConfig, int], float]:
    def predict(config: SimulationConfig, step: int) -> float:
        return estimators.sign_sgdm_weight_rms(
            config.lr, config.weight_decay, config.beta1, steps=step, snr=config.snr,
            init_rms=config.init_rms, formula=formula_name,
        )  # fmt: skip

    return predict


def _scheduled(config: SimulationConfig) -> str | None:
    if not config.has_schedule:
        return "a part-2 formula (constant lr and weight decay: use the part-1 formulas)"
    if config.update != "adamw":
        return "an AdamW formula (update = sign_sgdm)"
    return None


def _trajectory_steps(method: str) -> Callable[[SimulationConfig, Sequence[int]], np.ndarray]:
    """Part 2's ``method`` at several steps from one O(T) trajectory."""

    def predict_steps(config: SimulationConfig, steps: Sequence[int]) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.int64)
        last = int(steps.max(initial=0))
        if last == 0:
            return np.full(steps.shape, config.init_rms)
        trajectory = estimators.weight_rms_trajectory(
            config.lr_per_step()[:last], config.weight_decay_per_step()[:last],
            beta1=config.beta1, snr=config.snr if method == "mean_field" else 0.0,
            init_rms=config.init_rms, method=method,
        )  # fmt: skip
        # Step 0 is the initial RMS; step s is the trajectory's entry s - 1.
        with_start = np.concatenate(([config.init_rms], trajectory))
        return with_start[steps]

    return predict_steps


def _trajectory(method: str) -> Callable[[SimulationConfig, int], float]:
    predict_steps = _trajectory_steps(method)
    return lambda config, step: float(predict_steps(config, [step])[0])


def _all(*conditions: Callable[[SimulationConfig], str | None]):
    def applies(config: SimulationConfig) -> str | None:
        for condition in conditions:
            reason = condition(config)
            if reason:
                return reason
        return None

    return applies


def _zero_mean(config: SimulationConfig) -> str | None:
    return None if config.grad_mean == 0 else "needs grad_mean = 0"


def _with_mean(config: SimulationConfig) -> str | None:
    return None if config.grad_mean != 0 else "needs grad_mean != 0 (SNR > 0)"


def _decay(config: SimulationConfig) -> str | None:
    return None if np.all(config.weight_decay_per_step() > 0) else "needs weight_decay > 0"


def _no_decay(config: SimulationConfig) -> str | None:
    return None if np.all(config.weight_decay_per_step() == 0) else "needs weight_decay = 0"


def _weight_rms(config: SimulationConfig, step: int, snr: float | None = None) -> float:
    return estimators.weight_rms(
        config.lr,
        config.weight_decay,
        config.beta1,
        steps=step,
        snr=config.snr if snr is None else snr,
        init_rms=config.init_rms,
    )


FORMULAS: tuple[Formula, ...] = (
    Formula(
        "theta_rms",
        "eq:theta-rms (general)",
        "weight_rms.theta_rms",
        "weight_rms",
        _weight_rms,
        _constant,
    ),
    Formula(
        "theta_rms_mu0",
        "eq:theta-rms-mu0 (mu = 0)",
        "weight_rms.theta_rms_mu0",
        "weight_rms",
        lambda c, t: _weight_rms(c, t, snr=0.0),
        _all(_constant, _zero_mean),
    ),
    Formula(
        "equilibrium",
        "eq:theta-rms-simple (t -> inf)",
        "weight_rms.theta_rms_simple",
        "weight_rms",
        lambda c, t: estimators.equilibrium_weight_rms(c.lr, c.weight_decay),
        _all(_constant, _zero_mean, _decay),
    ),
    Formula(
        "no_decay",
        "lambda -> 0 (no weight decay)",
        "weight_rms.theta_rms_no_decay",
        "weight_rms",
        _weight_rms,
        _all(_constant, _no_decay),
    ),
    Formula(
        "large_snr",
        "large SNR",
        "weight_rms.theta_rms_large_snr",
        "weight_rms",
        lambda c, t: estimators.weight_rms_large_snr(
            c.lr, c.weight_decay, steps=t, snr=c.snr, init_rms=c.init_rms
        ),
        _all(_constant, _with_mean),
    ),
    Formula(
        "quick",
        "quick estimate",
        "weight_rms.quick_estimate",
        "weight_rms",
        lambda c, t: estimators.weight_rms_quick(c.lr, c.weight_decay, c.beta1),
        _all(_constant, _zero_mean, _decay),
    ),
    Formula(
        "update_rms",
        "update RMS (with SNR)",
        "update_rms.update_rms_sq",
        "update_rms",
        lambda c, t: estimators.update_rms(c.beta1, c.snr),
        _all(_constant),
    ),
    Formula(
        "schedule_mean_field",
        "schedule: general mean field",
        "schedules.theta_rms_dynamic",
        "weight_rms",
        _trajectory("mean_field"),
        _scheduled,
        predict_steps=_trajectory_steps("mean_field"),
    ),
    Formula(
        "schedule_series",
        "schedule: series (eq:w-rms-simp)",
        "schedules.theta_rms_series",
        "weight_rms",
        _trajectory("series"),
        _all(_scheduled, _zero_mean),
        predict_steps=_trajectory_steps("series"),
    ),
    Formula(
        "schedule_ode",
        "schedule: ODE / integral form",
        "schedules.rho_ode",
        "weight_rms",
        _trajectory("ode"),
        _all(_scheduled, _zero_mean),
        predict_steps=_trajectory_steps("ode"),
    ),
    Formula(
        "schedule_single_epoch",
        "schedule: single-epoch mean field",
        "schedules.single_epoch",
        "weight_rms",
        _trajectory("single_epoch"),
        _all(_scheduled, _zero_mean),
        predict_steps=_trajectory_steps("single_epoch"),
    ),
    Formula(
        "sign_arcsine",
        "SignSGDMW, arcsine law (corrected)",
        "sign_sgdm.theta_rms_arcsine_general",
        "weight_rms",
        _sign("arcsine"),
        _constant_sign,
        update="sign_sgdm",
    ),
    Formula(
        "sign_source",
        "SignSGDMW, source's mean field",
        "sign_sgdm.theta_rms_sign",
        "weight_rms",
        _sign("source"),
        _constant_sign,
        update="sign_sgdm",
    ),
)


def formula(name: str) -> Formula:
    """The formula called ``name``; ValueError lists the known names."""
    for item in FORMULAS:
        if item.name == name:
            return item
    raise ValueError(f"unknown formula {name!r}; known: {', '.join(f.name for f in FORMULAS)}")


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

ACCURACY_FILES = ("accuracy.csv", "accuracy_sign.csv")


@cache
def accuracy_table() -> dict[str, np.ndarray]:
    """The grids measured by ``make accuracy`` as columns (empty when not generated yet)."""
    rows = []
    for name in ACCURACY_FILES:
        try:
            text = resources.files("adamw_rms.data").joinpath(name).read_text()
        except (FileNotFoundError, ModuleNotFoundError):
            continue
        rows += list(csv.DictReader(text.splitlines()))
    if not rows:
        return {}
    columns: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        try:
            columns[key] = np.array([float(v) for v in values])
        except ValueError:
            columns[key] = np.array(values)
    return columns


def _nearest(grid: np.ndarray, value: float, transform: Callable[[np.ndarray], np.ndarray]):
    levels = np.unique(grid)
    distance = np.abs(transform(levels) - transform(np.asarray(value)))
    best = levels[int(np.argmin(distance))]
    slack = 1e-9 * max(1.0, abs(float(value)))  # e.g. sqrt(10)**2 is 10.000000000000002
    return best, not (levels.min() - slack <= value <= levels.max() + slack)


def _band(name: str, config: SimulationConfig, step: int) -> Band | None:
    table = accuracy_table()
    if not table or config.has_schedule:
        return None
    rows = table["formula"] == name
    sign = formula(name).update == "sign_sgdm"
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
    update_target = formula(name).target == "update_rms"
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

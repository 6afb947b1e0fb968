"""Predicted against simulated: relative error, z-score, and two verdicts per formula.

The formulas themselves, and where each applies, are the registry :mod:`adamw_rms.formulas`
(re-exported here). Each :class:`Comparison` answers two separate questions:

``accurate``
    Is the formula accurate *here*: ``|predicted / simulated - 1| <= tolerance + 2 SE`` (the
    simulation's relative standard error; ``tolerance`` defaults to 1%). This is the verdict to
    read: a formula 77% off is never accurate, however well that error was measured before.
``within_band``
    Is this simulation consistent with the formula's *measured* error band (a regression check
    of the formula, the simulation and the accuracy study together, not a statement of
    accuracy): ``predicted / simulated - 1`` lies in the band widened by 4 of this
    simulation's standard errors.

Where the bands come from. Constant-schedule formulas: ``adamw-rms accuracy`` (``make
accuracy``) simulates a grid of settings (``docs/accuracy.md``) and stores every point in
``adamw_rms/data/accuracy.csv``; the band of a configuration is the range of relative errors
over the grid points of its nearest grid cell (nearest ``beta1``, ``beta2``, SNR and
``t * lr * weight_decay``; same bias-correction setting; all ``init_rms`` and
``lr * weight_decay`` of the grid), widened by 4 of the grid's standard errors. Schedule
formulas (part 2): the schedule study (``accuracy_schedules.csv``: cosine, WSD and linear runs
recorded at five fractions of the run); a configuration's band is the range of the method's
errors over the three runs at the recorded fraction of the run nearest to ``step / steps``
(the errors grow along a decay, so one band over all steps would be loose early and the
nearest fraction keeps it tight), widened by 4 standard errors. It is *extrapolated* where the
configuration is far from the study (:func:`measured_band`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import (
    ACCURACY_FILES,
    SCHEDULE_PEAK,
    SCHEDULE_STEPS,
    WEIGHT_DECAY,
    accuracy_table,
    schedule_table,
)
from .formulas import FORMULAS, Formula, formula
from .simulation import SimulationConfig, SimulationResult

__all__ = [
    "ACCURACY_FILES",
    "DEFAULT_TOLERANCE",
    "FORMULAS",
    "Band",
    "Comparison",
    "Formula",
    "accuracy_table",
    "check_tolerance",
    "compare",
    "comparison_table",
    "formula",
    "measured_band",
]

#: Standard errors added on each side of a band (grid) and of a comparison (this simulation).
SE_MULTIPLIER = 4.0
#: The accuracy verdict's default tolerance on ``|predicted / simulated - 1|`` (1%).
DEFAULT_TOLERANCE = 0.01
#: Standard errors of this simulation added to the tolerance of the accuracy verdict.
ACCURACY_SE = 2.0
#: A scheduled configuration whose peak ``lr * weight_decay``, or whose length in timescales
#: at that peak (``steps * peak lr * weight_decay``), is more than this factor from the
#: schedule study's gets an extrapolated band.
SCHEDULE_STUDY_FACTOR = 2.0


def check_tolerance(tolerance: Any) -> float:
    """``tolerance`` as a float in (0, 1) (a fraction: 0.01 is 1%), else TypeError/ValueError."""
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer,
                                                                 np.floating)):  # fmt: skip
        raise TypeError(f"tolerance must be a number; got {type(tolerance).__name__}")
    value = float(tolerance)
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise ValueError(f"tolerance must be a fraction in (0, 1), e.g. 0.01 for 1%; got {value!r}")
    return value


def _percent(fraction: float, sign: bool = True) -> str:
    """``0.771 -> '+77%'``, ``0.0134 -> '+1.3%'``, ``0.01 -> '1%'`` (two significant digits)."""
    if not math.isfinite(fraction):
        return f"{fraction:+}" if sign else str(fraction)
    text = f"{100 * fraction:{'+' if sign else ''}.2g}"
    if "e" in text:  # 1234% prints as 1.2e+03 under .2g
        text = f"{100 * fraction:{'+' if sign else ''}.0f}"
    return text + "%"


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
    tolerance: float = DEFAULT_TOLERANCE

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
    def accurate(self) -> bool:
        """Accurate here: ``|rel_error| <= tolerance + 2 * rel_se``."""
        return abs(self.rel_error) <= self.tolerance + ACCURACY_SE * self.rel_se

    @property
    def within_band(self) -> bool | None:
        """Consistent with the formula's measured band: inside it +- 4 SE of this simulation
        (None: no band measured). A regression check, not accuracy: see :attr:`accurate`."""
        if self.band is None:
            return None
        margin = SE_MULTIPLIER * self.rel_se
        return self.band.low - margin <= self.rel_error <= self.band.high + margin

    @property
    def verdict(self) -> str:
        """The accuracy verdict in words: ``"accurate (±1%)"`` or ``"off by +77%"``."""
        if not self.accurate:
            return f"off by {_percent(self.rel_error)}"
        tolerance = _percent(self.tolerance, sign=False)
        if ACCURACY_SE * self.rel_se > self.tolerance:  # the simulation's noise decided it
            return f"accurate (±{tolerance} + 2 SE)"
        return f"accurate (±{tolerance})"

    @property
    def band_verdict(self) -> str:
        """The band check in words: ``"within band"``, ``"OUTSIDE band"`` (``" (extrapolated)"``
        where the band is), or ``"no measured band"``."""
        if self.band is None:
            return "no measured band"
        text = "within band" if self.within_band else "OUTSIDE band"
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
            "tolerance": self.tolerance,
            "accurate": self.accurate,
            "band": None if self.band is None else [self.band.low, self.band.high],
            "extrapolated": None if self.band is None else self.band.extrapolated,
            "within_band": self.within_band,
        }


def compare(
    result: SimulationResult, step: int | None = None, *, tolerance: float = DEFAULT_TOLERANCE
) -> list[Comparison]:
    """Every applicable formula against ``result`` at ``step`` (default: the last recorded).

    Parameters
    ----------
    result
        A simulation (:func:`adamw_rms.simulation.simulate`).
    step
        A recorded step of ``result``; default its last.
    tolerance
        The accuracy verdict's tolerance on ``|predicted / simulated - 1|``, a fraction in
        (0, 1) (default 0.01: 1%); :attr:`Comparison.accurate` adds 2 standard errors of the
        simulation to it.

    Returns
    -------
    list of Comparison
        One per applicable formula of :data:`FORMULAS`, in registry order.

    Examples
    --------
    >>> from adamw_rms.comparison import compare
    >>> from adamw_rms.simulation import SimulationConfig, simulate
    >>> result = simulate(SimulationConfig.source(n=2000, steps=3000), engine="numpy")
    >>> rows = compare(result)
    >>> [c.formula.name for c in rows]  # doctest: +NORMALIZE_WHITESPACE
    ['theta_rms', 'theta_rms_corrected', 'theta_rms_mu0', 'equilibrium', 'quick', 'update_rms',
     'update_rms_corrected']
    >>> rows[4].verdict, rows[4].accurate, rows[4].within_band  # quick: a measured error
    ('off by -81%', False, True)
    """
    tolerance = check_tolerance(tolerance)
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
                tolerance=tolerance,
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
    measured); :meth:`Formula.band <adamw_rms.formulas.Formula.band>` calls it.

    Constant schedules: the nearest cell of the AdamW or SignSGDMW grid (module docstring).
    Schedules: :func:`_schedule_band`, the schedule study at the nearest fraction of the run.

    Examples
    --------
    >>> from adamw_rms.comparison import measured_band
    >>> from adamw_rms.formulas import formula
    >>> from adamw_rms.schedules import cosine
    >>> from adamw_rms.simulation import SimulationConfig
    >>> study = SimulationConfig.source(lr=cosine(1e-3, 1e-4, 10_000), steps=10_000)
    >>> band = measured_band(formula("schedule_single_epoch"), study, 10_000)
    >>> band.points, band.extrapolated, band.low > 0.01  # 1.9% ... 2.7% high at the end
    (3, False, True)
    >>> longer = study.replace(lr=cosine(1e-3, 1e-4, 100_000), steps=100_000)
    >>> measured_band(formula("schedule_single_epoch"), longer, 100_000).extrapolated
    True
    """
    if config.has_schedule:
        return _schedule_band(item, config, step)
    table = accuracy_table()
    if not table:
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
    update_target = item.target == "update_rms"
    if not update_target:
        # The grid's trajectories without weight decay (measured for "no_decay" and the
        # corrected formula) band only a configuration without decay, and the others only one
        # with decay (their t_decay column is in units of the grid's smallest decay instead).
        same = rows & ((table["weight_decay"] == 0) == (decay == 0))
        extrapolated |= not same.any()
        rows = same if same.any() else rows
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


def _schedule_band(item: Formula, config: SimulationConfig, step: int) -> Band | None:
    """The schedule study's band of ``item`` (a part-2 formula) at the nearest fraction of the
    run: all three schedules of the study at that fraction, errors +- 4 SE.

    Extrapolated unless the configuration matches the study where it matters: the source's
    betas, eps and bias correction, zero-mean gradients, a constant weight decay, and a peak
    ``lr * weight_decay`` and a length in peak timescales each within
    :data:`SCHEDULE_STUDY_FACTOR` of the study's (1e-4 per step, 10 000 steps: one
    timescale). The shape is not matched: the band covers the study's cosine, WSD and linear
    runs.
    """
    table = schedule_table()
    method = item.name.removeprefix("schedule_")
    if not table or item.name == method:
        return None
    rows = table["method"] == method
    if not rows.any():
        return None
    fraction = step / config.steps
    fractions = table["step"] / SCHEDULE_STEPS
    levels = np.unique(fractions[rows])
    nearest = float(levels[int(np.argmin(np.abs(levels - fraction)))])
    rows &= fractions == nearest
    study = SimulationConfig.source(steps=SCHEDULE_STEPS)
    decay = config.lr_per_step() * config.weight_decay_per_step()
    peak, study_peak = float(decay.max()), SCHEDULE_PEAK * WEIGHT_DECAY
    factor = SCHEDULE_STUDY_FACTOR
    far = lambda a, b: not (b / factor <= a <= b * factor)  # noqa: E731
    extrapolated = (
        (config.beta1, config.beta2, config.bias_correction)
        != (study.beta1, study.beta2, study.bias_correction)
        or config.eps > 1e-3 * config.grad_std
        or config.grad_mean != 0
        or np.ptp(config.weight_decay_per_step()) > 0
        or far(peak, study_peak)
        or far(peak * config.steps, study_peak * SCHEDULE_STEPS)
    )
    errors = table["rel_error"][rows]
    margins = SE_MULTIPLIER * table["rel_se"][rows]
    return Band(
        low=float(np.min(errors - margins)),
        high=float(np.max(errors + margins)),
        cell={"method": method, "step_fraction": nearest},
        points=int(rows.sum()),
        extrapolated=bool(extrapolated),
    )


def comparison_table(rows: Sequence[Comparison]) -> str:
    """The rows of :func:`compare` as an aligned text table (what ``adamw-rms check`` prints).

    Columns: formula, the accuracy verdict (:attr:`Comparison.verdict`), target, predicted,
    simulated ± SE, relative error, z-score, the measured band and the band check
    (:attr:`Comparison.band_verdict`); a last line says what the two verdicts mean.

    Examples
    --------
    >>> from adamw_rms.comparison import compare, comparison_table
    >>> from adamw_rms.simulation import SimulationConfig, simulate
    >>> result = simulate(SimulationConfig.source(n=2000, steps=3000), engine="numpy")
    >>> print(comparison_table(compare(result)).splitlines()[5][:33])
    quick                 off by -81%
    """
    header = ("formula", "accuracy", "target", "predicted", "simulated ± SE", "rel. error", "z",
              "measured band", "band check")  # fmt: skip
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.formula.name,
                row.verdict,
                row.formula.target,
                f"{row.predicted:.6g}",
                f"{row.simulated:.6g} ± {row.se:.2g}",
                f"{row.rel_error:+.2%}",
                f"{row.z:+.1f}",
                # The band check says "(extrapolated)"; the band column stays narrow.
                f"[{row.band.low:+.2%}, {row.band.high:+.2%}]" if row.band else "-",
                row.band_verdict,
            )
        )
    widths = [max(len(line[k]) for line in lines) for k in range(len(header))]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    tolerances = " / ".join(sorted({_percent(row.tolerance, sign=False) for row in rows}))
    table += [
        f"accuracy: |rel. error| <= {tolerances or _percent(DEFAULT_TOLERANCE, sign=False)} "
        "+ 2 SE of this simulation",
        "band check: the error agrees with the formula's measured band (regression, not accuracy)",
    ]
    return "\n".join(table)

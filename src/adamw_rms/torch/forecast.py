r"""Forecast each tensor's weight RMS along the learning rates still to come.

The forecast continues the monitor's exact identity
:math:`\rho_t = \beta_{3,t}^2\rho_{t-1} + q_t` with a model of the drive
:math:`q_t = \eta_t^2\langle u_t^2\rangle - 2\beta_{3,t}\eta_t\langle\theta_{t-1},u_t\rangle`,
learnt per tensor from the recorded history. Two models (``model=``):

* ``"fitted"`` (the default): :math:`q = C\,\eta\,\rho^k`. The drive is taken proportional to
  the learning rate, not to its square: in the recorded runs (``docs/real-networks.md``) it is
  dominated by :math:`-2\eta\langle\theta,u\rangle`, and the update's projection on the weights
  does not shrink with the learning rate the way iid noise's does (it comes from the
  gradient's persistent part and from the optimizer's per-coordinate normalisation). The
  exponent :math:`k` says how the drive changes with the norm; it is fitted to the history
  (least squares of :math:`\log(q/\eta)` on :math:`\log\rho` over windows from 20% of the
  run on, later windows weighted more) and kept in :data:`EXPONENT_RANGE`
  (:math:`k = 1/2`: the projection :math:`\langle\theta,u\rangle/\|\theta\|_{RMS}` constant, a
  fixed alignment of the update with the weights; :math:`k = 1`: a drive proportional to the
  weights, as when the update's size follows the norm); :math:`C` is then the mean over the
  last :data:`RECENT` of the history. What it holds constant as the learning rate changes:
  :math:`C` and :math:`k`.
* ``"eta2"``: :math:`q = A\,\eta^2` with :math:`A` the recent mean of :math:`q/\eta^2` — the
  iid theory's scaling (update size and autocorrelation independent of the learning rate),
  kept as the baseline.

Their measured errors are in ``docs/real-networks.md``; ``"fitted"`` is the better one there.
Coupled-decay rules (Adam with L2, SGD) fold the decay into :math:`q`; their forecasts run the
same models but have not been measured.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..accuracy_warning import MonitorWarning
from .decomposition import balance, sampled_drive, update_statistics
from .history import RunHistory

__all__ = [
    "BALANCE_WARN",
    "COLLAPSE_RATIO",
    "EXPONENT_RANGE",
    "MODELS",
    "RECENT",
    "fit_drive",
    "forecast",
]

#: The drive models :func:`forecast` knows.
MODELS = ("fitted", "eta2")
#: The fitted exponent :math:`k` is kept in this range.
EXPONENT_RANGE = (0.5, 1.0)
#: The fraction of the history (at least :data:`MIN_SAMPLES` samples) the level is read from.
RECENT = 0.1
#: Sampled steps needed before a forecast.
MIN_SAMPLES = 20
#: :func:`forecast` warns where a tensor's RMS ends below this fraction of its current value.
COLLAPSE_RATIO = 0.5
#: :func:`forecast` warns where a tensor's recent balance (what the updates add over what the
#: decay removes, :func:`~adamw_rms.torch.decomposition.balance`) is below this: the norm is
#: still falling fast toward where it settles, and the drive changes on the way in ways the
#: history does not show yet; the largest forecast errors of ``docs/real-networks.md`` are
#: there.
BALANCE_WARN = 0.7
_WINDOWS = 20


def _future(name: str, values: Any, current: np.ndarray) -> np.ndarray:
    """``(F, groups)`` per-step values for every group from group 0's array (others in
    proportion to their current value, as ``LambdaLR`` scales them) or one array per group."""
    groups = current.size
    if isinstance(values, (list, tuple)) and values and np.ndim(values[0]) == 1:
        if len(values) != groups:
            raise ValueError(f"{name}: one array per param group ({groups}); got {len(values)}")
        arrays = [np.asarray(v, dtype=np.float64) for v in values]
        if len({a.size for a in arrays}) != 1:
            raise ValueError(f"{name}: the per-group arrays must have the same length")
        table = np.stack(arrays, axis=1)
    else:
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"{name} must be a 1-d array of per-step values (or one per group)")
        if current[0] > 0:
            scale = current / current[0]
        elif np.all(current == 0):
            scale = np.ones(groups)
        else:
            raise ValueError(
                f"{name}: param group 0's current value is 0, so the other groups' cannot "
                "follow it in proportion; pass one array per group"
            )
        table = array[:, None] * scale[None, :]
    if table.shape[0] == 0:
        raise ValueError(f"{name} must have at least one future step")
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ValueError(f"{name} must be finite and >= 0 at every step")
    return table


def fit_drive(history: RunHistory, model: str = "fitted") -> dict[str, np.ndarray]:
    """The drive model's coefficients per tensor: ``level`` and ``exponent`` such that
    :math:`q = \\text{level}\\cdot\\eta^{p}\\rho^{\\text{exponent}}` (``p`` = 1 for ``"fitted"``,
    2 with exponent 0 for ``"eta2"``)."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}; got {model!r}")
    sampled = history.sampled.size
    if sampled < MIN_SAMPLES:
        raise ValueError(
            f"a forecast needs at least {MIN_SAMPLES} sampled steps of history; have {sampled}"
        )
    stats = update_statistics(history)
    lr = stats["lr"]
    drive = sampled_drive(history)
    rho = np.maximum(stats["rho_before"], 0.0)
    recent = slice(sampled - max(MIN_SAMPLES, int(RECENT * sampled)), sampled)
    width = drive.shape[1]
    if model == "eta2":
        scale = np.sum(lr[recent] ** 2, axis=0)
        level = np.divide(drive[recent].sum(0), scale, out=np.zeros(width), where=scale > 0)
        return {"level": level, "lr_power": np.full(width, 2.0), "exponent": np.zeros(width)}
    exponent = _fitted_exponent(drive, lr, rho, sampled)
    scale = np.sum(lr[recent] * rho[recent] ** exponent, axis=0)
    level = np.divide(drive[recent].sum(0), scale, out=np.zeros(width), where=scale > 0)
    return {"level": level, "lr_power": np.ones(width), "exponent": exponent}


def _fitted_exponent(drive, lr, rho, sampled):
    low, high = EXPONENT_RANGE
    start = int(0.2 * sampled)
    size = max(1, (sampled - start) // _WINDOWS)
    count = (sampled - start) // size
    exponent = np.full(drive.shape[1], low)
    if count < 4:
        return exponent
    window = slice(sampled - count * size, sampled)

    def blocks(values):
        return values[window].reshape(count, size, -1)

    drive_sum, lr_sum = blocks(drive).sum(1), blocks(lr).sum(1)
    rho_mean = blocks(rho).mean(1)
    weights = np.linspace(0.5, 1.5, count)  # the later windows say more about what comes next
    for column in range(drive.shape[1]):
        usable = (drive_sum[:, column] > 0) & (lr_sum[:, column] > 0) & (rho_mean[:, column] > 0)
        if usable.sum() < 4:
            continue
        log_rho = np.log(rho_mean[usable, column])
        if np.ptp(log_rho) < 0.05:  # the norm barely moved: nothing to learn the exponent from
            continue
        design = np.stack([np.ones(usable.sum()), log_rho], axis=1) * weights[usable, None]
        target = np.log(drive_sum[usable, column] / lr_sum[usable, column]) * weights[usable]
        slope = np.linalg.lstsq(design, target, rcond=None)[0][1]
        exponent[column] = np.clip(slope, low, high)
    return exponent


def forecast(
    history: RunHistory, lr: Any, weight_decay: Any = None, *, model: str = "fitted"
) -> dict[str, np.ndarray]:
    r"""Predicted weight RMS of every tensor after each future step.

    Parameters
    ----------
    history
        The monitor's record (:meth:`WeightRMSMonitor.history`).
    lr
        The learning rates of the steps still to come: a 1-d array for param group 0 (the
        other groups follow in proportion to their current rates, as ``LambdaLR`` scales
        them), or a list of arrays, one per group.
    weight_decay
        ``None`` (each group's current value, held), or the same forms as ``lr``.
    model
        ``"fitted"`` or ``"eta2"`` (module docstring).

    Returns
    -------
    dict
        Tensor name -> ndarray of length ``len(lr)``: the RMS after each future step.

    Warns
    -----
    MonitorWarning
        Where a tensor's RMS ends below :data:`COLLAPSE_RATIO` of its current value, and where
        a tensor is far from equilibrium (recent balance below :data:`BALANCE_WARN`).
    """
    coefficients = fit_drive(history, model)
    current_lr, current_decay = history.lr[-1], history.weight_decay[-1]
    future_lr = _future("lr", lr, current_lr)
    future_decay = (
        np.broadcast_to(current_decay, future_lr.shape)
        if weight_decay is None
        else _future("weight_decay", weight_decay, current_decay)
    )
    if future_decay.shape[0] != future_lr.shape[0]:
        raise ValueError("lr and weight_decay must have the same number of future steps")
    # From the last sample to now (every > 1) the recorded rates are run first.
    last = int(history.sampled[-1])
    lr_table = np.concatenate([history.lr[last:], future_lr])[:, history.group]
    decay_table = np.concatenate([history.weight_decay[last:], future_decay])[:, history.group]
    decoupled = history.per_rule("decoupled")
    # A tensor the optimizer left alone over the whole recent window (no grad: an unused
    # branch) is taken to stay so: no decay, no drive.
    window = max(1, int(RECENT * history.steps))
    idle = history.skipped[-window:].all(axis=0)
    factor = np.where(decoupled & ~idle, 1.0 - lr_table * decay_table, 1.0)
    rho = history.sums[-1, 3] / history.sizes
    level, power, exponent = (coefficients[k] for k in ("level", "lr_power", "exponent"))
    out = np.empty(lr_table.shape)
    for step in range(lr_table.shape[0]):
        drive = np.where(idle, 0.0, level * lr_table[step] ** power * rho**exponent)
        rho = np.maximum(factor[step] ** 2 * rho + drive, 0.0)
        out[step] = rho
    rms = np.sqrt(out[out.shape[0] - future_lr.shape[0] :])
    start = np.sqrt(history.sums[-1, 3] / history.sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrinking = [
            n
            for n, a, b in zip(history.names, rms[-1], start, strict=True)
            if a < COLLAPSE_RATIO * b
        ]
    recent = balance(history)[-1]
    unsettled = [n for n, b in zip(history.names, recent, strict=True) if b < BALANCE_WARN]
    if unsettled:
        warnings.warn(
            f"{len(unsettled)} tensor(s) are far from equilibrium (their recent balance is "
            f"below {BALANCE_WARN:g}: the norm is still falling toward where it settles), "
            f"where forecasts are least certain (docs/real-networks.md): {unsettled[:5]}",
            MonitorWarning,
            stacklevel=3,
        )
    if shrinking:
        warnings.warn(
            f"the schedule shrinks the weight RMS of {len(shrinking)} tensor(s) below "
            f"{COLLAPSE_RATIO:g} of its current value by its end: {shrinking[:5]}",
            MonitorWarning,
            stacklevel=3,
        )
    return {name: rms[:, column].copy() for column, name in enumerate(history.names)}

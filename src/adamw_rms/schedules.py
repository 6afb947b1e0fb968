r"""Learning-rate schedules as per-step arrays ``lr[0..T-1]`` (the rate used at steps ``1..T``).

The shapes of the source's part 2 (``derivations/schedules.md``), sampled at the steps
``s = 1..T`` of a run of ``T`` steps, optionally after a linear warmup:

* ``linear(start, end, steps)``: :math:`\eta_s = \eta_a + (\eta_b - \eta_a)\,s/T`;
* ``cosine(peak, final, steps)``: :math:`\eta_s = \eta_{\min} + (\eta_{\max} - \eta_{\min})
  (1 + \cos(\pi s/T))/2`;
* ``wsd(peak, steps, warmup, decay)``: warmup to ``peak`` over ``warmup`` steps, stable, then a
  linear decay to 0 over the last ``decay`` steps.

Feed them to :func:`adamw_rms.estimators.weight_rms_trajectory` and to
:class:`adamw_rms.simulation.SimulationConfig` (``lr=`` accepts a per-step array).

Examples
--------
>>> from adamw_rms.schedules import cosine
>>> lr = cosine(1e-3, 1e-4, 10_000)
>>> float(lr[0]) > float(lr[-1]) == 1e-4
True
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

__all__ = [
    "SCHEDULES",
    "cosine",
    "from_torch_scheduler",
    "linear",
    "proportional_weight_decay",
    "wsd",
]


def _check(steps: int, warmup: int, **rates: float) -> None:
    if not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1; got {steps!r}")
    if not isinstance(warmup, int | np.integer) or not 0 <= warmup < steps:
        raise ValueError(f"warmup must be a whole number in [0, steps); got {warmup!r}")
    for name, value in rates.items():
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be in [0, inf); got {value!r}")


def _with_warmup(shape: np.ndarray, peak: float, warmup: int) -> np.ndarray:
    # The warmup replaces the first steps with a linear ramp from peak/warmup up to peak.
    if warmup:
        shape[:warmup] = peak * np.arange(1, warmup + 1) / warmup
    return shape


def linear(start: float, end: float, steps: int, *, warmup: int = 0) -> np.ndarray:
    """A linear ramp from ``start`` to ``end`` over ``steps`` steps (after ``warmup``)."""
    _check(steps, warmup, start=start, end=end)
    span = steps - warmup
    s = np.arange(1, span + 1)
    body = start + (end - start) * s / span
    return _with_warmup(np.concatenate((np.empty(warmup), body)), start, warmup)


def cosine(peak: float, final: float, steps: int, *, warmup: int = 0) -> np.ndarray:
    """Cosine decay from ``peak`` to ``final`` over ``steps`` steps (after ``warmup``)."""
    _check(steps, warmup, peak=peak, final=final)
    span = steps - warmup
    s = np.arange(1, span + 1)
    body = final + (peak - final) * (1 + np.cos(np.pi * s / span)) / 2
    return _with_warmup(np.concatenate((np.empty(warmup), body)), peak, warmup)


def wsd(peak: float, steps: int, *, warmup: int = 0, decay: int | None = None) -> np.ndarray:
    """Warmup-stable-decay: ``warmup`` steps up, stable at ``peak``, linear to 0 at the end.

    ``decay`` is the length of the final decay (default: the last 20% of the run).
    """
    decay = max(1, steps // 5) if decay is None else decay
    _check(steps, warmup, peak=peak)
    if not isinstance(decay, int | np.integer) or not 1 <= decay <= steps - warmup:
        raise ValueError(f"decay must be a whole number in [1, steps - warmup]; got {decay!r}")
    lr = np.full(steps, float(peak))
    lr[steps - decay :] = peak * (steps - np.arange(steps - decay + 1, steps + 1)) / decay
    return _with_warmup(lr, peak, warmup)


def from_torch_scheduler(
    optimizer_or_scheduler: Any,
    steps: int,
    *,
    lr: float | None = None,
    weight_decay: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The per-step learning rates and weight decays that torch would use for ``steps`` steps.

    ``optimizer_or_scheduler`` is

    * a torch LR scheduler: it is stepped ``steps`` times to record ``param_groups[0]["lr"]``
      and ``["weight_decay"]`` before each step, then put back exactly as it was (its
      ``state_dict`` and the optimizer's rates are restored; the parameters are never touched);
    * a torch optimizer without a scheduler: its constant rates;
    * a callable ``optimizer -> scheduler``: it is driven on a private ``torch.optim.AdamW``
      over one dummy parameter with base rate ``lr`` and ``weight_decay``.

    Needs the ``torch`` extra.

    Returns
    -------
    lr, weight_decay : ndarray
        Arrays of length ``steps``, ready for :func:`adamw_rms.estimators.weight_rms_trajectory`
        and :class:`adamw_rms.simulation.SimulationConfig`.
    """
    try:
        import torch
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        message = "from_torch_scheduler needs torch: pip install 'adamw-rms[torch]'"
        raise ImportError(message) from error
    _check(steps, 0, weight_decay=weight_decay)
    if isinstance(optimizer_or_scheduler, torch.optim.Optimizer):
        group = optimizer_or_scheduler.param_groups[0]
        return np.full(steps, float(group["lr"])), np.full(steps, float(group["weight_decay"]))
    if hasattr(optimizer_or_scheduler, "optimizer") and hasattr(optimizer_or_scheduler, "step"):
        return _replay(optimizer_or_scheduler, steps)
    if not callable(optimizer_or_scheduler):
        raise ValueError(
            "optimizer_or_scheduler must be a torch optimizer, an LR scheduler or a callable "
            f"optimizer -> scheduler; got {type(optimizer_or_scheduler).__name__}"
        )
    if lr is None:
        raise ValueError("lr (the base learning rate) is needed with a scheduler factory")
    _check(steps, 0, lr=lr)
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.AdamW([parameter], lr=lr, weight_decay=weight_decay)
    scheduler = optimizer_or_scheduler(optimizer)
    rates, decays = np.empty(steps), np.empty(steps)
    for step in range(steps):
        group = optimizer.param_groups[0]
        rates[step], decays[step] = group["lr"], group["weight_decay"]
        optimizer.step()  # no gradient: a no-op, but the scheduler expects it first
        scheduler.step()
    return rates, decays


def _replay(scheduler: Any, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Step a user's scheduler to record its rates, then restore it exactly."""
    optimizer = scheduler.optimizer
    saved_state = copy.deepcopy(scheduler.state_dict())
    groups = optimizer.param_groups
    saved_groups = [(group["lr"], group.get("weight_decay", 0.0)) for group in groups]
    rates, decays = np.empty(steps), np.empty(steps)
    try:
        with warnings.catch_warnings():
            # torch warns when a scheduler steps before its optimizer; here that is the point.
            warnings.simplefilter("ignore", UserWarning)
            for step in range(steps):
                group = optimizer.param_groups[0]
                rates[step], decays[step] = group["lr"], group.get("weight_decay", 0.0)
                scheduler.step()
    finally:
        scheduler.load_state_dict(saved_state)
        for group, (rate, decay) in zip(optimizer.param_groups, saved_groups, strict=True):
            group["lr"], group["weight_decay"] = rate, decay
    return rates, decays


def proportional_weight_decay(lr: np.ndarray, weight_decay: float) -> np.ndarray:
    r"""Weight decay per step proportional to the learning rate: ``weight_decay * lr / max(lr)``.

    Part 2's ODE, :math:`\rho' = -2\lambda_t\eta_t\rho + \eta_t^2`, settles near
    :math:`\eta_t/(2\lambda_t)`: with a constant :math:`\lambda` that target goes to 0 with the
    learning rate (the weights collapse at the end of a decaying schedule); with
    :math:`\lambda_t \propto \eta_t` it stays at ``max(lr) / (2 weight_decay)``.

    Examples
    --------
    >>> from adamw_rms.schedules import cosine, proportional_weight_decay
    >>> proportional_weight_decay(cosine(1e-3, 0.0, 4), 0.1).round(3).tolist()
    [0.1, 0.059, 0.017, 0.0]
    """
    lr = np.asarray(lr, dtype=np.float64)
    if lr.ndim != 1 or not lr.size or not np.all(np.isfinite(lr) & (lr >= 0)) or lr.max() == 0:
        raise ValueError("lr must be a non-empty 1-d array of rates >= 0, not all 0")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be in [0, inf); got {weight_decay!r}")
    return weight_decay * lr / lr.max()


#: Schedules by name, for the command line.
SCHEDULES = {"linear": linear, "cosine": cosine, "wsd": wsd}

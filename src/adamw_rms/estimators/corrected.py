r"""The corrected formulas (derivation ``corrected``): beta2, bias correction and eps included.

The update's mean :math:`e_t = E[u_t]` and covariance, to second order in the fluctuation of
:math:`\hat v`, are printed per step (``_generated.corrected_update_mean``) and as a sum of
separable lag terms :math:`\mathrm{Cov}[u_s, u_r] = \sum_n X_n(s)\,Y_n(r)\,\rho_n^{r-s}`
(``corrected_lag_*``, split from step ``corrected.update_covariance`` by :mod:`adamw_rms.codegen`).
The weight's mean square (step ``corrected.weight_second_moment``) is then, with
:math:`a_t = 1 - \eta_t\lambda_t`, the solution of three linear recursions, each O(T):

.. math::

    \bar\theta_t = a_t\bar\theta_{t-1} - \eta_t e_t, \qquad
    Q_{n,t} = a_t\rho_n\,(Q_{n,t-1} + \eta_{t-1}X_n(t-1)),

    W_t = a_t^2 W_{t-1} + \eta_t^2\sum_n X_n(t)Y_n(t) + 2\eta_t\sum_n Y_n(t)\,Q_{n,t},
    \qquad \Vert\theta_t\Vert_{\mathrm{RMS}}^2 = \Big(\prod_{i\le t} a_i^2\Big)\theta_0^2
    + \bar\theta_t^2 + W_t .

With constant hyperparameters, once every per-step quantity has settled (``beta1**t`` and
``beta2**t`` below 1e-17, and the lag recursions at their fixed points) the rest of the run is a
geometric series, summed in closed form; ``steps=inf`` is the stationary closed form
(``corrected_weight_rms_sq``). Gradients enter through ``snr`` and ``eps / grad_std`` only.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _generated as kernels
from .schedules import linear_recurrence

__all__ = [
    "constant_weight_rms_sq",
    "constant_weight_rms_sq_mpmath",
    "corrected_trajectory",
    "settling_steps",
]

#: The number of separable lag terms of the update's covariance.
LAG_TERMS = kernels.CORRECTED_LAG_TERMS
# Steps evaluated per block (bounds the memory of a long run).
_BLOCK = 2**18


def _kernel(name: str, backend: str = "numpy"):
    return getattr(kernels, f"{name}_{backend}")


def settling_steps(beta1: float, beta2: float) -> int:
    """Steps after which the per-step moments and the lag recursions have settled (1e-17)."""
    slowest = max(beta1, beta2)
    if slowest <= 0.0:
        return 2
    return 2 * math.ceil(math.log(1e-17) / math.log(slowest)) + 2


def _per_step(beta1, beta2, snr, eps_ratio, bias, step):
    arguments = (beta1, beta2, snr, eps_ratio, bias, step)
    mean = _kernel("corrected_update_mean")(*arguments)
    early = [_kernel(f"corrected_lag_early_{n}")(*arguments) for n in range(LAG_TERMS)]
    late = [_kernel(f"corrected_lag_late_{n}")(*arguments) for n in range(LAG_TERMS)]
    return mean, early, late


def _settled_per_step(beta1, beta2, snr, eps_ratio, bias, step):
    """:func:`_per_step`, with the kernels evaluated only until the moments have settled.

    Past :func:`settling_steps` every per-step quantity equals its value there to 1e-17, so
    long runs (a schedule of 10^6 steps) evaluate the kernels on a prefix only.
    """
    settled = settling_steps(beta1, beta2)
    if step[0] > settled:
        mean, early, late = _per_step(beta1, beta2, snr, eps_ratio, float(bias), step[:1])
        size = step.size
        return (
            np.broadcast_to(mean, size),
            [np.broadcast_to(x, size) for x in early],
            [np.broadcast_to(y, size) for y in late],
        )
    if step[-1] <= settled:
        return _per_step(beta1, beta2, snr, eps_ratio, float(bias), step)
    cut = int(settled - step[0]) + 1
    head = _per_step(beta1, beta2, snr, eps_ratio, float(bias), step[:cut])
    size = step.size - cut

    def extend(values):
        return np.concatenate((values, np.broadcast_to(values[-1], size)))

    return extend(head[0]), [extend(x) for x in head[1]], [extend(y) for y in head[2]]


def corrected_trajectory(
    lr: np.ndarray,
    step_decay: np.ndarray,
    *,
    beta1: float,
    beta2: float,
    snr: float,
    eps_ratio: float,
    bias: bool,
    init_rms: float,
    final: dict | None = None,
) -> np.ndarray:
    """The squared weight RMS at steps ``1..T`` for per-step ``lr`` and ``lr * weight_decay``.

    ``lr`` and ``step_decay`` are float64 arrays of length T (validated by the caller);
    ``eps_ratio`` is ``eps / grad_std``. O(T) time, memory O(T) for the result only. If
    ``final`` is a dict it receives the last step's weight mean, update mean and lag sources.
    """
    total = lr.size
    ratios = [float(_kernel(f"corrected_lag_ratio_{n}")(beta1, beta2)) for n in range(LAG_TERMS)]
    out = np.empty(total)
    mean_state, weight_state, log_init = 0.0, 0.0, 0.0
    lag_states = [0.0] * LAG_TERMS
    previous_lr, previous_early = 0.0, [0.0] * LAG_TERMS
    for start in range(0, total, _BLOCK):
        stop = min(total, start + _BLOCK)
        step = np.arange(start + 1, stop + 1, dtype=np.float64)
        eta, decay = lr[start:stop], step_decay[start:stop]
        keep = 1.0 - decay
        mean, early, late = _settled_per_step(beta1, beta2, snr, eps_ratio, bias, step)
        mean_path = linear_recurrence(keep, -eta * mean, mean_state)
        source = eta * eta * sum(x * y for x, y in zip(early, late, strict=True))
        for n, ratio in enumerate(ratios):
            if ratio == 0.0:  # no lag dependence: this term lives on the diagonal only
                continue
            shifted_eta = np.concatenate(([previous_lr], eta[:-1]))
            shifted_x = np.concatenate(([previous_early[n]], early[n][:-1]))
            factor = keep * ratio
            lag = linear_recurrence(factor, factor * shifted_eta * shifted_x, lag_states[n])
            source = source + 2.0 * eta * late[n] * lag
            lag_states[n] = float(lag[-1])
        weight_path = linear_recurrence(keep * keep, source, weight_state)
        log_keep = np.cumsum(np.log(keep)) + log_init
        init_part = np.exp(2.0 * log_keep) * init_rms**2 if init_rms > 0 else 0.0
        out[start:stop] = init_part + mean_path**2 + weight_path
        mean_state, weight_state = float(mean_path[-1]), float(weight_path[-1])
        log_init = float(log_keep[-1])
        previous_lr = float(eta[-1])
        previous_early = [float(x[-1]) for x in early]
    if final is not None:
        final.update(
            weight_state=weight_state,
            weight_mean=mean_state,
            update_mean=float(mean[-1]),
            early=previous_early,
            late=[float(y[-1]) for y in late],
            ratios=ratios,
        )
    return out


def _geometric_tail(keep: float, steps: float) -> tuple[float, float, float, float]:
    """``keep**n``, ``keep**(2n)``, ``sum_{j<n} keep**j`` and ``sum_{j<n} keep**(2j)``."""
    if keep == 1.0:
        return 1.0, 1.0, steps, steps
    log_keep = math.log(keep)
    power = math.exp(steps * log_keep)
    power_sq = math.exp(2 * steps * log_keep)
    return (
        power,
        power_sq,
        -math.expm1(steps * log_keep) / -math.expm1(log_keep),
        -math.expm1(2 * steps * log_keep) / -math.expm1(2 * log_keep),
    )


def constant_weight_rms_sq(
    lr: float,
    weight_decay: float,
    steps: float,
    *,
    beta1: float,
    beta2: float,
    snr: float,
    eps_ratio: float,
    bias: bool,
    init_rms: float,
) -> float:
    """The squared weight RMS after ``steps`` (finite) steps of constant ``lr``, decay."""
    decay = lr * weight_decay
    settled = settling_steps(beta1, beta2)
    direct = int(min(steps, settled))
    if direct == 0:
        return init_rms**2
    final: dict = {}
    rms_sq = corrected_trajectory(
        np.full(direct, lr),
        np.full(direct, decay),
        beta1=beta1,
        beta2=beta2,
        snr=snr,
        eps_ratio=eps_ratio,
        bias=bias,
        init_rms=0.0,
        final=final,
    )
    keep = 1.0 - decay
    if steps <= settled:
        return float(rms_sq[-1]) + init_rms**2 * keep ** (2 * direct)
    # Settled: the mean and weight recursions have constant sources from here on, and each lag
    # recursion sits at its fixed point keep*rho*lr*X / (1 - keep*rho).
    e, x, y = final["update_mean"], final["early"], final["late"]
    source = lr * lr * sum(a * b for a, b in zip(x, y, strict=True))
    for n, ratio in enumerate(final["ratios"]):
        factor = keep * ratio
        source += 2.0 * lr * y[n] * factor * lr * x[n] / (1.0 - factor)
    power, power_sq, total, total_sq = _geometric_tail(keep, steps - direct)
    mean_settled = final["weight_mean"]
    mean = power * mean_settled - lr * e * total
    weight = power_sq * final["weight_state"] + source * total_sq
    return mean**2 + weight + init_rms**2 * keep ** (2 * steps)


def constant_weight_rms_sq_mpmath(
    lr: float,
    weight_decay: float,
    steps: float,
    *,
    beta1: float,
    beta2: float,
    snr: float,
    eps_ratio: float,
    bias: bool,
    init_rms: float,
) -> Any:
    """:func:`constant_weight_rms_sq` in mpmath: the same recursions, one step at a time."""
    import mpmath

    mp = mpmath.mpf
    lr_v, decay = mp(lr), mp(lr) * mp(weight_decay)
    keep = 1 - decay
    b1, b2, s, e, b = mp(beta1), mp(beta2), mp(snr), mp(eps_ratio), mp(int(bias))
    ratios = [_kernel(f"corrected_lag_ratio_{n}", "mpmath")(b1, b2) for n in range(LAG_TERMS)]
    direct = int(min(steps, settling_steps(beta1, beta2)))
    mean_state, weight_state = mp(0), mp(0)
    lags = [mp(0)] * LAG_TERMS
    early_previous = [mp(0)] * LAG_TERMS
    for step in range(1, direct + 1):
        arguments = (b1, b2, s, e, b, mp(step))
        mean = _kernel("corrected_update_mean", "mpmath")(*arguments)
        early = [
            _kernel(f"corrected_lag_early_{n}", "mpmath")(*arguments) for n in range(LAG_TERMS)
        ]
        late = [_kernel(f"corrected_lag_late_{n}", "mpmath")(*arguments) for n in range(LAG_TERMS)]
        lags = [
            keep * r * (q + lr_v * x) for r, q, x in zip(ratios, lags, early_previous, strict=True)
        ]
        source = lr_v**2 * mpmath.fsum(x * y for x, y in zip(early, late, strict=True))
        source += 2 * lr_v * mpmath.fsum(y * q for y, q in zip(late, lags, strict=True))
        weight_state = keep**2 * weight_state + source
        mean_state = keep * mean_state - lr_v * mean
        early_previous = early
    rest = mp(steps) - direct
    if rest > 0:
        source = lr_v**2 * mpmath.fsum(x * y for x, y in zip(early, late, strict=True))
        for n, r in enumerate(ratios):
            factor = keep * r
            source += 2 * lr_v * late[n] * factor * lr_v * early[n] / (1 - factor)
        if keep == 1:
            total, total_sq = rest, rest
        else:
            total, total_sq = (
                (1 - keep**rest) / (1 - keep),
                (1 - keep ** (2 * rest)) / (1 - keep**2),
            )
        weight_state = keep ** (2 * rest) * weight_state + source * total_sq
        mean_state = keep**rest * mean_state - lr_v * mean * total
    return mean_state**2 + weight_state + mp(init_rms) ** 2 * keep ** (2 * mp(steps))

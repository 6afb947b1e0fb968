r"""The weight RMS of SignSGDMW (``u = sign(m)`` with decoupled weight decay).

Two formulas from :mod:`adamw_rms.derivations.sign_sgdm`:

* ``formula="arcsine"`` (the default): the lag sum of the sign update's autocovariances, whose
  correlations follow the arcsine law (beyond the source; no mean-field step);
* ``formula="source"``: the source's mean-field formula, which over-predicts for ``beta1 > 0``.

The arcsine series is evaluated in float64 as

.. math::

    \Vert\theta_t\Vert^2 = x^2\rho_0 + \eta^2\Bigl[r_t^2 M^2
    + \frac{(1-M^2)\,r_{2t}}{2-q} + \frac{2}{2-q}\sum_{k=1}^{t-1} \beta_3^k\, r_{2(t-k)}\, C_k\Bigr]

with :math:`q = \eta\lambda`, :math:`x = \beta_3^t`, :math:`r_n = (1-\beta_3^n)/q` (exactly
:math:`n` at :math:`q = 0`, :math:`1/q` at :math:`n = \infty`), :math:`M = \mathbb{E}[u]` and
:math:`C_k` the autocovariance at lag ``k``; this is the derived eq:theta-rms-sign-arcsine-snr
with :math:`1-\beta_3^2 = q(2-q)` divided out (tests compare it with mpmath evaluations of the
derived expression). Each :math:`C_k` is :math:`\tfrac{2}{\pi}\int_0^{\arcsin\beta_1^k}
e^{-a^2/(1+\sin\phi)}\,d\phi`, integrated by Gauss-Legendre quadrature (exact for ``snr = 0``,
where the integrand is 1). Since :math:`0 \le C_k \le \beta_1^k` and :math:`r_n \le R =
\min(2t, 1/q)`, the terms after ``K`` add at most :math:`\frac{2R}{2-q}
\frac{(\beta_1\beta_3)^{K+1}}{1-\beta_1\beta_3}`; ``K`` is the smallest count for which this is
below :math:`2^{-60}` of the other terms, so the truncation is far below float64 rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _generated as kernels
from ._common import (
    _beta1,
    _check_backend,
    _decay_terms_mpmath,
    _decay_terms_numpy,
    _elementwise_mpmath,
    _hyper,
    _output,
    _trajectory_inputs,
)
from ._validate import check_range

__all__ = ["FORMULAS", "sign_sgdm_weight_rms", "truncation_bound"]

#: The formulas :func:`sign_sgdm_weight_rms` can evaluate.
FORMULAS = ("arcsine", "source")

# Gauss-Legendre nodes on [-1, 1]; the integrand is analytic on the interval (1 + sin >= 1).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_RELATIVE_TRUNCATION = 2.0**-60


def _decay_ratio(q: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``r_n = (1 - (1-q)**n)/q`` with its exact limits: the shared ``r1`` of part 1."""
    return _decay_terms_numpy(q, steps)[1]


def _largest_ratio(q: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """``R = min(2t, 1/q)``, the largest ``r_{2(t-k)}`` of the series (``2t`` at ``q = 0``)."""
    return np.minimum(2 * steps, np.where(q > 0, 1 / np.where(q > 0, q, 1.0), np.inf))


def _lag_sum(q: np.ndarray, beta1: np.ndarray, steps: np.ndarray, snr: np.ndarray, count: int):
    """``sum_{k=1}^{count} beta3^k r_{2(t-k)} C_k`` (lags past ``t - 1`` dropped), elementwise.

    Lags are evaluated in blocks, vectorised over elements and lags. ``C_k`` is the derived
    integral by 32-point Gauss-Legendre quadrature; at ``snr = 0`` the integrand is exactly 1
    and the integral is its upper limit, taken directly.
    """
    shape = q.shape
    q, beta1, steps, snr = (a.reshape(-1, 1) for a in (q, beta1, steps, snr))
    total = np.zeros(q.shape[0])
    noisy = snr[:, 0] > 0
    # Keep the quadrature's temporaries near a few MiB whatever the input size.
    block = max(1, min(count, (1 << 18) // (len(_NODES) * max(1, int(noisy.sum())))))
    scale = kernels.sign_covariance_scale_numpy()
    for first in range(1, count + 1, block):
        lags = np.arange(first, min(count, first + block - 1) + 1, dtype=np.float64)[None, :]
        integral = kernels.sign_covariance_upper_numpy(beta1, lags)
        if noisy.any():
            half = integral[noisy] / 2
            angles = half[..., None] * (_NODES + 1)
            values = kernels.sign_covariance_integrand_numpy(
                beta1[noisy, :, None], snr[noisy, :, None], angles
            )
            integral[noisy] = half * (values @ _WEIGHTS)
        remaining = np.maximum(steps - lags, 0.0)  # lags past t - 1 are masked below
        weight = (1 - q) ** lags * _decay_ratio(q, 2 * remaining)
        total += np.where(steps - 1 >= lags, weight * (scale * integral), 0.0).sum(axis=1)
    return total.reshape(shape)


def truncation_bound(
    lr: Any, weight_decay: Any, *, beta1: Any, steps: Any, terms: Any
) -> np.ndarray | float:
    r"""Upper bound on the series terms after the first ``terms`` (in units of ``lr**2``).

    .. math:: \frac{2R}{2-q}\,\frac{(\beta_1\beta_3)^{K+1}}{1-\beta_1\beta_3},
        \qquad R = \min(2t, 1/q),\ q = \eta\lambda,\ K = \text{terms}.

    Examples
    --------
    >>> from adamw_rms.estimators.sign_sgdm import truncation_bound
    >>> truncation_bound(1e-3, 0.1, beta1=0.9, steps=float("inf"), terms=500) < 1e-17
    True
    """
    _, _, q = _hyper(lr, weight_decay)
    ratio = _beta1(beta1) * (1 - q)
    largest = _largest_ratio(q, check_range("steps", steps, 0.0, allow_inf=True, whole=True))
    bound = 2 * largest / (2 - q) * ratio ** (check_range("terms", terms, 0.0, whole=True) + 1)
    bound /= 1 - ratio
    return float(bound) if np.ndim(bound) == 0 else bound


def _terms_needed(ratio: np.ndarray, largest: np.ndarray, q: np.ndarray, floor: np.ndarray) -> int:
    """The smallest ``K`` whose truncation bound is below ``2**-60 * floor`` everywhere."""
    active = (ratio > 0) & (largest > 0)  # no momentum, or no steps: no lag terms at all
    if not active.any():
        return 0
    target = (
        _RELATIVE_TRUNCATION * floor * (1 - ratio) * (2 - q) / (2 * np.where(active, largest, 1))
    )
    with np.errstate(divide="ignore"):
        needed = np.log(np.where(active, target, 1.0)) / np.log(np.where(active, ratio, 0.5)) - 1
    return int(np.ceil(np.max(np.where(active, needed, 0.0), initial=0.0)))


def _arcsine_numpy(lr, decay, beta1, steps, snr, init) -> np.ndarray:
    q = lr * decay
    mean = kernels.sign_update_mean_numpy(beta1, snr)
    mean_sq = mean * mean
    decay_power, r_t = _decay_terms_numpy(q, steps)
    r_2t = _decay_ratio(q, 2 * steps)
    leading = r_t * r_t * mean_sq + (1 - mean_sq) * r_2t / (2 - q)
    ratio = beta1 * (1 - q)
    largest = _largest_ratio(q, steps)
    count = _terms_needed(ratio, largest, q, np.where(leading > 0, leading, 1.0))
    count = int(min(count, np.max(np.where(np.isfinite(steps), steps - 1, count), initial=0)))
    lag_sum = _lag_sum(q, beta1, steps, snr, count)
    fluctuation = leading + 2 * lag_sum / (2 - q)
    return decay_power**2 * init**2 + lr**2 * fluctuation


def _arcsine_mpmath(lr, decay, beta1, steps, snr, init):
    import mpmath

    q = lr * decay
    if mpmath.isinf(steps) and q == 0:
        return mpmath.inf
    beta3 = 1 - q

    def ratio(n):
        return _decay_terms_mpmath(q, n)[1]

    decay_power = _decay_terms_mpmath(q, steps)[0]
    mean = kernels.sign_update_mean_mpmath(beta1, snr)
    leading = ratio(steps) ** 2 * mean**2 + (1 - mean**2) * ratio(2 * steps) / (2 - q)
    scale = kernels.sign_covariance_scale_mpmath()
    total, lag = mpmath.mpf(0), 1
    largest = min(2 * steps, 1 / q if q > 0 else mpmath.inf)
    tolerance = mpmath.eps * (leading if leading > 0 else 1)
    while mpmath.isinf(steps) or lag <= steps - 1:
        if beta1 == 0:
            break
        upper = kernels.sign_covariance_upper_mpmath(beta1, lag)
        covariance = scale * mpmath.quad(
            lambda angle: kernels.sign_covariance_integrand_mpmath(beta1, snr, angle), [0, upper]
        )
        total += beta3**lag * ratio(2 * (steps - lag)) * covariance
        tail = 2 * largest / (2 - q) * (beta1 * beta3) ** (lag + 1) / (1 - beta1 * beta3)
        if tail < tolerance:
            break
        lag += 1
    return decay_power**2 * init**2 + lr**2 * (leading + 2 * total / (2 - q))


def sign_sgdm_weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    beta1: Any = 0.9,
    steps: Any = np.inf,
    snr: Any = 0.0,
    init_rms: Any = 0.0,
    formula: str = "arcsine",
    backend: str = "numpy",
) -> Any:
    r"""The weight RMS of SignSGDMW after ``steps`` steps.

    SignSGD with momentum and decoupled weight decay:
    ``m <- beta1 m + (1 - beta1) g``, ``theta <- theta - lr * (sign(m) + weight_decay * theta)``
    (the decay per step is ``lr * weight_decay``, :math:`\beta_3 = 1 - \eta\lambda`), with iid
    Gaussian gradients of signal-to-noise ratio ``snr`` in every coordinate.

    ``formula="arcsine"`` (default; steps ``sign_sgdm.theta_rms_arcsine_general`` and
    ``theta_rms_arcsine_general_limit``):

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 \approx \beta_3^{2t}\rho_0
        + \frac{(1-\beta_3^t)^2 M^2}{\lambda^2} + \frac{(1-\beta_3)^2}{\lambda^2(1-\beta_3^2)}
        \Bigl[(1-\beta_3^{2t})(1-M^2) + 2\sum_{k=1}^{t-1}(\beta_3^k - \beta_3^{2t-k})\,C_k\Bigr]

    with :math:`M = \mathrm{erf}(a/\sqrt2)`, :math:`a^2 = \mathrm{SNR}\,(1+\beta_1)/(1-\beta_1)`
    and :math:`C_k = \frac{2}{\pi}\int_0^{\arcsin\beta_1^k} e^{-a^2/(1+\sin\phi)}d\phi`
    (:math:`\frac{2}{\pi}\arcsin\beta_1^k` at ``snr = 0``). The series is summed until a bound
    on the rest is below float64 rounding (:func:`truncation_bound`).

    ``formula="source"`` (step ``sign_sgdm.theta_rms_sign``, the source's mean field):

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 \approx \beta_3^{2t}\rho_0 + (1-\beta_3^t)^2
        \frac{\mathrm{SNR} + \frac{(1-\beta_3)(1+\beta_3^t)}{2(1-\beta_3^t)}}
        {\lambda^2\bigl(\mathrm{SNR} + \frac{1-\beta_1}{1+\beta_1}\bigr)}.

    Accuracy (measured against the numba sweep's SignSGDMW on the grid of
    ``docs/accuracy.md``: ``beta1`` 0 to 0.95, SNR 0 to 10, ``lr * weight_decay`` 1e-4 and
    1e-3, ``t * lr * weight_decay`` 0.1 to 10, SE <= 0.2% per point): the arcsine formula is
    within -0.16% ... +0.34% of simulation for ``t * lr * weight_decay >= 3`` and within
    -0.46% ... +2.4% from 0.3; the largest errors are early (up to +7.5% after 100 steps at
    ``beta1 = 0.95``, SNR 0.1), where the momentum's mean is still building up, which the
    stationary formula ignores. The source's formula over-predicts at SNR = 0 by the factor
    :math:`\frac{1+\beta_1}{1-\beta_1} / (1 + \frac{4}{\pi}\sum_k\arcsin\beta_1^k)` in the
    squared RMS: measured +14.2% (RMS) at ``beta1 = 0.5``, +19.7% ... +20.0% at 0.9,
    +20.0% ... +21.2% at 0.95 (steady state); both agree at ``beta1 = 0``, ``snr = 0``. With a
    gradient mean the source's formula is off even at ``beta1 = 0`` (-6.3% ... +21.6% at
    SNR 0.1): it uses SNR/(SNR+1) where the sign's mean is :math:`\mathrm{erf}(a/\sqrt2)`.

    Parameters
    ----------
    lr, weight_decay
        ``>= 0`` with ``lr * weight_decay < 1``; ``weight_decay = 0`` is the exact no-decay
        limit (the RMS grows without bound as ``steps -> inf``).
    beta1
        Momentum, ``[0, 1)``.
    steps
        A whole number ``>= 0`` or ``inf`` (the equilibrium).
    snr
        :math:`\mu^2/\sigma^2` of every coordinate, ``>= 0``.
    init_rms
        RMS of the initial weights, ``>= 0``.
    formula
        ``"arcsine"`` or ``"source"``.
    backend
        ``"numpy"`` (float64, broadcasting) or ``"mpmath"`` (elementwise, current precision).

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators import sign_sgdm_weight_rms
    >>> round(sign_sgdm_weight_rms(1e-3, 0.1, beta1=0.0), 5)  # ~ sqrt(lr / (2 wd)): no momentum
    0.07071
    >>> round(sign_sgdm_weight_rms(1e-3, 0.1, beta1=0.9, formula="source"), 4)
    0.3082
    >>> round(sign_sgdm_weight_rms(1e-3, 0.1, beta1=0.9), 4)
    0.2576
    """
    _check_backend(backend)
    if formula not in FORMULAS:
        raise ValueError(f"formula must be one of {FORMULAS}; got {formula!r}")
    beta1_a = _beta1(beta1)
    lr_a, decay_a, q, steps_a, snr_a, init_a = _trajectory_inputs(
        lr, weight_decay, steps, snr, init_rms
    )
    # No weight decay and infinitely many steps: unbounded, or (lr = 0) the initialisation.
    forever = np.isinf(steps_a) & (q == 0)
    unbounded = forever & (lr_a > 0)
    if backend == "mpmath":
        import mpmath

        def one(lr_v, decay_v, beta1_v, steps_v, snr_v, init_v):
            q_v = lr_v * decay_v
            if mpmath.isinf(steps_v) and q_v == 0:
                return mpmath.inf if lr_v > 0 else init_v
            if formula == "source":
                power, total = _decay_terms_mpmath(q_v, steps_v)
                square = kernels.sign_sgdm_source_weight_rms_sq_mpmath(
                    lr_v, decay_v, beta1_v, power, total, snr_v, init_v
                )
            else:
                square = _arcsine_mpmath(lr_v, decay_v, beta1_v, steps_v, snr_v, init_v)
            return mpmath.sqrt(square)

        return _elementwise_mpmath(one, lr_a, decay_a, beta1_a, steps_a, snr_a, init_a)
    shape = np.broadcast_shapes(
        *(a.shape for a in (lr_a, decay_a, beta1_a, steps_a, snr_a, init_a))
    )
    lr_b, decay_b, beta1_b, steps_b, snr_b, init_b = (
        np.broadcast_to(a, shape) for a in (lr_a, decay_a, beta1_a, steps_a, snr_a, init_a)
    )
    # lr = 0 learns nothing: evaluating at steps = 0 instead of inf gives the same init_rms.
    safe_steps = np.where(np.broadcast_to(forever, shape), 0.0, steps_b)
    if formula == "source":
        power, total = _decay_terms_numpy(lr_b * decay_b, safe_steps)
        square = kernels.sign_sgdm_source_weight_rms_sq_numpy(
            lr_b, decay_b, beta1_b, power, total, snr_b, init_b
        )
    else:
        square = _arcsine_numpy(lr_b, decay_b, beta1_b, safe_steps, snr_b, init_b)
    result = np.sqrt(square)
    result = np.where(np.broadcast_to(unbounded, shape), np.inf, result)
    return _output(result, lr, weight_decay, beta1, steps, snr, init_rms)

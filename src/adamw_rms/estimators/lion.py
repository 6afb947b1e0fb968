r"""The weight RMS of Lion (sign of an interpolated momentum, decoupled weight decay).

Two formulas from :mod:`adamw_rms.derivations.lion`:

* ``formula="arcsine"`` (the default): the exact second moment of the weights, the double sum
  of the pair moments of the signs (steps ``lion.theta_rms_lion`` and, at ``steps=inf``,
  ``lion.theta_rms_lion_limit``);
* ``formula="req"``: Kosson et al.'s REQ formula (step ``lion.req_equilibrium``), the same
  random walk with the sign linearised, at equilibrium and ``snr = 0`` only.

Writing :math:`q = \eta\lambda`, :math:`\beta_3 = 1 - q`, :math:`M_s = \mathrm{erf}(a_s/\sqrt2)`
for the mean of the update at step ``s`` and :math:`C_{s,k}` for the covariance of the updates
``s`` and ``s + k`` (the two-shift arcsine integral of ``lion.sign_pair_moment``), the exact sum
is

.. math::

    \Vert\theta_t\Vert^2 = \beta_3^{2t}\rho_0 + \eta^2\Bigl[\Bigl(\sum_{s=1}^{t}\beta_3^{t-s}
    M_s\Bigr)^2 + \sum_{s=1}^{t}\beta_3^{2(t-s)}(1-M_s^2) + 2\sum_{s=1}^{t-1}\sum_{k=1}^{t-s}
    \beta_3^{2t-2s-k}C_{s,k}\Bigr].

The statistics of step ``s`` differ from the stationary ones by terms in
:math:`\beta_2^{s-1}`; from :math:`S_0` on, where :math:`\beta_2^{S_0-1} < 2^{-60}`
(:math:`\beta_2^{2(S_0-1)}` at ``snr = 0``, where only the variance and correlation move), they are
the stationary ones to float64 rounding, and the rest of the sum is geometric in ``s`` (summed
in closed form, lag by lag). The pairs that start before :math:`S_0` are summed one by one. The
lags are cut at ``K`` where the bound :math:`|C_{s,k}| \le \rho_{s,k} \le
\beta_2^{k-1}\,c_{\max}/v_{\min}` (the filter's largest lag-1 covariance over its smallest
variance) leaves less than :math:`2^{-60}` of the total. The cost is about :math:`S_0 K` pair
terms for finite ``steps`` (:math:`S_0` and ``K`` both grow like :math:`1/(1-\beta_2)`), shared
by the elements of an array with the same ``(beta1, beta2, steps, snr)``; a group whose count
(a quadrature with a gradient mean counted 4 times) would take more than about five minutes is
refused with a ValueError.

At ``steps=inf`` only the stationary lags remain, :math:`\rho_k = \rho_1\beta_2^{k-1}`, and the
lag sum :math:`\sum_k\beta_3^kC_k` is evaluated over arrays, per distinct ``(beta1, beta2,
snr)``: the lags with :math:`\rho_k \ge` a cut (0.5 ... 0.9) one by one, the rest through the
tetrachoric series :math:`C(\rho) = 4\varphi(a)^2\sum_{n\ge1}\rho^n\mathrm{He}_{n-1}(a)^2/n!`
(the arcsine series at ``snr = 0``), whose lag sums are geometric in :math:`\beta_3\beta_2^n`.
Its terms are positive and stop where Cramer's bound on the Hermite functions leaves less than
:math:`2^{-62}`; the result equals the lag-by-lag sum to rounding (``tests/test_lion.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _generated as kernels
from ._common import (
    _beta1,
    _check_backend,
    _elementwise_mpmath,
    _output,
    _trajectory_inputs,
)
from ._validate import check_range

__all__ = ["FORMULAS", "lion_bound", "lion_weight_rms"]

#: The formulas :func:`lion_weight_rms` can evaluate.
FORMULAS = ("arcsine", "req")

# Gauss-Legendre rules for |correlation| < 0.3, < 0.75 and up to 1 (see _sign_covariance).
_RULES = tuple(np.polynomial.legendre.leggauss(n) for n in (8, 16, 32))
_RELATIVE_TRUNCATION = 2.0**-60
_LOG_TRUNCATION = np.log(_RELATIVE_TRUNCATION)
_BLOCK = 1 << 15  # pair terms per block (times the quadrature nodes with a gradient mean)


def _settled_step(beta2: float, noisy: bool) -> int:
    """``S_0``: the first step whose statistics equal the stationary ones to ``2**-60``.

    The variance and correlation move by ``beta2**(2(s-1))``, the mean by ``beta2**(s-1)``
    (which only matters with a gradient mean).
    """
    if beta2 == 0.0:
        return 2  # the first step alone sees m_0 = 0
    order = 1 if noisy else 2
    return int(np.ceil(1 + _LOG_TRUNCATION / (order * np.log(beta2)))) + 1


def _lags_needed(beta1: float, beta2: float, floor: float) -> int:
    """``K``: the lags after it add less than ``2**-60 * floor`` (weights are at most 1)."""
    largest = float(kernels.lion_filter_covariance_numpy(beta1, beta2, 0.0, 1.0))
    smallest = float(kernels.lion_filter_variance_numpy(beta1, beta2, 1.0))
    if largest <= 0.0 or beta2 == 0.0:
        return 1 if largest > 0.0 else 0
    # sum_{k > K} beta2^(k-1) c / v = c / v * beta2^K / (1 - beta2) < 2^-60 * floor
    ratio = largest / smallest / (1 - beta2)
    return max(1, int(np.ceil((_LOG_TRUNCATION + np.log(floor / ratio)) / np.log(beta2))))


def _sign_covariance(shift, shift_y, correlation, noisy: bool) -> np.ndarray:
    """``C``: the two-shift arcsine integral by Gauss-Legendre quadrature (exact at ``snr = 0``,
    where the integrand is 1 and the integral is its upper limit).

    The integrand is at most 1 and analytic on the interval; the shorter the interval (the
    smaller the correlation), the fewer nodes reach float64 rounding: 8 below 0.3 and 16 below
    0.75 (Genz's split for the bivariate normal, with more nodes), 32 above. Each rule agrees with
    mpmath quadrature to rounding (``tests/test_lion.py``).
    """
    upper = kernels.lion_pair_upper_numpy(correlation)
    scale = kernels.lion_pair_scale_numpy()
    if not noisy:
        return scale * upper
    out = np.empty_like(upper)
    bands = (np.abs(correlation) < 0.3, np.abs(correlation) < 0.75, np.ones_like(upper, bool))
    done = np.zeros_like(upper, bool)
    for band, (nodes, weights) in zip(bands, _RULES, strict=True):
        pick = band & ~done
        done |= pick
        if not pick.any():
            continue
        half = upper[pick] / 2
        angles = half[..., None] * (nodes + 1)
        values = kernels.lion_pair_integrand_numpy(
            shift[pick][..., None], shift_y[pick][..., None], angles
        )
        out[pick] = scale * half * (values @ weights)
    return out


def _statistics(beta1: float, beta2: float, snr: float, steps: np.ndarray):
    """Variance, shift and mean of the update at the given steps (``inf``: stationary)."""
    finite = np.isfinite(steps)
    transient = np.where(finite, beta2 ** np.where(finite, steps - 1, 0.0), 0.0)
    variance = kernels.lion_filter_variance_numpy(beta1, beta2, transient)
    mean = kernels.lion_filter_mean_numpy(beta1, beta2, transient)
    shift = np.sqrt(snr) * mean / np.sqrt(variance)
    return variance, shift, kernels.lion_sign_mean_numpy(shift)


def _geometric(log_beta3: float, q: float, count, power: int):
    """``sum_{j=0}^{count-1} beta3**(power j)``, stably (``count``: a number, which may be
    ``inf``, or an array of finite counts ``>= 1``)."""
    if np.ndim(count):
        if q == 0.0:
            return np.asarray(count, dtype=np.float64)
        return np.expm1(power * count * log_beta3) / np.expm1(power * log_beta3)
    if count <= 0:
        return 0.0
    if q == 0.0:
        return float(count)
    if np.isinf(count):
        return 1.0 / (-np.expm1(power * log_beta3))
    return float(np.expm1(power * count * log_beta3) / np.expm1(power * log_beta3))


def _pair_block(starts: np.ndarray, lags: int, steps: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(s, k)`` with ``s`` in ``starts`` and ``1 <= k <= min(lags, steps - s)``."""
    counts = np.minimum(lags, steps - starts).astype(np.int64)
    s = np.repeat(starts, counts)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    return s, (np.arange(s.size) - offsets + 1).astype(np.float64)


# Cramer's inequality |He_n(x)| <= K sqrt(n!) exp(x^2/4) bounds the orthant series' terms.
_CRAMER = 1.086435
_CUTS = (0.5, 0.6, 0.7, 0.8, 0.9)  # candidate correlations where the lag sum turns to the series
_CHUNK = 4096  # elements per block of the (elements x lags) and (elements x terms) matrices


def _orthant_terms(shift: float, cut: float, beta2: float) -> np.ndarray:
    r"""``d_n`` of :math:`C(\rho) = \sum_{n \ge 1} d_n\rho^n` for equal shifts ``a``.

    The tetrachoric (Mehler) series of the bivariate normal orthant gives
    :math:`\mathrm{Cov}(\mathrm{sign}\,X, \mathrm{sign}\,Y) = 4\varphi(a)^2
    \sum_n \rho^n\mathrm{He}_{n-1}(a)^2/n!` (at ``a = 0`` the arcsine series,
    ``d_1 = 2/pi``). With :math:`g_n = \varphi(a)\mathrm{He}_n(a)/\sqrt{n!}` (a stable
    three-term recurrence, :math:`|g_n| \le K e^{-a^2/4}/\sqrt{2\pi}`),
    :math:`d_n = 4g_{n-1}^2/n`. Terms stop once the rest, over every lag with correlation
    below ``cut`` (:math:`\sum_k\rho_k^n \le \mathrm{cut}^n/(1-\beta_2^n)`), is below
    ``2**-62`` (all terms are positive: no cancellation).
    """
    bound = 4 * _CRAMER**2 * np.exp(-(shift**2) / 2) / (2 * np.pi)
    g_previous, g = 0.0, np.exp(-(shift**2) / 2) / np.sqrt(2 * np.pi)
    terms = []
    n = 1
    while True:
        terms.append(4 * g * g / n)
        # Tail over n' > n: bound / (n+1) cut^(n+1) / ((1 - cut)(1 - beta2^(n+1))).
        tail = bound / (n + 1) * cut ** (n + 1) / ((1 - cut) * -np.expm1((n + 1) * np.log(beta2)))
        if tail < 2.0**-62:
            return np.array(terms)
        g_previous, g = g, (shift * g - np.sqrt(n - 1) * g_previous) / np.sqrt(n)
        n += 1


def _lag_sums(beta1: float, beta2: float, snr: float, log_beta3: np.ndarray) -> np.ndarray:
    r""":math:`\sum_{k \ge 1}\beta_3^kC_k` at equilibrium for each ``beta3`` of one group.

    ``rho_k = r beta2^(k-1)``: the lags with ``rho_k >= cut`` are summed one by one (their
    ``C_k`` by :func:`_sign_covariance`, once for the group); the rest by the series of
    :func:`_orthant_terms`, whose lag sums are geometric:
    :math:`\sum_{k > k_0}\beta_3^k\rho_k^n = \beta_3^{k_0+1}\rho_{k_0+1}^n /
    (1 - \beta_3\beta_2^n)`. ``cut`` minimises the lags plus the series terms.
    """
    out = np.zeros_like(log_beta3)
    first = float(kernels.lion_stationary_correlation_numpy(beta1, beta2, 1.0))
    if first <= 0.0:
        return out  # beta1 = 0: the signs are independent
    noisy = snr > 0.0
    _, shift, _ = (float(v) for v in _statistics(beta1, beta2, snr, np.array(np.inf)))
    if beta2 == 0.0:  # only lag 1 is correlated
        covariance = _sign_covariance(
            np.array([shift]), np.array([shift]), np.array([first]), noisy
        )
        return np.exp(log_beta3) * covariance[0]
    plans = []
    for cut in _CUTS:
        direct = 0 if first < cut else int(np.floor(np.log(cut / first) / np.log(beta2))) + 1
        terms = _orthant_terms(shift, cut, beta2)
        plans.append((direct + terms.size, direct, terms))
    _, direct, terms = min(plans, key=lambda plan: plan[0])
    lags = np.arange(1, direct + 1, dtype=np.float64)
    correlation = kernels.lion_stationary_correlation_numpy(beta1, beta2, lags)
    covariance = _sign_covariance(
        np.full_like(lags, shift), np.full_like(lags, shift), correlation, noisy
    )
    start = float(kernels.lion_stationary_correlation_numpy(beta1, beta2, direct + 1.0))
    orders = np.arange(1, terms.size + 1, dtype=np.float64)
    weights = terms * start**orders
    # 1 - beta3 beta2^n = (1 - beta2^n) + q beta2^n, both parts >= 0: no cancellation.
    beta2_powers = np.exp(orders * np.log(beta2))
    settled = -np.expm1(orders * np.log(beta2))
    for first_index in range(0, log_beta3.size, _CHUNK):
        block = slice(first_index, first_index + _CHUNK)
        log_b3 = log_beta3[block][:, None]
        q = -np.expm1(log_b3)
        series = (1.0 / (settled + q * beta2_powers)) @ weights
        out[block] = np.exp((direct + 1) * log_beta3[block]) * series
        if direct:
            out[block] += np.exp(log_b3 * lags) @ covariance
    return out


def _equilibrium_numpy(lr, decay, beta1: float, beta2: float, snr: float) -> np.ndarray:
    r"""The weight RMS at ``steps=inf`` for 1-D ``lr, decay > 0`` of one group.

    :math:`\eta^2[M^2/q^2 + (1 - M^2 + 2\sum_k\beta_3^kC_k)/(1-\beta_3^2)]`, written
    with :math:`f_p = q/(1-\beta_3^p)` (``1/p`` below ``q = 2**-60``, where ``q`` may be
    subnormal) and :math:`\eta/q = 1/\lambda`, and the RMS formed by ``hypot``: nothing overflows
    or underflows on the way.
    """
    q = lr * decay
    log_beta3 = np.log1p(-q)
    tiny = q < 2.0**-60
    safe = np.where(tiny, 0.5, q)  # any q in (0, 1) for the lanes replaced below

    def ratio(power):
        return np.where(tiny, 1.0 / power, safe / -np.expm1(power * np.log1p(-safe)))

    _, _, mean = (float(v) for v in _statistics(beta1, beta2, snr, np.array(np.inf)))
    pairs = _lag_sums(beta1, beta2, snr, log_beta3)
    noise = np.sqrt(lr) * np.sqrt(ratio(2) * (1 - mean**2 + 2 * pairs)) / np.sqrt(decay)
    return np.hypot(mean * ratio(1) / decay, noise)


# Pair terms (a quadrature with a gradient mean counts 4) above which a finite-steps call is
# refused: about 5 minutes at the 1e7 terms/s measured for the docstring's costs.
_MAX_WORK = 3e9


def _check_work(early: int, lags: int, steps: float, noisy: bool) -> None:
    """Refuse a finite-steps evaluation whose pair terms would take more than minutes."""
    starts = np.arange(1, early + 1, dtype=np.float64)
    pairs = float(np.minimum(lags, steps - starts).sum())
    work = pairs * (4 if noisy else 1)
    if work > _MAX_WORK:
        raise ValueError(
            f"lion_weight_rms: steps={steps:g} would sum {pairs:.2g} transient pair terms "
            f"(S_0 = {early + 1} settling steps x K = {lags} lags; about {work / 1e7 / 60:.0f} "
            f"minutes at 1e7 terms/s), over the limit of about 5 minutes; use fewer steps, a "
            "smaller beta2, or steps=inf once beta3**steps is negligible"
        )


def _one_numpy(lr, decay, beta1, beta2, steps, snr, init) -> float:
    """The weight RMS for one set of scalar inputs (float64), element by element.

    The reference that :func:`_finite_group` and :func:`_equilibrium_numpy` reproduce to
    rounding (``tests/test_lion.py``); :func:`lion_weight_rms` calls it for the elements neither
    takes (``steps=0``, or ``steps=inf`` without movement or decay).

    The sums are kept in units of ``scale`` (the largest weight sum, ``>= 1``) and the RMS is
    formed by ``hypot``: neither ``lr**2`` (``lr = 1e-300``) nor the squared mean sum
    (``weight_decay = 0`` and ``steps = 1e300``) leaves float64 on the way.
    """
    q = lr * decay
    if np.isinf(steps) and q == 0.0:
        return np.inf if lr > 0 else init
    if steps == 0:
        return init
    log_beta3 = float(np.log1p(-q))
    noisy = snr > 0.0
    # Steps 1..early still move (at equilibrium their weight beta3^(2t) is 0: none).
    early = 0 if np.isinf(steps) else int(min(steps, _settled_step(beta2, noisy) - 1))
    s_early = np.arange(1, early + 1, dtype=np.float64)
    _, _, mean_early = _statistics(beta1, beta2, snr, s_early)
    _, shift_late, mean_late = (float(v) for v in _statistics(beta1, beta2, snr, np.array(np.inf)))
    late_count = steps - early  # steps early+1..t, all settled
    weight_early = np.exp((steps - s_early) * log_beta3)
    mean_sum = float(weight_early @ mean_early) + mean_late * _geometric(
        log_beta3, q, late_count, 1
    )
    diagonal = float(weight_early**2 @ (1 - mean_early**2)) + (1 - mean_late**2) * _geometric(
        log_beta3, q, late_count, 2
    )
    scale = max(1.0, _geometric(log_beta3, q, steps, 1))
    # leading / scale^2 (leading >= 1: the last step's M_t^2 + (1 - M_t^2)).
    leading = (mean_sum / scale) ** 2 + diagonal / scale / scale
    # Each start s carries a lag tail below 2^-60 leading / W, W = sum_s beta3^(2(t-s)); a
    # floor capped at e^600 only keeps more lags than needed.
    log_floor = (
        np.log(leading) + 2 * np.log(scale) - np.log(max(_geometric(log_beta3, q, steps, 2), 1.0))
    )
    lags = _lags_needed(beta1, beta2, float(np.exp(min(log_floor, 600.0))))
    _check_work(early, lags, steps, noisy)
    pairs = 0.0
    # Settled pairs: lag k appears beta3^k sum_{j < t-k-early} beta3^(2j) times.
    if lags > 0 and late_count > 1:
        k = np.arange(1, int(min(lags, late_count - 1)) + 1, dtype=np.float64)
        correlation = kernels.lion_stationary_correlation_numpy(beta1, beta2, k)
        shift = np.full_like(k, shift_late)
        covariance = _sign_covariance(shift, shift, correlation, noisy)
        repeats = _geometric(log_beta3, q, late_count - k, 2)
        pairs += float((np.exp(k * log_beta3) * (repeats / scale / scale)) @ covariance)
    # Early pairs (s < S_0), one by one, in blocks of whole starts (lags 1..min(K, t - s)).
    if lags > 0 and early > 0:
        # Each step's variance and shift once (indexed by step - 1), not once per pair.
        every = np.arange(1, min(steps, early + lags) + 1, dtype=np.float64)
        transient = np.where(np.isfinite(every), beta2 ** (every - 1), 0.0)
        variances = kernels.lion_filter_variance_numpy(beta1, beta2, transient)
        shifts = np.sqrt(snr) * kernels.lion_filter_mean_numpy(beta1, beta2, transient)
        shifts /= np.sqrt(variances)
        per_block = max(1, _BLOCK // lags)
        for first in range(0, early, per_block):
            s, k = _pair_block(s_early[first : first + per_block], lags, steps)
            at_s, at_k = s.astype(np.int64) - 1, (s + k).astype(np.int64) - 1
            variance_s, shift_s = variances[at_s], shifts[at_s]
            variance_k, shift_k = variances[at_k], shifts[at_k]
            covariance_c = kernels.lion_filter_covariance_numpy(
                beta1, beta2, beta2 ** (s - 1), beta2 ** (k - 1)
            )
            # min: a correlation of 1 rounded up would leave arcsin's domain.
            correlation = np.minimum(covariance_c / np.sqrt(variance_s * variance_k), 1.0)
            covariance = _sign_covariance(shift_s, shift_k, correlation, noisy)
            pairs += float(np.exp((2 * steps - 2 * s - k) * log_beta3) @ covariance) / scale / scale
    decay_power = 0.0 if np.isinf(steps) else float(np.exp(steps * log_beta3))
    with np.errstate(over="ignore"):  # checked below
        moved = lr * scale * np.sqrt(leading + 2 * pairs)
    if not np.isfinite(moved):
        raise ValueError(
            f"lion_weight_rms: the weight RMS exceeds float64 (lr={lr!r}, weight_decay={decay!r}, "
            f"steps={steps!r})"
        )
    return float(np.hypot(decay_power * init, moved))


def _geometric_each(log_beta3: np.ndarray, q: np.ndarray, count, power: int) -> np.ndarray:
    """:func:`_geometric` for arrays of ``beta3`` (and ``count``: finite, broadcast with them)."""
    count = np.maximum(np.asarray(count, dtype=np.float64), 0.0)
    zero = q == 0.0
    denominator = np.expm1(power * np.where(zero, -1.0, log_beta3))
    return np.where(zero, count, np.expm1(power * count * log_beta3) / denominator)


def _finite_group(lr, decay, init, beta1: float, beta2: float, steps: float, snr: float):
    """:func:`_one_numpy` for 1-D ``lr, decay, init`` sharing ``(beta1, beta2, steps, snr)``.

    The pair covariances depend on the group only: they are computed once, and the early ones
    are added up by the power of ``beta3`` that weights them, :math:`e = 2(t-s)-k` (about
    :math:`2S_0 + K` powers instead of :math:`S_0 K` pairs per element). ``K`` is the largest
    any element needs (the extra lags of the others add less than ``2**-60``).
    """
    q = lr * decay
    log_beta3 = np.log1p(-q)
    noisy = snr > 0.0
    early = int(min(steps, _settled_step(beta2, noisy) - 1))
    s_early = np.arange(1, early + 1, dtype=np.float64)
    _, _, mean_early = _statistics(beta1, beta2, snr, s_early)
    _, shift_late, mean_late = (float(v) for v in _statistics(beta1, beta2, snr, np.array(np.inf)))
    late_count = steps - early
    mean_sum = mean_late * _geometric_each(log_beta3, q, late_count, 1)
    diagonal = (1 - mean_late**2) * _geometric_each(log_beta3, q, late_count, 2)
    per_chunk = max(1, _BLOCK * 64 // max(early, 1))
    for first in range(0, lr.size, per_chunk):
        block = slice(first, first + per_chunk)
        weight = np.exp(np.outer(log_beta3[block], steps - s_early))
        mean_sum[block] += weight @ mean_early
        diagonal[block] += (weight * weight) @ (1 - mean_early**2)
    scale = np.maximum(1.0, _geometric_each(log_beta3, q, steps, 1))
    leading = (mean_sum / scale) ** 2 + diagonal / scale / scale
    log_floor = (
        np.log(leading)
        + 2 * np.log(scale)
        - np.log(np.maximum(_geometric_each(log_beta3, q, steps, 2), 1.0))
    )
    lags = _lags_needed(beta1, beta2, float(np.exp(min(log_floor.min(), 600.0))))
    _check_work(early, lags, steps, noisy)
    pairs = np.zeros_like(lr)
    if lags > 0 and late_count > 1:
        k = np.arange(1, int(min(lags, late_count - 1)) + 1, dtype=np.float64)
        correlation = kernels.lion_stationary_correlation_numpy(beta1, beta2, k)
        shift = np.full_like(k, shift_late)
        covariance = _sign_covariance(shift, shift, correlation, noisy)
        for first in range(0, lr.size, _CHUNK):
            block = slice(first, first + _CHUNK)
            log_b3, q_b = log_beta3[block, None], q[block, None]
            repeats = _geometric_each(log_b3, q_b, late_count - k, 2)
            weight = np.exp(k * log_b3) * (repeats / scale[block, None] / scale[block, None])
            pairs[block] += weight @ covariance
    if lags > 0 and early > 0:
        # sum_{s,k} beta3^(2(t-s)-k) C_{s,k}, collected by e - 2(t - early) + K in [0, 2 early + K).
        collected = np.zeros(2 * early + lags)
        every = np.arange(1, min(steps, early + lags) + 1, dtype=np.float64)
        transient = beta2 ** (every - 1)
        variances = kernels.lion_filter_variance_numpy(beta1, beta2, transient)
        shifts = np.sqrt(snr) * kernels.lion_filter_mean_numpy(beta1, beta2, transient)
        shifts /= np.sqrt(variances)
        per_block = max(1, _BLOCK // lags)
        for first in range(0, early, per_block):
            s, k = _pair_block(s_early[first : first + per_block], lags, steps)
            at_s, at_k = s.astype(np.int64) - 1, (s + k).astype(np.int64) - 1
            covariance_c = kernels.lion_filter_covariance_numpy(
                beta1, beta2, beta2 ** (s - 1), beta2 ** (k - 1)
            )
            # min: a correlation of 1 rounded up would leave arcsin's domain.
            correlation = np.minimum(covariance_c / np.sqrt(variances[at_s] * variances[at_k]), 1.0)
            covariance = _sign_covariance(shifts[at_s], shifts[at_k], correlation, noisy)
            index = (2 * (early - s) - k + lags).astype(np.int64)
            collected += np.bincount(index, weights=covariance, minlength=collected.size)
        used = np.flatnonzero(collected)
        powers = 2 * (steps - early) + used - lags  # = 2(t - s) - k, exact integers
        per_chunk = max(1, _BLOCK * 64 // max(used.size, 1))
        for first in range(0, lr.size, per_chunk):
            block = slice(first, first + per_chunk)
            weight = np.exp(np.outer(log_beta3[block], powers))
            pairs[block] += (weight @ collected[used]) / scale[block] / scale[block]
    decay_power = np.exp(steps * log_beta3)
    with np.errstate(over="ignore"):  # checked below
        moved = lr * scale * np.sqrt(leading + 2 * pairs)
    if not np.all(np.isfinite(moved)):
        raise ValueError(
            f"lion_weight_rms: the weight RMS exceeds float64 (lr up to {lr.max()!r}, "
            f"steps={steps!r}, weight_decay = 0 or tiny)"
        )
    return np.hypot(decay_power * init, moved)


def _one_mpmath(lr, decay, beta1, beta2, steps, snr, init):
    """The derived double sum term by term in mpmath (every pair: for checking, small ``t``)."""
    import mpmath

    q = lr * decay
    if mpmath.isinf(steps) and q == 0:
        return mpmath.inf if lr > 0 else init**2
    beta3 = 1 - q
    scale = kernels.lion_pair_scale_mpmath()

    def statistics(step):
        transient = 0 if mpmath.isinf(step) else beta2 ** (step - 1)
        variance = kernels.lion_filter_variance_mpmath(beta1, beta2, transient)
        mean = kernels.lion_filter_mean_mpmath(beta1, beta2, transient)
        return variance, mpmath.sqrt(snr) * mean / mpmath.sqrt(variance)

    def covariance(shift, shift_y, correlation):
        upper = kernels.lion_pair_upper_mpmath(correlation)
        if snr == 0:
            return scale * upper
        return scale * mpmath.quad(
            lambda angle: kernels.lion_pair_integrand_mpmath(shift, shift_y, angle), [0, upper]
        )

    tolerance = mpmath.eps
    if mpmath.isinf(steps):
        _, shift = statistics(mpmath.inf)
        mean = kernels.lion_sign_mean_mpmath(shift)
        total, lag = mpmath.mpf(0), 1
        while beta1 > 0 and beta2 ** (lag - 1) > tolerance:
            correlation = kernels.lion_stationary_correlation_mpmath(beta1, beta2, lag)
            total += beta3**lag * covariance(shift, shift, correlation)
            lag += 1
        return lr**2 * (mean**2 / q**2 + (1 - mean**2 + 2 * total) / (q * (2 - q)))
    n = int(steps)
    stats = [statistics(s) for s in range(1, n + 1)]
    means = [kernels.lion_sign_mean_mpmath(shift) for _, shift in stats]
    mean_sum = mpmath.fsum(beta3 ** (n - s) * means[s - 1] for s in range(1, n + 1))
    diagonal = mpmath.fsum(
        beta3 ** (2 * (n - s)) * (1 - means[s - 1] ** 2) for s in range(1, n + 1)
    )
    pairs = mpmath.mpf(0)
    for s in range(1, n):
        for lag in range(1, n - s + 1):
            if beta1 == 0 or beta2 ** (lag - 1) < tolerance:
                break
            (variance_s, shift_s), (variance_k, shift_k) = stats[s - 1], stats[s + lag - 1]
            covariance_c = kernels.lion_filter_covariance_mpmath(
                beta1, beta2, beta2 ** (s - 1), beta2 ** (lag - 1)
            )
            correlation = covariance_c / mpmath.sqrt(variance_s * variance_k)
            pairs += beta3 ** (2 * n - 2 * s - lag) * covariance(shift_s, shift_k, correlation)
    return beta3 ** (2 * n) * init**2 + lr**2 * (mean_sum**2 + diagonal + 2 * pairs)


def lion_bound(lr: Any, weight_decay: Any, *, steps: Any = np.inf, init_rms: Any = 0.0) -> Any:
    r"""The hard bound on Lion's weight RMS: :math:`\beta_3^t\rho + (1-\beta_3^t)/\lambda`.

    Every coordinate moves by exactly ``lr`` per step (:math:`|u| = 1`), so
    :math:`|\theta_t| \le \beta_3|\theta_{t-1}| + \eta` and, by induction,
    :math:`|\theta_t| \le \beta_3^t|\theta_0| + (1-\beta_3^t)/\lambda \le \max(|\theta_0|,
    1/\lambda)` with :math:`\beta_3 = 1 - \eta\lambda`. By Minkowski's inequality the RMS over
    coordinates obeys the same bound with ``init_rms`` for :math:`|\theta_0|`.

    Parameters
    ----------
    lr, weight_decay
        ``>= 0`` with ``lr * weight_decay < 1`` (``weight_decay = 0``: ``init_rms + lr * t``).
    steps
        A whole number ``>= 0`` or ``inf``.
    init_rms
        RMS of the initial weights, ``>= 0``.

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators import lion_bound
    >>> lion_bound(1e-3, 0.1)  # 1 / weight_decay
    10.0
    """
    lr_a, _, q, steps_a, _, init_a = _trajectory_inputs(lr, weight_decay, steps, 0.0, init_rms)
    finite = np.isfinite(steps_a)
    exponent = np.where(finite, steps_a, 0.0) * np.log1p(-q)
    power = np.where(finite, np.exp(exponent), np.where(q > 0, 0.0, 1.0))
    # (1 - beta3^t)/lambda = lr * (1 - beta3^t)/q, exactly lr * t at q = 0.
    ratio = np.where(
        q > 0,
        np.where(finite, -np.expm1(exponent), 1.0) / np.where(q > 0, q, 1.0),
        np.where(finite, steps_a, np.inf),
    )
    with np.errstate(invalid="ignore"):  # lr = 0 with infinitely many steps: no movement
        moved = np.where(lr_a > 0, lr_a * ratio, 0.0)
    return _output(power * init_a + moved, lr, weight_decay, steps, init_rms)


def lion_weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    beta1: Any = 0.9,
    beta2: Any = 0.99,
    steps: Any = np.inf,
    snr: Any = 0.0,
    init_rms: Any = 0.0,
    formula: str = "arcsine",
    backend: str = "numpy",
) -> Any:
    r"""The weight RMS of Lion after ``steps`` steps.

    Lion (Chen et al. 2023; as in lucidrains' ``lion-pytorch`` and ``timm``), decay first:
    ``c = beta1 m + (1 - beta1) g``, ``theta <- (1 - lr weight_decay) theta - lr sign(c)``,
    ``m <- beta2 m + (1 - beta2) g`` from ``m = 0``. The decay per step is
    ``lr * weight_decay`` (:math:`\beta_3 = 1 - \eta\lambda`, PyTorch's decoupled convention).
    Gradients iid :math:`\mathcal{N}(\mu, \sigma^2)` in every coordinate with
    ``snr`` :math:`= \mu^2/\sigma^2`; initial weights of RMS ``init_rms``, independent of them.

    ``formula="arcsine"`` (default; step ``lion.theta_rms_lion``, exact up to the average over
    coordinates):

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 = \beta_3^{2t}\rho_0 + \eta^2\Bigl[
        \sum_{s=1}^t\beta_3^{2(t-s)} + 2\sum_{s=1}^{t-1}\sum_{k=1}^{t-s}\beta_3^{2t-2s-k}\,
        \mathbb{E}[u_s u_{s+k}]\Bigr],

    :math:`\mathbb{E}[u_s u_{s+k}] = M_s M_{s+k} + \frac{2}{\pi}\int_0^{\arcsin\rho_{s,k}}
    e^{-(a_s^2 + a_{s+k}^2 - 2a_sa_{s+k}\sin\phi)/(2\cos^2\phi)}d\phi`, :math:`M_s =
    \mathrm{erf}(a_s/\sqrt2)`, with the shift :math:`a_s` and correlation :math:`\rho_{s,k}`
    of the Gaussian ``c`` (steps ``lion.c_shift``, ``lion.c_correlation``). At equilibrium
    (``steps=inf``, step ``lion.theta_rms_lion_limit``) the correlations are
    :math:`\rho_k = \beta_2^{k-1}\,\beta_1(1-\beta_2)\bigl(1-\beta_1 + \frac{\beta_1\beta_2}
    {1+\beta_2}\bigr)/V`, :math:`V = (1-\beta_1)^2 + \beta_1^2\frac{1-\beta_2}{1+\beta_2}`,
    and the shift is :math:`a = \sqrt{\mathrm{SNR}/V}`. With ``beta1 == beta2`` it is
    :func:`~adamw_rms.estimators.sign_sgdm_weight_rms` at equilibrium. The result never
    exceeds :func:`lion_bound`: :math:`\beta_3^t\rho + (1-\beta_3^t)/\lambda`.

    Cost (measured on one shared CPU core): at ``steps=inf`` about :math:`3.5\cdot10^5`
    evaluations/s on :math:`10^5` random ``(lr, weight_decay)``, with or without a gradient
    mean (vectorised per distinct ``(beta1, beta2, snr)``). Finite ``steps`` are grouped per
    distinct ``(beta1, beta2, steps, snr)``: the group's :math:`S_0 K` pair terms once (module
    docstring), then about :math:`2S_0 + K` powers of :math:`\beta_3` per element. At
    ``steps=10_000`` one element takes about 0.6 s (``snr=0``) and 6 s (``snr=0.5``) at
    ``beta2=0.99``, 4 s and 16 s at ``beta2=0.999``; 1000 elements of one group at
    ``beta2=0.99`` about 1 s and 4 s. A group whose pair terms would take more than about
    five minutes (e.g. ``beta2=0.999, steps=100_000, snr=0.5``) raises ValueError.

    ``formula="req"`` (step ``lion.req_equilibrium``; Kosson et al., Rotational Equilibrium,
    ICML 2024): :math:`\sqrt{\eta/(2\lambda)}\sqrt{2/\pi}/\sqrt V`, the sign linearised as
    :math:`\sqrt{2/\pi}\,c/\mathrm{sd}(c)`, to leading order in
    :math:`\eta\lambda/(1-\beta_2)`. Defined for ``steps=inf`` and ``snr=0`` only (a
    ValueError otherwise). It drops the lag-0 term :math:`1 - 2/\pi` and the arcsine's
    curvature; against the exact equilibrium (``lr * weight_decay = 1e-4``) it is -0.27% at
    the defaults (``beta1=0.9, beta2=0.99``), -6.2% at ``beta1=0.5``, -3.7% at
    ``beta1=beta2=0.99``, -4.5% at ``beta1=beta2=0.9`` and -20.2% at ``beta1=0``
    (:math:`\sqrt{2/\pi} - 1`: no lags, only the lag-0 term), measured in
    ``tests/test_lion.py``.

    Parameters
    ----------
    lr, weight_decay
        ``>= 0`` with ``lr * weight_decay < 1``; ``weight_decay = 0`` is the no-decay limit
        (unbounded as ``steps -> inf``).
    beta1, beta2
        Interpolation and momentum rates, each in ``[0, 1)``.
    steps
        A whole number ``>= 0`` or ``inf`` (the equilibrium).
    snr
        :math:`\mu^2/\sigma^2` of every coordinate, ``>= 0``.
    init_rms
        RMS of the initial weights, ``>= 0``.
    formula
        ``"arcsine"`` or ``"req"``.
    backend
        ``"numpy"`` (float64) or ``"mpmath"`` (every pair summed at the current precision:
        for checking, at equilibrium or small ``steps``).

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators import lion_weight_rms
    >>> round(lion_weight_rms(1e-3, 0.1), 4)  # the defaults, at equilibrium
    0.4769
    >>> round(lion_weight_rms(1e-3, 0.1, formula="req"), 4)
    0.4756
    >>> lion_weight_rms(1e-3, 0.1, steps=100) < lion_weight_rms(1e-3, 0.1)
    True
    """
    _check_backend(backend)
    if formula not in FORMULAS:
        raise ValueError(f"formula must be one of {FORMULAS}; got {formula!r}")
    beta1_a = _beta1(beta1)
    beta2_a = check_range("beta2", beta2, 0.0, 1.0, high_open=True)
    lr_a, decay_a, _, steps_a, snr_a, init_a = _trajectory_inputs(
        lr, weight_decay, steps, snr, init_rms
    )
    if formula == "req":
        if np.any(np.isfinite(steps_a)):
            raise ValueError("formula='req' is an equilibrium formula: steps must be inf")
        if np.any(snr_a != 0):
            raise ValueError("formula='req' assumes zero-mean gradients: snr must be 0")
        if np.any(decay_a == 0):
            raise ValueError("formula='req' needs weight_decay > 0 (no equilibrium without decay)")
        if backend == "mpmath":
            return _elementwise_mpmath(
                kernels.lion_req_weight_rms_mpmath, lr_a, decay_a, beta1_a, beta2_a
            )
        result = kernels.lion_req_weight_rms_numpy(lr_a, decay_a, beta1_a, beta2_a)
        return _output(np.asarray(result, dtype=float), lr, weight_decay, beta1, beta2)
    inputs = (lr_a, decay_a, beta1_a, beta2_a, steps_a, snr_a, init_a)
    if backend == "mpmath":
        import mpmath

        return _elementwise_mpmath(lambda *v: mpmath.sqrt(_one_mpmath(*v)), *inputs)
    broadcast = [a.ravel() for a in np.broadcast_arrays(*inputs)]
    lr_b, decay_b, beta1_b, beta2_b, steps_b, snr_b, init_b = broadcast
    rms = np.empty(lr_b.shape)
    # Equilibrium with decay: vectorised over (lr, weight_decay) per (beta1, beta2, snr).
    settled = np.isinf(steps_b) & (decay_b > 0) & (lr_b > 0)
    moving = np.isfinite(steps_b) & (steps_b > 0)
    if moving.any():
        # Finite steps: the pair covariances once per (beta1, beta2, steps, snr).
        groups = np.stack([beta1_b[moving], beta2_b[moving], steps_b[moving], snr_b[moving]], 1)
        keys, which = np.unique(groups, axis=0, return_inverse=True)
        where = np.flatnonzero(moving)
        for index, (b1, b2, count, gradient_snr) in enumerate(keys):
            pick = where[which.ravel() == index]
            rms[pick] = _finite_group(
                lr_b[pick], decay_b[pick], init_b[pick], *map(float, (b1, b2, count, gradient_snr))
            )
    if settled.any():
        groups = np.stack([beta1_b[settled], beta2_b[settled], snr_b[settled]], axis=1)
        keys, which = np.unique(groups, axis=0, return_inverse=True)
        where = np.flatnonzero(settled)
        for index, (b1, b2, gradient_snr) in enumerate(keys):
            pick = where[which.ravel() == index]
            rms[pick] = _equilibrium_numpy(
                lr_b[pick], decay_b[pick], float(b1), float(b2), float(gradient_snr)
            )
    for index in np.flatnonzero(~settled & ~moving):
        rms[index] = _one_numpy(*(float(a[index]) for a in broadcast))
    out = rms.reshape(np.broadcast_shapes(*(np.shape(a) for a in inputs)))
    return _output(out, lr, weight_decay, beta1, beta2, steps, snr, init_rms)

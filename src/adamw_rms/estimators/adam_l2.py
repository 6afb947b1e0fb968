r"""The weight RMS of Adam with L2 regularisation (derivation ``adam_l2``).

PyTorch's ``torch.optim.Adam(weight_decay=wd)`` adds ``wd * theta`` to the gradient before the
moments, so the decay is divided by :math:`\sqrt{\hat v}` like the gradient: the effective decay
per step is about :math:`\eta\lambda/\sqrt{v}`, and unlike AdamW the weight norm depends on the
gradient scale ``grad_std``. The mean field freezes :math:`\hat v_t` at its expectation; the
weight and momentum are then a linear Gaussian system.

Stationary state (``steps=inf``): the effective decay :math:`\kappa` is the one root of the
derived self-consistency (step ``adam_l2.self_consistency``, in units of :math:`\sigma`)

.. math::

    \frac{\eta\lambda}{\sigma} = \kappa\Big(\frac{\epsilon}{\sigma} + \sqrt{1 + F(\kappa)}\Big),
    \qquad F(\kappa) = \frac{\kappa(1+\beta_1)}{2(1+\beta_1) - \kappa(1-\beta_1)},

found by bisection in :math:`\log\kappa` on a bracket that provably contains it (the right
side increases strictly from 0 to :math:`\infty` on :math:`0 < \kappa < \kappa_{\max} =
2(1+\beta_1)/(1-\beta_1)`); then :math:`\Vert\theta\Vert^2 = \mu^2/\lambda^2 +
\sigma^2 F(\kappa)/\lambda^2` (step ``adam_l2.theta_rms_equilibrium``).

Finite ``steps``: the mean-field recursion of steps ``mean_square_coupled_gradient``,
``frozen_update`` and the four moment recursions, one step at a time from
:math:`\theta_0 \sim (0, \mathrm{init\_rms}^2)`, :math:`m_0 = v_0 = 0`. Once the bias corrections
have settled (:math:`\beta_1^t, \beta_2^t < 10^{-17}`) and the state is within a relative
``1e-13`` of the stationary one, the stationary value is returned (where the mean-field map is
stable the recursion converges to it geometrically). Close to the frozen-v system's stability
edge :math:`\kappa_{\max} = 2(1+\beta_1)/(1-\beta_1)` (``lr * wd / grad_std`` in the hundreds
and more) the map can lose its stable fixed point and the recursion oscillates; above
``kappa / kappa_max`` = :data:`EDGE_BAR` a separate :class:`~adamw_rms.AccuracyWarning` says so.
The loop is compiled with numba when numba is installed (about 0.2 s per
10^7 steps); without numba it runs in Python (about 1 s per 10^6 steps).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import _generated as kernels
from ._common import _check_backend, _output
from ._validate import check_range

__all__ = [
    "EDGE_BAR",
    "FLUCTUATION_BAR",
    "FORMULAS",
    "MIN_BETA2",
    "adam_l2_weight_rms",
    "effective_decay",
]

#: The formulas :func:`adam_l2_weight_rms` can evaluate.
FORMULAS = ("mean_field", "req")
#: Below this beta2 the mean field's dropped fluctuation of v is measurable (-1.7% at 0.8).
MIN_BETA2 = 0.9
#: Above this ``(1 - beta2) * sqrt(E[v]) / grad_std`` (at the stationary state) the mean field's
#: measured error exceeds 3% somewhere on the measured grid (see :func:`adam_l2_weight_rms`).
FLUCTUATION_BAR = 0.12
#: ``kappa / kappa_max`` beyond which the mean-field map may have no stable fixed point.
EDGE_BAR = 0.93

# Bisection steps in log(kappa): the bracket spans at most log(e + sqrt(2/(1-beta1))) in
# log(kappa), under 10 unless beta1 > 1 - 1e-8, so 2^-64 of it is below float64 rounding.
_BISECTIONS = 64
# The recursion hands over to the stationary value once every tracked moment is this close.
_SETTLED = 1e-13
# Below this many steps the Python loop is cheaper than compiling it with numba.
_COMPILE_FROM = 20_000


def _kappa_max(beta1):
    return 2 * (1 + beta1) / (1 - beta1)


def _lr_decay_ratio(kappa, beta1, eps_ratio):
    """``eta*lambda/sigma`` as a function of ``kappa`` (``inf`` at and past ``kappa_max``)."""
    inside = kappa < _kappa_max(beta1)
    safe = np.where(inside, kappa, 0.0)
    # Within rounding of kappa_max the kernel's denominator can still reach 0 (or change sign):
    # there the true value is beyond any ratio, so infinity is the right answer.
    with np.errstate(divide="ignore", invalid="ignore"):
        value = kernels.adam_l2_lr_decay_ratio_numpy(safe, beta1, eps_ratio)
    return np.where(inside & np.isfinite(value), value, np.inf)


def _bracket(ratio, beta1, eps_ratio):
    """``(low, high)`` with ``r(low) <= ratio <= r(high)`` (``ratio > 0``).

    ``r(k) >= k(1 + e)`` gives the upper end; for ``k <= kappa_max/2`` the share
    ``F(k) <= F(kappa_max/2) = (1+beta1)/(1-beta1)`` gives the lower one.
    """
    high = np.minimum(ratio / (1 + eps_ratio), _kappa_max(beta1))
    low = np.minimum(ratio / (eps_ratio + np.sqrt(2 / (1 - beta1))), _kappa_max(beta1) / 2)
    return low, high


def _solve_kappa_numpy(ratio, beta1, eps_ratio):
    """The root ``kappa`` of the self-consistency for ``ratio = lr*wd/grad_std > 0``."""
    low, high = _bracket(ratio, beta1, eps_ratio)
    log_low, log_high = np.log(low), np.log(high)
    for _ in range(_BISECTIONS):
        middle = 0.5 * (log_low + log_high)
        above = _lr_decay_ratio(np.exp(middle), beta1, eps_ratio) >= ratio
        log_high = np.where(above, middle, log_high)
        log_low = np.where(above, log_low, middle)
    return np.exp(0.5 * (log_low + log_high))


def _solve_kappa_mpmath(ratio, beta1, eps_ratio):
    import mpmath

    kappa_max = 2 * (1 + beta1) / (1 - beta1)
    high = min(ratio / (1 + eps_ratio), kappa_max)
    low = min(ratio / (eps_ratio + mpmath.sqrt(2 / (1 - beta1))), kappa_max / 2)
    log_low, log_high = mpmath.log(low), mpmath.log(high)
    for _ in range(mpmath.mp.prec + 8):
        middle = (log_low + log_high) / 2
        kappa = mpmath.exp(middle)
        value = mpmath.inf
        if kappa < kappa_max:
            try:  # within rounding of kappa_max: a zero or negative denominator, i.e. beyond
                value = kernels.adam_l2_lr_decay_ratio_mpmath(kappa, beta1, eps_ratio)
            except ZeroDivisionError:
                value = mpmath.inf
            if not isinstance(value, mpmath.mpf):
                value = mpmath.inf
        if value >= ratio:
            log_high = middle
        else:
            log_low = middle
    return mpmath.exp((log_low + log_high) / 2)


def effective_decay(
    lr: Any, weight_decay: Any, *, beta1: Any = 0.9, eps: Any = 1e-8, grad_std: Any = 1.0
) -> Any:
    r"""The stationary effective decay :math:`\kappa = \alpha\lambda` of Adam with L2.

    :math:`\alpha = \eta/(\sqrt{\mathbb{E}[v]}+\epsilon)` is the mean field's frozen step; the
    mean weight decays by about :math:`\kappa` per step at equilibrium. :math:`\kappa` is the
    one root in :math:`(0, \kappa_{\max})`, :math:`\kappa_{\max} = 2(1+\beta_1)/(1-\beta_1)`, of
    the self-consistency (step ``adam_l2.self_consistency``)

    .. math::

        \frac{\eta\lambda}{\sigma} = \kappa\Big(\frac{\epsilon}{\sigma} + \sqrt{1 + F(\kappa)}\Big),
        \qquad F(\kappa) = \frac{\kappa(1+\beta_1)}{2(1+\beta_1) - \kappa(1-\beta_1)},

    found by bisection over whole arrays; ``0`` where ``lr * weight_decay = 0``. For small
    :math:`\eta\lambda/\sigma` it is :math:`\eta\lambda/(\sigma+\epsilon)`; it tends to
    :math:`\kappa_{\max}` as the ratio grows.

    Weight-decay convention: PyTorch's ``torch.optim.Adam(weight_decay=lambda)``, L2 coupled
    into the gradient, :math:`g_t + \lambda\theta_{t-1}`, before both moments, so the decay per
    step is :math:`\eta\lambda` divided by :math:`\sqrt{\hat v}+\epsilon` (not AdamW's
    decoupled :math:`\eta\lambda`).

    Parameters
    ----------
    lr
        The learning rate :math:`\eta`, finite and ``>= 0``.
    weight_decay
        :math:`\lambda`, ``>= 0``.
    beta1
        In ``[0, 1)``. (``beta2`` does not enter the mean field's stationary state.)
    eps
        ``>= 0``, added to :math:`\sqrt{\hat v}` as PyTorch does.
    grad_std
        :math:`\sigma`, ``> 0``. The gradient mean does not enter :math:`\kappa`.

    Returns
    -------
    float or ndarray
        :math:`\kappa` (dimensionless, per step): a Python float for scalar inputs, otherwise
        an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators.adam_l2 import effective_decay
    >>> round(effective_decay(1e-3, 1.0, grad_std=1.0) / 1e-3, 6)  # ~ lr * wd / grad_std
    0.99975
    """
    beta1_a = check_range("beta1", beta1, 0.0, 1.0, high_open=True)
    lr_a = check_range("lr", lr, 0.0, allow_inf=False)
    decay_a = check_range("weight_decay", weight_decay, 0.0)
    eps_ratio, std = _eps_ratio(eps, grad_std)
    ratio = _ratio(lr_a, decay_a, std)
    positive = ratio > 0
    kappa = np.where(
        positive, _solve_kappa_numpy(np.where(positive, ratio, 1.0), beta1_a, eps_ratio), 0.0
    )
    return _output(kappa, lr, weight_decay, beta1, eps, grad_std)


def _eps_ratio(eps: Any, grad_std: Any) -> tuple[np.ndarray, np.ndarray]:
    eps_a = check_range("eps", eps, 0.0)
    std = check_range("grad_std", grad_std, 0.0, low_open=True)
    with np.errstate(over="ignore"):
        ratio = eps_a / std
    if not np.all(np.isfinite(ratio)):
        raise ValueError("eps / grad_std must be finite; got an overflow (eps huge, grad_std tiny)")
    return ratio, std


def _ratio(lr: np.ndarray, decay: np.ndarray, std: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        ratio = lr * decay / std
    if not np.all(np.isfinite(ratio)):
        raise ValueError("lr * weight_decay / grad_std must be finite; got an overflow")
    # A decay below float64's normal range cannot be resolved (the root would be subnormal or
    # 0): refuse it rather than return a weight norm built on rounding.
    lost = ((lr > 0) & (decay > 0)) & (ratio < np.finfo(np.float64).tiny)
    if lost.any():
        raise ValueError(
            "lr * weight_decay / grad_std must be 0 or at least "
            f"{np.finfo(np.float64).tiny:.3g} (float64's smallest normal number); got "
            f"{float(np.broadcast_to(ratio, lost.shape)[lost].flat[0]):.3g} (an underflow)"
        )
    return ratio


def _make_recursion(sqrt):
    """The recursion below with ``sqrt`` bound (``math.sqrt`` compiles to the instruction in
    numba; ``mpmath.sqrt`` keeps the precision of the mpmath backend)."""

    def recursion(lr, wd, beta1, beta2, eps, steps, mu, sigma, init_sq, settled, target):
        """The mean-field recursion: ``(E theta, Var theta)`` after ``steps`` steps.

        Plain arithmetic only, so that one function serves floats, mpmath numbers and numba.

        ``target`` holds the stationary ``(E theta, Var theta, Var m, v)``; from step ``settled`` on
        the loop stops once every one is within ``_SETTLED`` (relative) and returns the stationary
        values. The moment updates are those of steps ``adam_l2.mean_*_recursion``,
        ``var_theta_recursion``, ``cov_recursion`` and ``var_m_recursion`` with the step
        ``alpha_t`` of ``frozen_update`` and ``E[v_t]`` the EMA of ``mean_square_coupled_gradient``.
        """
        zero = lr * 0  # the number type of the inputs (float or mpf)
        mean_theta, mean_m, p11, p12, p22, v = zero, zero, init_sq, zero, zero, zero
        power1, power2 = zero + 1, zero + 1
        noise = sigma * sigma
        for step in range(1, steps + 1):
            # Flushed to 0 before they turn subnormal: beta * (smallest subnormal) rounds back
            # to it, and subnormal products would slow every later step tenfold.
            power1 = power1 * beta1 if power1 > 1e-290 else zero
            power2 = power2 * beta2 if power2 > 1e-290 else zero
            shift = mu + wd * mean_theta
            v = beta2 * v + (1 - beta2) * (noise + shift * shift + wd * wd * p11)
            # The bias corrections do not depend on v: only one division sits on the chain
            # from one step's v to the next.
            scale, correction = lr / (1 - power1), 1 / (1 - power2)
            alpha = scale / (sqrt(v * correction) + eps)
            a11, a12 = 1 - alpha * (1 - beta1) * wd, -alpha * beta1
            a21, a22 = (1 - beta1) * wd, beta1
            c1, c2 = -alpha * (1 - beta1), 1 - beta1
            mean_theta, mean_m = (
                a11 * mean_theta + a12 * mean_m + c1 * mu,
                a21 * mean_theta + a22 * mean_m + c2 * mu,
            )
            p11, p12, p22 = (
                a11 * a11 * p11 + 2 * a11 * a12 * p12 + a12 * a12 * p22 + c1 * c1 * noise,
                a11 * a21 * p11 + (a11 * a22 + a12 * a21) * p12 + a12 * a22 * p22 + c1 * c2 * noise,
                a21 * a21 * p11 + 2 * a21 * a22 * p12 + a22 * a22 * p22 + c2 * c2 * noise,
            )
            if step >= settled and step % 64 == 0:
                near = (
                    abs(mean_theta - target[0]) <= _SETTLED * (abs(target[0]) + sqrt(target[1]))
                    and abs(p11 - target[1]) <= _SETTLED * target[1]
                    and abs(p22 - target[2]) <= _SETTLED * target[2]
                    and abs(v - target[3]) <= _SETTLED * target[3]
                )
                if near:
                    return target[0], target[1]
        return mean_theta, p11

    return recursion


_recursion = _make_recursion(math.sqrt)


_COMPILED: list = []


def _compiled_recursion():
    """:func:`_recursion` compiled by numba, or ``None`` without numba (compiled once)."""
    if not _COMPILED:
        try:
            import numba
        except ImportError:
            _COMPILED.append(None)
        else:
            _COMPILED.append(numba.njit(error_model="numpy")(_recursion))
    return _COMPILED[0]


def _settling_steps(beta1: float, beta2: float) -> int:
    """Steps after which ``beta1**t`` and ``beta2**t`` are below 1e-17 (bias corrections gone)."""
    slowest = max(beta1, beta2)
    if slowest <= 0.0:
        return 1
    return math.ceil(math.log(1e-17) / math.log(slowest)) + 1


def _stationary_state(wd, beta1, mu, sigma, kappa, ratio, eps_ratio, backend: str = "mpmath"):
    r"""``(E theta, Var theta, Var m, E v)`` at the mean-field equilibrium (``kappa`` solved).

    Steps ``stationary_mean``, ``weight_share``, ``stationary_var_m`` and ``stationary_v``.
    Past ``kappa_max / 2`` (a huge ``lr * wd / grad_std``) the kernels' common denominator
    ``2(1+beta1) - kappa(1-beta1)`` loses its digits to rounding; there the share comes from
    step ``self_consistency`` solved for it, :math:`F = (r/\kappa - \epsilon/\sigma)^2 - 1`
    (at least ``(1+beta1)/(1-beta1)``, so without cancellation), and ``Var m`` from its ratio to
    the share, :math:`2(1-\beta_1)/(\kappa(1+\beta_1))`, which has no such denominator.
    """
    if kappa < _kappa_max(beta1) / 2:
        share = getattr(kernels, f"adam_l2_weight_share_{backend}")(kappa, beta1)
        var_m = getattr(kernels, f"adam_l2_stationary_var_m_{backend}")(kappa, beta1)
    else:
        share = (ratio / kappa - eps_ratio) ** 2 - 1
        var_m = 2 * (1 - beta1) * share / (kappa * (1 + beta1))
    noise = sigma * sigma
    return -mu / wd, noise * share / (wd * wd), noise * var_m, noise * (1 + share)


def _stationary_numpy(wd, beta1, snr, sigma, kappa, ratio, eps_ratio):
    r"""``(E theta, sd theta, Var m / sigma^2, E v / sigma^2)`` at the mean-field equilibrium.

    The float64 form of :func:`_stationary_state`, arranged so that no intermediate leaves
    float64's range where the result does not: the spread is :math:`(\sigma/\lambda)\sqrt F`
    (or :math:`\sigma(\sqrt F/\lambda)` where :math:`\sigma/\lambda` overflows) rather than
    :math:`\sigma^2 F/\lambda^2`, and past ``kappa_max / 2`` :math:`\sqrt F =
    \sqrt{q-1}\sqrt{q+1}` with :math:`q = r/\kappa - \epsilon/\sigma > 1` (step
    ``self_consistency``) rather than :math:`\sqrt{q^2-1}`. ``Var m`` and ``E v``, the
    recursion's hand-over targets, are in units of the gradient variance, as the recursion runs
    them (:func:`_one_numpy`).
    """
    inner = kappa < _kappa_max(beta1) / 2
    with np.errstate(over="ignore", under="ignore"):
        safe = np.where(inner, kappa, 0.0)
        share = kernels.adam_l2_weight_share_numpy(safe, beta1)
        var_m = kernels.adam_l2_stationary_var_m_numpy(safe, beta1)
        q = np.where(inner, 2.0, ratio / np.where(inner, 1.0, kappa) - eps_ratio)
        root_share = np.where(inner, np.sqrt(share), np.sqrt(q - 1) * np.sqrt(q + 1))
        root_v = np.where(inner, np.sqrt(1 + share), q)
        var_m = np.where(
            inner, var_m, root_share * root_share * 2 * (1 - beta1) / (kappa * (1 + beta1))
        )
        scale = sigma / wd
        spread = np.where(np.isfinite(scale), scale * root_share, sigma * (root_share / wd))
        mean = -np.sqrt(snr) * np.where(snr > 0, scale, 0.0)  # no 0 * inf at snr = 0
        return mean, spread, var_m, root_v * root_v


def _root_v_numpy(kappa, beta1, ratio, eps_ratio):
    """``sqrt(E v) / grad_std = sqrt(1 + F(kappa))`` at the stationary state (``kappa > 0``)."""
    inner = kappa < _kappa_max(beta1) / 2
    with np.errstate(over="ignore"):
        share = kernels.adam_l2_weight_share_numpy(np.where(inner, kappa, 0.0), beta1)
        return np.where(inner, np.sqrt(1 + share), ratio / kappa - eps_ratio)


def _stationary_kappa(lr, wd, beta1, eps, std):
    """``(moving, ratio, eps_ratio, kappa)`` over whole arrays: one bisection for every element
    with ``lr * wd > 0`` (``moving``; the others get ratio 1, a harmless placeholder)."""
    moving = (lr > 0) & (wd > 0)
    ratio = np.where(moving, lr * wd / std, 1.0)
    eps_ratio = eps / std
    return moving, ratio, eps_ratio, _solve_kappa_numpy(ratio, beta1, eps_ratio)


def _equilibrium_numpy(lr, wd, beta1, snr, std, init, solved):
    """The stationary weight RMS over whole arrays (``steps=inf``; ``wd > 0`` wherever
    ``lr > 0``) from the ``solved`` root of :func:`_stationary_kappa`."""
    moving, ratio, eps_ratio, kappa = solved
    mean, spread, _, _ = _stationary_numpy(
        np.where(moving, wd, 1.0), beta1, snr, std, kappa, ratio, eps_ratio
    )
    with np.errstate(over="ignore"):
        rms = np.where(moving, np.hypot(mean, spread), init)
    _check_finite(rms)
    return rms


def _check_finite(rms):
    if not np.all(np.isfinite(rms)):
        raise ValueError(
            "the weight RMS exceeds float64's range (weight_decay tiny against "
            "grad_std * sqrt(snr) or against lr * grad_std)"
        )


def _one_numpy(
    lr, wd, beta1, beta2, eps, steps, snr, std, init, compile_from=_COMPILE_FROM, target=None
):
    """One element, float64: ``(E theta, Var theta)``, stationary or after ``steps`` (the loop
    compiled by numba from ``compile_from`` steps on). ``target``: the stationary ``(E theta,
    Var theta, Var m / sigma^2, E v / sigma^2)`` where already solved (over a whole array)."""
    if lr == 0.0 or (steps == 0.0):
        return 0.0, init * init
    stationary = wd > 0.0
    if stationary:
        if target is None:
            ratio, eps_ratio = lr * wd / std, eps / std
            kappa = _solve_kappa_numpy(np.asarray(ratio), beta1, eps_ratio)
            target = _targets(*_stationary_numpy(wd, beta1, snr, std, kappa, ratio, eps_ratio))
            target = tuple(float(x) for x in target)
        if math.isinf(steps):
            return target[0], target[1]
        settled = _settling_steps(beta1, beta2)
    else:
        target = (0.0, 1.0, 1.0, 1.0)
        settled = int(steps) + 1  # no equilibrium: never hand over
    count = int(steps)
    loop = _compiled_recursion() if count >= compile_from else None
    # Gradients (so m, sqrt(v) and eps) in units of grad_std, the weights as they are: the
    # system is the same one with weight_decay / grad_std as the decay coupled into the
    # gradient, and sigma^2 and v cannot overflow or underflow whatever grad_std is.
    arguments = (lr, wd / std, beta1, beta2, eps / std, count, math.sqrt(snr), 1.0,
                 init * init, settled, target)  # fmt: skip
    mean, variance = (_recursion if loop is None else loop)(*arguments)
    if not (math.isfinite(mean) and math.isfinite(variance)):
        raise ValueError(
            "the mean-field recursion left float64's range (eps / grad_std or "
            "weight_decay / grad_std extreme); backend='mpmath' has the range"
        )
    return float(mean), float(variance)


def _targets(mean, spread, var_m, v):
    """The recursion's hand-over targets from :func:`_stationary_numpy`'s output."""
    with np.errstate(over="ignore"):
        return mean, spread * spread, var_m, v


def _one_mpmath(lr, wd, beta1, beta2, eps, steps, snr, std, init):
    import mpmath

    mu = mpmath.sqrt(snr) * std
    if lr == 0 or steps == 0:
        return mpmath.mpf(0), init * init
    if wd > 0:
        ratio, eps_ratio = lr * wd / std, eps / std
        kappa = _solve_kappa_mpmath(ratio, beta1, eps_ratio)
        target = _stationary_state(wd, beta1, mu, std, kappa, ratio, eps_ratio, "mpmath")
        if mpmath.isinf(steps):
            return target[0], target[1]
        settled = _settling_steps(float(beta1), float(beta2))
    else:
        target = (mpmath.mpf(0), mpmath.mpf(1), mpmath.mpf(1), mpmath.mpf(1))
        settled = int(steps) + 1
    recursion = _make_recursion(mpmath.sqrt)
    return recursion(lr, wd, beta1, beta2, eps, int(steps), mu, std, init * init, settled, target)


def adam_l2_weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    beta1: Any = 0.9,
    beta2: Any = 0.999,
    eps: Any = 1e-8,
    steps: Any = np.inf,
    snr: Any = 0.0,
    grad_std: Any = 1.0,
    init_rms: Any = 0.0,
    formula: str = "mean_field",
    backend: str = "numpy",
) -> Any:
    r"""The weight RMS of Adam with L2 regularisation after ``steps`` steps.

    PyTorch's ``torch.optim.Adam(lr, betas=(beta1, beta2), eps, weight_decay)``: the gradient
    becomes ``g + weight_decay * theta`` *before* both moments (L2, coupled), then
    ``theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)`` with bias correction. The decay is
    therefore divided by :math:`\sqrt{\hat v}`: the weight norm depends on the gradient scale
    (``grad_std``), unlike AdamW's. Gradients are iid :math:`\mathcal{N}(\mu, \sigma^2)` per
    coordinate and step, :math:`\sigma` = ``grad_std``, :math:`\mu^2/\sigma^2` = ``snr``;
    the initial weights have RMS ``init_rms`` and mean 0.

    ``formula="mean_field"`` (default; derivation ``adam_l2``): :math:`\hat v_t` frozen at its
    expectation. At equilibrium

    .. math::

        \Vert\theta\Vert_{\mathrm{RMS}}^2 = \frac{\mu^2}{\lambda^2}
        + \frac{\sigma^2}{\lambda^2}\,\frac{\kappa(1+\beta_1)}{2(1+\beta_1) - \kappa(1-\beta_1)},

    with :math:`\kappa` the one root of :math:`\eta\lambda = \kappa\,(\epsilon +
    \sigma\sqrt{1 + F(\kappa)})` (:func:`effective_decay`); for small
    :math:`\eta\lambda/\sigma` this is :math:`\sqrt{\eta\sigma/(2\lambda)}`. Finite ``steps``
    run the mean-field recursion (module docstring), bias corrections included.
    ``steps=inf`` is evaluated over whole arrays at once (one bisection for every element,
    about 1e5 elements per second). Finite ``steps`` run the recursion element by element from
    stationary targets solved the same way, the numba-compiled loop for every element once the
    array's steps add up to 2e4 (200 elements x 1000 steps: about 0.01 s).

    ``formula="req"``: the random-walk equilibrium of Kosson et al. (Rotational Equilibrium,
    ICML 2024, arXiv:2305.17212) for Adam+L2 in this gradient model, the decay normalised by
    the gradient RMS :math:`\sigma`: :math:`\sqrt{\eta\sigma/(2\lambda)}`. Derived here as
    their balance in our model (step ``adam_l2.theta_rms_small_decay``, the first order of the
    mean field in :math:`\kappa`); only ``steps=inf`` and ``snr=0`` (their zero-mean random
    walk), and it ignores ``eps``, ``beta1`` and ``beta2``.

    Accuracy against the real ``torch.optim.Adam(weight_decay=...)`` in float64 (4 seeds x 2e4
    coordinates, Monte Carlo SE of the RMS about 0.25%; ``tests/test_adam_l2.py`` pins every
    number): at ``beta2`` in {0.95, 0.999}, ``snr`` in {0, 1}, ``grad_std`` in {1e-3, 1} and
    ``lr * weight_decay / grad_std`` in {0.003, 0.03} (2000 and 200 steps at ``beta2 = 0.95``,
    3000 steps at 0.999, bias corrections included) the RMS is within -0.48% ... +0.36%, the
    spread over the coordinates likewise, every point within 2 SE of 0. What the mean field
    drops grows with :math:`1-\beta_2`, the fluctuation of :math:`\hat v`: with a NumPy loop
    of the same optimizer (1.5e5 coordinates, ratio 0.03, 200 steps) it is +0.02% at
    ``beta2 = 0.9``, -1.7% at 0.8 and -9.2% at 0.5 (-2.1% and -9.5% with 4e4 coordinates and
    another seed), hence the :class:`~adamw_rms.AccuracyWarning` below 0.9. It grows slowly
    with the ratio ``lr * wd / grad_std``: within 0.25% at 0.1 and 0.3 (1.5e5 coordinates),
    -0.4% at 0.3 and -1.7% at 3 (4e4 coordinates, SE 0.35%), ``beta2 = 0.95``.

    Where it fails: a large ratio at moderate ``beta2``. With the numba engine
    (``SimulationConfig(update="adam_l2")``, 2**16 coordinates, 4000 steps, the error averaged
    over steps 2000, 2400, ..., 4000, SE 0.2-0.3% per point, ``beta1 = 0.9``, ``eps = 0``) the
    error at ratio 3, 10, 30, 100, 300 is -1.7%, -2.6%, -3.8%, -5.6%, -9.3% at ``beta2 =
    0.95``; -0.6%, -1.1%, -1.7%, -2.7%, -4.2% at 0.98; -0.4%, -0.8%, -0.8%, -1.5%, -2.4% at
    0.99; within 0.7% of 0 at 0.999 (up to ratio 1000). Neither :math:`\kappa(1-\beta_2)` nor
    :math:`(1-\beta_2)\sqrt\kappa` separates the points beyond 3% from the others (at
    :math:`\kappa(1-\beta_2) \approx 0.2` the error runs from -1.7% at ``beta2 = 0.98`` to
    -3.5% at 0.9). What does is the derivation's small parameter, the relative fluctuation of
    :math:`\hat v` (order :math:`1-\beta_2`), times :math:`\sqrt{\mathbb{E}[v]}/\sigma =
    \sqrt{1+F(\kappa)}`, how far the weights' own term :math:`\lambda^2\theta^2` has lifted
    :math:`v` above the gradient noise: that term moves with :math:`\theta`, a correlation the
    mean field drops, and it diverges at the stability edge :math:`\kappa \to \kappa_{\max}`,
    where the error grows fastest. With ``beta2 >= 0.9`` every measured point with
    :math:`(1-\beta_2)\sqrt{1+F}` above 0.14 is beyond 3% (-3.5% at 0.145, ``beta2 = 0.9``;
    -3.8% at 0.14; -4.2% at 0.19, 0.98; -4.7% at 0.27, 0.99, ratio 1000) and every point below
    0.12 within it (at most -2.7%, at 0.097; the one point between, -2.3% at 0.135, ``beta2 =
    0.995``, is warned): hence the
    :class:`~adamw_rms.AccuracyWarning` above :data:`FLUCTUATION_BAR` = 0.12 (also at finite
    ``steps``: in the transient, 3 of v's timescales in, the error is larger still, -11% and
    -15% at ratio 100 and 300, ``beta2 = 0.95``; see ``docs/accuracy.md``).
    ``formula="req"`` is high by the neglected :math:`O(\kappa)` and misses the saturation at
    large ratios (the mean field tends to ``lr / kappa_max``): +0.034% above the mean field at
    :math:`\eta\lambda/\sigma = 0.003`, +0.33% at 0.03 (below the SE of the torch grid,
    where REQ measures -0.44% ... +0.62%), and against the NumPy loop +2.6% at 0.3 and +15% at
    3 (``beta1 = 0.9``, ``beta2 = 0.95``, equilibrium).

    Parameters
    ----------
    lr, weight_decay
        ``>= 0``. With ``steps=inf``, ``weight_decay = 0`` and ``lr > 0`` there is no
        stationary state (``ValueError``). ``lr * weight_decay / grad_std`` must be finite and
        0 or at least float64's smallest normal number, 2.2e-308 (``ValueError``); so must the
        result (``ValueError`` where it exceeds float64's range).
    beta1, beta2
        In ``[0, 1)``.
    eps
        ``>= 0``, added to :math:`\sqrt{\hat v}` as PyTorch does.
    steps
        A whole number ``>= 0`` or ``inf`` (the equilibrium).
    snr
        :math:`\mu^2/\sigma^2`, ``>= 0``.
    grad_std
        :math:`\sigma`, ``> 0``.
    init_rms
        RMS of the initial weights, ``>= 0``.
    formula
        ``"mean_field"`` or ``"req"``.
    backend
        ``"numpy"`` (float64, elementwise over the broadcast inputs) or ``"mpmath"`` (the
        current mpmath precision; the recursion runs step by step in Python, so long runs are
        slow: about 10 s per 10^5 steps at 15 digits).

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators import adam_l2_weight_rms
    >>> round(adam_l2_weight_rms(1e-3, 0.1), 4)  # ~ sqrt(lr * grad_std / (2 wd)) = 0.0707
    0.0707
    >>> round(adam_l2_weight_rms(1e-3, 0.1, grad_std=1e-2), 5)  # the norm follows the gradients
    0.00706
    >>> round(adam_l2_weight_rms(1e-3, 0.1, formula="req"), 5)
    0.07071
    """
    _check_backend(backend)
    if formula not in FORMULAS:
        raise ValueError(f"formula must be one of {FORMULAS}; got {formula!r}")
    lr_a = check_range("lr", lr, 0.0)
    decay_a = check_range("weight_decay", weight_decay, 0.0)
    beta1_a = check_range("beta1", beta1, 0.0, 1.0, high_open=True)
    beta2_a = check_range("beta2", beta2, 0.0, 1.0, high_open=True)
    low_beta2 = formula == "mean_field" and beta2_a.min(initial=1.0) < MIN_BETA2
    if low_beta2:
        import warnings

        from ..accuracy_warning import AccuracyWarning

        warnings.warn(
            AccuracyWarning(
                f"adam_l2_weight_rms with beta2 < {MIN_BETA2}: the mean field drops the "
                "fluctuation of v, measured -1.7% at beta2 = 0.8 and -9.2% at 0.5"
            ),
            stacklevel=2,
        )
    eps_ratio, std_a = _eps_ratio(eps, grad_std)
    eps_a = eps_ratio * std_a
    steps_a = check_range("steps", steps, 0.0, allow_inf=True, whole=True)
    snr_a = check_range("snr", snr, 0.0)
    init_a = check_range("init_rms", init_rms, 0.0)
    _ratio(lr_a, decay_a, std_a)
    inputs = (lr, weight_decay, beta1, beta2, eps, steps, snr, grad_std, init_rms)
    arrays = np.broadcast_arrays(
        lr_a, decay_a, beta1_a, beta2_a, np.asarray(eps_a), steps_a, snr_a, std_a, init_a
    )
    lr_b, decay_b, steps_b = arrays[0], arrays[1], arrays[5]
    forever = np.isinf(steps_b) & (decay_b == 0) & (lr_b > 0)
    if forever.any():
        index = tuple(int(k) for k in np.argwhere(forever)[0]) if forever.ndim else ()
        where = f" at index {index}" if index else ""
        raise ValueError(
            "steps=inf needs weight_decay > 0 (or lr = 0): without decay the weights have no "
            f"stationary state{where}"
        )
    if formula == "req":
        if not np.all(np.isinf(steps_b)):
            raise ValueError("formula='req' is an equilibrium formula: steps must be inf")
        if np.any(arrays[6] > 0):
            raise ValueError("formula='req' is REQ's zero-mean random walk: snr must be 0")
        moving = (lr_b > 0) & (decay_b > 0)
        square = np.where(
            moving,
            kernels.adam_l2_req_weight_rms_sq_numpy(
                lr_b, np.where(moving, decay_b, 1.0), arrays[7]
            ),
            arrays[8] ** 2,
        )
        if backend == "mpmath":
            import mpmath

            def req_one(lr_v, wd_v, std_v, init_v):
                if lr_v == 0:
                    return mpmath.mpf(init_v)
                return mpmath.sqrt(kernels.adam_l2_req_weight_rms_sq_mpmath(lr_v, wd_v, std_v))

            return _elementwise(
                req_one, backend, inputs, arrays[0], arrays[1], arrays[7], arrays[8]
            )
        return _output(np.sqrt(square), *inputs)
    lr_b, decay_b, beta1_b, beta2_b, eps_b, _, snr_b, std_b, init_b = arrays
    solved = _stationary_kappa(lr_b, decay_b, beta1_b, eps_b, std_b)
    if not low_beta2:  # one AccuracyWarning per call: the beta2 one already flags it
        _warn_fluctuation(beta1_b, beta2_b, solved)
    if backend == "numpy" and np.all(np.isinf(steps_b)):
        return _output(_equilibrium_numpy(lr_b, decay_b, beta1_b, snr_b, std_b, init_b, solved),
                       *inputs)  # fmt: skip
    # Over an array the compilation pays for itself once the steps of all elements together
    # reach _COMPILE_FROM: every element then runs the compiled loop.
    total = float(np.sum(np.where(np.isinf(steps_b), 0.0, steps_b)))
    compile_from = 0 if total >= _COMPILE_FROM else _COMPILE_FROM
    if backend == "numpy":
        # The stationary targets from the one bisection above, not one bisection per element.
        moving, ratio, eps_ratio, kappa = solved
        stationary = _stationary_numpy(
            np.where(moving, decay_b, 1.0), beta1_b, snr_b, std_b, kappa, ratio, eps_ratio
        )
        targets = np.broadcast_arrays(*_targets(*stationary), lr_b)[:4]
        return _elementwise(_one_mean_field(backend, compile_from), backend, inputs, *arrays,
                            *targets)  # fmt: skip
    return _elementwise(_one_mean_field(backend, compile_from), backend, inputs, *arrays)


def _warn_fluctuation(beta1, beta2, solved) -> None:
    """:class:`~adamw_rms.AccuracyWarning` where ``(1 - beta2) sqrt(E v) / grad_std`` at the
    stationary state exceeds :data:`FLUCTUATION_BAR` (finite ``steps`` too: the run heads there).
    """
    moving, ratio, eps_ratio, kappa = solved
    if not moving.any():
        return
    # Near the frozen-v system's stability edge kappa_max = 2 (1 + beta1) / (1 - beta1) the
    # mean-field map itself loses its stable fixed point once v's response is fast: the
    # recursion then oscillates without settling (measured onset, beta1 = 0.9: kappa/kappa_max
    # between 0.937 and 0.952 at beta2 = 0.95, 0.83-0.97 at 0.9 and 0.98, 0.975-0.988 at 0.99;
    # still stable at 0.997 for beta2 = 0.999). There no estimate of this model means anything.
    edge = np.where(moving, kappa * (1 - beta1) / (2 * (1 + beta1)), 0.0)
    if float(edge.max()) > EDGE_BAR:
        import warnings

        from ..accuracy_warning import AccuracyWarning

        warnings.warn(
            AccuracyWarning(
                f"adam_l2_weight_rms at kappa / kappa_max = {float(edge.max()):.4g} > {EDGE_BAR} "
                "(lr * wd / grad_std far above 1): near the edge of stability the mean-field "
                "map can have no stable fixed point (measured onset, beta1 = 0.9: 0.94-0.95 of "
                "kappa_max at beta2 = 0.95, 0.975-0.99 at 0.99; at 0.9 and 0.98 somewhere in "
                "0.83-0.97, where the fluctuation warning holds too); the finite-step recursion "
                "then oscillates and neither finite-step nor equilibrium values are meaningful"
            ),
            stacklevel=3,
        )
    fluctuation = np.where(moving, (1 - beta2) * _root_v_numpy(kappa, beta1, ratio, eps_ratio), 0)
    worst = float(fluctuation.max())
    if worst > FLUCTUATION_BAR:
        import warnings

        from ..accuracy_warning import AccuracyWarning

        warnings.warn(
            AccuracyWarning(
                f"adam_l2_weight_rms with (1 - beta2) * sqrt(E[v]) / grad_std = {worst:.3g} > "
                f"{FLUCTUATION_BAR}: the mean field drops the fluctuation of v, measured -3.8% "
                "at 0.14 (beta2 = 0.95, lr * wd / grad_std = 30), -5.6% at 0.24 (100), -9.3% "
                "at 0.48 (300), -4.2% at 0.19 (beta2 = 0.98, 300)"
            ),
            stacklevel=3,
        )


def _one_mean_field(backend: str, compile_from: int = _COMPILE_FROM):
    if backend == "mpmath":
        import mpmath

        def one(*values):
            mean, variance = _one_mpmath(*values)
            return mpmath.sqrt(mean * mean + variance)

        return one

    def one_float(*values):
        # values: the nine inputs, then the four stationary targets of that element
        mean, variance = _one_numpy(*values[:9], compile_from, values[9:])
        return math.sqrt(mean * mean + variance)

    return one_float


def _elementwise(function, backend: str, inputs: tuple, *arrays: np.ndarray) -> Any:
    """``function`` on every element of the broadcast ``arrays`` (mpf or float arguments)."""
    if backend == "mpmath":
        import mpmath

        convert = mpmath.mpf
    else:
        convert = float
    shape = arrays[0].shape
    if all(np.ndim(a) == 0 for a in inputs):
        return function(*(convert(float(a)) for a in arrays))
    out = np.empty(shape, dtype=object if backend == "mpmath" else np.float64)
    for index in np.ndindex(shape):
        out[index] = function(*(convert(float(a[index])) for a in arrays))
    return out

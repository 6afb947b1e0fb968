r"""The weight RMS along a whole run with per-step learning rates and weight decays (part 2).

The formulas of :mod:`adamw_rms.derivations.schedules`, evaluated for every step ``t = 1..T``
in O(T) time and memory. Weight-decay convention (PyTorch's ``torch.optim.AdamW``):
``theta <- theta - lr[t] * (u + weight_decay[t] * theta)``; the derivation replaces the decay
factor ``1 - lr[t] * weight_decay[t]`` by :math:`e^{-\eta_t\lambda_t}`, with
:math:`\kappa_t = \sum_{i\le t}\eta_i\lambda_i`.

Nothing is formed as :math:`e^{\kappa_j}` alone (it overflows for long runs): every sum
:math:`\sum_j e^{-c(\kappa_t-\kappa_j)}\,b_j` is a linear recurrence
:math:`x_t = a_t x_{t-1} + b_t` with :math:`0 \le a_t \le 1`, solved vectorised in blocks
within which the accumulated factors stay far from overflow (:func:`linear_recurrence`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..accuracy_warning import AccuracyWarning
from . import _generated as kernels
from ._validate import check_range
from .conventions import decay_per_step

__all__ = [
    "METHODS",
    "SHAPES",
    "SINGLE_EPOCH_WARN",
    "linear_recurrence",
    "schedule_weight_rms",
    "weight_rms_trajectory",
]

#: The schedule shapes :func:`schedule_weight_rms` knows in closed form.
SHAPES = ("linear", "cosine", "wsd")

#: The formulas :func:`weight_rms_trajectory` evaluates.
METHODS = ("mean_field", "series", "ode", "single_epoch", "corrected")

#: :func:`schedule_weight_rms` warns (:class:`~adamw_rms.AccuracyWarning`) where the
#: single-epoch closed form is further than this from the ODE trajectory of the same schedule.
SINGLE_EPOCH_WARN = 0.10
# The ODE check of schedule_weight_rms runs on at most this many pieces of the schedule
# (per step below it): the shapes are smooth, so a coarser grid changes it by far less than 1%.
_CHECK_PIECES = 2**16

# The factors accumulated inside one block stay within exp(+-_LOG_SPAN): no overflow.
_LOG_SPAN = 600.0


def linear_recurrence(factor: np.ndarray, term: np.ndarray, start: float = 0.0) -> np.ndarray:
    r"""Solve :math:`x_t = a_t x_{t-1} + b_t` (``t = 1..T``, :math:`x_0` = ``start``) in O(T).

    Requires :math:`0 < a_t \le 1`. Within a block, :math:`x_t = A_t (x_{s} + \sum_{j}
    b_j / A_j)` with :math:`A_t = \prod a` from the block start, evaluated with cumulative sums
    of :math:`\log a_t`; a block ends before :math:`\prod a` falls below :math:`e^{-600}`, so
    :math:`1/A_j` never overflows.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.estimators.schedules import linear_recurrence
    >>> np.allclose(linear_recurrence(np.full(3, 0.5), np.ones(3)), [1.0, 1.5, 1.75])
    True
    """
    # A factor that underflowed to 0 forgets the past just as well as 1e-200 does.
    return _recurrence_from_logs(np.log(np.maximum(factor, 1e-200)), term, start)


def _recurrence_from_logs(log_factor: np.ndarray, term: np.ndarray, start: float = 0.0):
    r""":func:`linear_recurrence` given :math:`\log a_t` (saves an exp and a log per step)."""
    out = np.empty(term.size)
    # Only to place the block ends (and as the first block's logs); inside later blocks the
    # logs are summed afresh, so the precision does not degrade with the length of the run.
    cumulative = np.cumsum(log_factor)  # non-increasing
    ascending = cumulative[::-1]  # a view, for searchsorted
    position, previous, offset = 0, float(start), 0.0
    while position < term.size:
        # The block ends before the accumulated log factor falls _LOG_SPAN below its start.
        inside = term.size - int(np.searchsorted(ascending, offset - _LOG_SPAN, side="left"))
        end = max(position + 1, inside)
        if position == 0:
            growth = np.exp(cumulative[:end])
        else:
            growth = np.exp(np.cumsum(log_factor[position:end]))
        block = out[position:end]
        np.divide(term[position:end], growth, out=block)
        np.cumsum(block, out=block)
        block += previous
        block *= growth
        previous, offset, position = float(out[end - 1]), float(cumulative[end - 1]), end
    return out


def _per_step(lr: Any, weight_decay: Any) -> tuple[np.ndarray, np.ndarray]:
    lr_array = check_range("lr", lr, 0.0)
    decay_array = check_range("weight_decay", weight_decay, 0.0)
    if lr_array.ndim > 1 or decay_array.ndim > 1:
        raise ValueError("lr and weight_decay must be per-step 1-d arrays or scalars")
    if lr_array.ndim == 0 and decay_array.ndim == 0:
        raise ValueError("lr or weight_decay must be a per-step array (the schedule)")
    length = lr_array.size if lr_array.ndim else decay_array.size
    if lr_array.ndim and decay_array.ndim and lr_array.size != decay_array.size:
        raise ValueError(
            f"lr and weight_decay must have the same length; got {lr_array.size} and "
            f"{decay_array.size}"
        )
    if length == 0:
        raise ValueError("the schedule must have at least one step")
    # Read-only views: nothing below writes into them.
    return np.broadcast_to(lr_array, length), np.broadcast_to(decay_array, length)


def _one_minus_exp_over(x: np.ndarray) -> np.ndarray:
    """``(1 - exp(-x)) / x`` with its limit 1 at ``x = 0``, no cancellation."""
    safe = np.where(x > 0, x, 1.0)
    return np.where(x > 0, -np.expm1(-safe) / safe, 1.0)


def weight_rms_trajectory(
    lr: Any,
    weight_decay: Any,
    *,
    beta1: float = 0.9,
    snr: float = 0.0,
    init_rms: float = 0.0,
    method: str = "mean_field",
    beta2: float = 0.999,
    bias_correction: bool = True,
    eps: float = 1e-8,
    grad_std: float = 1.0,
    decay_convention: str = "pytorch",
    reference_lr: float | None = None,
) -> np.ndarray:
    r"""The weight RMS after every step of a schedule, by one of part 2's formulas.

    With :math:`\kappa_t = \sum_{i\le t}\eta_i\lambda_i`, :math:`\rho_0` = ``init_rms**2``:

    * ``"mean_field"`` (step ``schedules.theta_rms_dynamic``):
      :math:`\rho_t \approx e^{-2\kappa_t}\rho_0 + e^{-2\kappa_t}z_t^2\,
      \frac{\mathrm{SNR} + \sum_j\bar\beta_1(j,t)^2}{\mathrm{SNR}+1}`,
      :math:`z_t = \sum_i e^{\kappa_i}\eta_i`,
      :math:`\bar\beta_1(j,t) = \frac{1-\beta_1}{z_t}\sum_{i=j}^t e^{\kappa_i}\beta_1^{i-j}\eta_i`;
      :math:`\sum_j\bar\beta_1^2` for every ``t`` by a forward recursion (no O(T²) sum);
    * ``"series"`` (``schedules.theta_rms_series``, eq. w-rms-simp, zero-mean gradients):
      :math:`\rho_t \approx e^{-2\kappa_t}\rho_0 + \sum_j e^{-2(\kappa_t-\kappa_j)}\eta_j^2`;
    * ``"ode"`` (``schedules.rho_ode``): :math:`\rho' = -2\lambda\eta\rho + \eta^2` with
      :math:`\eta, \lambda` constant over each step, solved exactly step by step:
      :math:`\rho_t = e^{-2\eta_t\lambda_t}\rho_{t-1} + \eta_t^2\,
      \frac{1 - e^{-2\eta_t\lambda_t}}{2\eta_t\lambda_t}`;
    * ``"single_epoch"`` (``schedules.single_epoch``):
      :math:`\rho_t \approx e^{-2\kappa_t}\rho_0 + (1 - e^{-2\kappa_t})\,\nu_t/(2\kappa_t)`,
      :math:`\nu_t = \sum_{i\le t}\eta_i^2` (:math:`\nu_t` at :math:`\kappa_t = 0`).

    * ``"corrected"`` (steps ``corrected.weight_second_moment_schedule`` with the update's
      moments of ``corrected.update_mean`` and ``corrected.update_covariance``): beyond the
      mean field, with ``beta2``, bias correction and ``eps / grad_std``, and PyTorch's exact
      decay factor :math:`1 - \eta_t\lambda_t` per step; O(T) by linear recursions
      (:mod:`adamw_rms.estimators.corrected`). It needs ``lr[t] * weight_decay[t] < 1``.

    Only ``"mean_field"`` and ``"corrected"`` take ``snr > 0``; the others are the source's
    zero-mean formulas.

    Which method: ``"mean_field"`` (the default). In the schedule study (``docs/accuracy.md``,
    ``accuracy_schedules.csv``: cosine, WSD and linear runs at the source's settings, one
    timescale ``1 / (lr * weight_decay)`` long at the peak rate) it is within 0.7% of simulated
    AdamW at every recorded step; ``"series"`` and ``"ode"`` agree with it to a few 0.01% at
    zero-mean gradients. ``"single_epoch"`` averages the learning rate over the whole run, so it
    stays high after a decay: +1.9% ... +2.7% at the end of the study's runs, and more on longer
    runs (see :func:`schedule_weight_rms`, its closed form).

    Parameters
    ----------
    lr, weight_decay
        Per-step 1-d arrays of equal length ``T`` (the schedule), or one of them a scalar;
        values ``>= 0``. Convention (the default ``decay_convention="pytorch"``):
        ``theta <- theta - lr[t] * (u + weight_decay[t] * theta)``.
    beta1
        Momentum, ``[0, 1)`` (used by ``"mean_field"``).
    snr, init_rms
        ``>= 0``.
    method
        One of :data:`METHODS`.
    beta2, bias_correction, eps, grad_std
        Adam's ``beta2`` in ``[0, 1)``, bias correction, ``eps >= 0`` and the gradient noise
        ``grad_std > 0`` (``method="corrected"`` only; PyTorch's defaults).
    decay_convention, reference_lr
        How ``weight_decay`` is applied, for users of other libraries: ``"pytorch"``
        (also ``"optax"``, ``"keras"``), ``"independent"`` (``"tf_addons"``: the weights are
        multiplied by ``1 - weight_decay[t]``), ``"composer"`` (by
        ``1 - weight_decay * lr[t] / reference_lr``) or ``"corrected"`` (``"adamc"``: by
        ``1 - weight_decay * lr[t]**2 / reference_lr``); ``reference_lr`` defaults to
        ``max(lr)``. See :mod:`adamw_rms.estimators.conventions`.

    Returns
    -------
    ndarray
        The weight RMS after steps ``1..T``.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.estimators import weight_rms_trajectory
    >>> lr = np.full(100_000, 1e-3)
    >>> round(float(weight_rms_trajectory(lr, 0.1, method="series")[-1]), 4)  # sqrt(lr/(2 wd))
    0.0707

    The same run with TF-Addons' AdamW, whose ``weight_decay`` is the factor per step:

    >>> rms = weight_rms_trajectory(lr, 1e-4, method="series", decay_convention="tf_addons")
    >>> round(float(rms[-1]), 4)
    0.0707
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    lr_t, decay_t = _per_step(lr, weight_decay)
    step_decay = decay_per_step(
        lr_t, decay_t, convention=decay_convention, reference_lr=reference_lr
    )
    beta1_value = float(check_range("beta1", beta1, 0.0, 1.0, high_open=True))
    snr_value = float(check_range("snr", snr, 0.0))
    init = float(check_range("init_rms", init_rms, 0.0))
    if method == "corrected":
        return _corrected(
            lr_t, step_decay, beta1_value, snr_value, init, beta2, bias_correction, eps, grad_std
        )
    if method != "mean_field" and snr_value != 0:
        raise ValueError(f"method {method!r} is the zero-mean formula; snr must be 0 (got {snr})")
    kappa = np.cumsum(step_decay) if init > 0 or method == "single_epoch" else None
    from_init = np.exp(-2 * kappa) * init**2 if init > 0 else 0.0
    if method == "single_epoch":
        nu = np.cumsum(lr_t**2)
        return np.sqrt(from_init + nu * _one_minus_exp_over(2 * kappa))
    if method == "series":
        return np.sqrt(from_init + _recurrence_from_logs(-2 * step_decay, lr_t**2))
    if method == "ode":
        source = lr_t**2 * _one_minus_exp_over(2 * step_decay)
        return np.sqrt(from_init + _recurrence_from_logs(-2 * step_decay, source))
    return np.sqrt(from_init + _mean_field_noise(lr_t, step_decay, beta1_value, snr_value))


def _corrected(lr_t, step_decay, beta1, snr, init, beta2, bias_correction, eps, grad_std):
    from ._common import _corrected_inputs, _corrected_snr
    from .corrected import corrected_trajectory

    beta2_a, bias, eps_ratio = _corrected_inputs(beta2, bias_correction, eps, grad_std)
    _corrected_snr(snr)
    if np.ndim(beta2_a) or np.ndim(eps_ratio):
        raise ValueError("beta2, eps and grad_std must be scalars for a schedule")
    if step_decay.max(initial=0.0) >= 1.0:
        position = int(np.argmax(step_decay >= 1.0))
        raise ValueError(
            f"the decay per step must be in [0, 1) at every step for method='corrected'; got "
            f"{step_decay[position]!r} at step {position + 1}"
        )
    rms_sq = corrected_trajectory(
        np.ascontiguousarray(lr_t, dtype=np.float64),
        np.ascontiguousarray(step_decay, dtype=np.float64),
        beta1=beta1,
        beta2=float(beta2_a),
        snr=snr,
        eps_ratio=float(eps_ratio),
        bias=bias,
        init_rms=init,
    )
    return np.sqrt(rms_sq)


def _mean_field_noise(
    lr: np.ndarray, step_decay: np.ndarray, beta1: float, snr: float
) -> np.ndarray:
    r"""``e^{-2 kappa_t} z_t^2 (SNR + sum_j b1bar(j,t)^2) / (SNR + 1)`` for every ``t``.

    With :math:`A_j(t) = \sum_{i=j}^t e^{\kappa_i}\beta_1^{i-j}\eta_i`, the sum
    :math:`Q_t = \sum_{j\le t}A_j(t)^2` obeys :math:`Q_t = Q_{t-1} + 2c_t\beta_1P_{t-1} + c_t^2G_t`
    and :math:`P_t = \sum_{j\le t}\beta_1^{t-j}A_j(t) = \beta_1P_{t-1} + c_tG_t`
    (:math:`c_t = e^{\kappa_t}\eta_t`, :math:`G_t = \sum_{k<t}\beta_1^{2k}`); scaled by
    :math:`e^{-2\kappa_t}` and :math:`e^{-\kappa_t}` they become linear recurrences with
    factors :math:`\le 1`. Likewise :math:`\tilde z_t = e^{-\kappa_t}z_t`.
    """
    if beta1 > 0:
        # G_t = (1 - beta1^(2t)) / (1 - beta1^2) reaches its limit in float64 within a few
        # hundred steps; only those differ from it.
        limit = 1 / (1 - beta1**2)
        early = min(lr.size, int(np.ceil(-40 / np.log(beta1))) + 1)
        rate_gain = lr * limit  # eta_t G_t
        rate_gain[:early] = lr[:early] * -np.expm1(2 * np.arange(1, early + 1) * np.log(beta1))
        rate_gain[:early] *= limit
        scaled_p = _recurrence_from_logs(np.log(beta1) - step_decay, rate_gain)
        # The source of Q is eta^2 G + 2 eta beta1 e^{-Delta} P_{t-1}; by P's own recursion
        # beta1 e^{-Delta} P_{t-1} = P_t - eta G, so it is eta (2 P_t - eta G): no exp needed.
        source = 2 * scaled_p
        source -= rate_gain
        source *= lr
    else:
        source = lr * lr  # G_t = 1 and P_t = eta_t
    noise = (1 - beta1) ** 2 * _recurrence_from_logs(-2 * step_decay, source)
    if snr == 0:
        return noise  # z_t only enters with the signal
    scaled_z = _recurrence_from_logs(-step_decay, lr)
    return (snr * scaled_z**2 + noise) / (snr + 1)


def _shape_moments(shape: str, peak: float, final: float, steps: float, weight_decay: float,
                   warmup: float, decay: float) -> tuple[float, float]:  # fmt: skip
    """``kappa`` and ``nu`` over the whole run from the derived closed forms (piece by piece)."""
    if shape == "wsd":
        arguments = {"peak": peak, "steps": steps, "warmup_end": warmup,
                     "decay_start": steps - decay}  # fmt: skip
        return (
            kernels.kappa_wsd_closed_form_numpy(weight_decay=weight_decay, **arguments),
            kernels.nu_wsd_closed_form_numpy(**arguments),
        )
    kappa, nu = 0.0, 0.0
    if warmup:  # a linear ramp from 0 to the peak
        kappa += kernels.kappa_linear_closed_form_numpy(peak, 0.0, warmup, weight_decay)
        nu += kernels.nu_linear_closed_form_numpy(peak, 0.0, warmup)
    rest = steps - warmup
    if shape == "linear":
        kappa += kernels.kappa_linear_closed_form_numpy(final, peak, rest, weight_decay)
        nu += kernels.nu_linear_closed_form_numpy(final, peak, rest)
    else:
        kappa += kernels.kappa_cosine_closed_form_numpy(final, peak, rest, weight_decay)
        nu += kernels.nu_cosine_closed_form_numpy(final, peak, rest)
    return float(kappa), float(nu)


def _scalar(name: str, value: Any, low: float, *, whole: bool = False) -> float:
    """One validated number (``>= low``); the closed forms take one schedule, not an array."""
    array = check_range(name, value, low, whole=whole)
    if array.ndim:
        raise ValueError(f"{name} must be a single number; got shape {array.shape}")
    return float(array)


def schedule_weight_rms(
    shape: str,
    *,
    peak: float,
    steps: int,
    weight_decay: float,
    final: float = 0.0,
    warmup: int = 0,
    decay: int | None = None,
    init_rms: float = 0.0,
) -> float:
    r"""The single-epoch closed form at the end of a named schedule (a quick, rough estimate).

    Prefer :func:`weight_rms_trajectory` with its default ``method="mean_field"`` on the
    per-step learning rates (:mod:`adamw_rms.schedules` builds them): it is O(steps) and
    within 0.7% of simulation on the schedule study. This function is the single-epoch
    formula, which weighs every step of the run alike where the decay forgets the early ones,
    so it overestimates the RMS after a decay: by +1.9% ... +2.7% at the end of the study's
    runs (one timescale ``1 / (peak * weight_decay)`` long). On longer runs, against the ODE
    trajectory (starting at the peak's equilibrium), a cosine or linear decay to 1/10 of the
    peak or less is +2.7% ... +3.4% high after one timescale at the peak rate, +16% ... +19%
    after three and +52% ... +65% after ten (a WSD decay to 0 over the last 20%: +1.7%,
    +7.6% and +27%); the error grows with the run's length in timescales and the depth of the
    decay.
    Where it is more than :data:`SINGLE_EPOCH_WARN` (10%) off the ODE trajectory of the same
    schedule (computed here, on at most 65 536 pieces), it warns with
    :class:`~adamw_rms.AccuracyWarning`; the ODE is the mean field's zero-mean form and agrees
    with it within 0.1% on the study. A constant schedule (``final = peak``, no warmup) is exact.

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 \approx e^{-2\kappa_t}\rho_0
        + (1 - e^{-2\kappa_t})\,\frac{\nu_t}{2\kappa_t}

    (step ``schedules.single_epoch``) with :math:`\kappa_t = \lambda\int_0^t\eta_s\,ds` and
    :math:`\nu_t = \int_0^t\eta_s^2\,ds` from the derived closed forms of
    ``schedules.kappa_linear`` ... ``nu_wsd`` (continuous time; a warmup is a linear piece
    from 0 to ``peak``). Shapes as in :mod:`adamw_rms.schedules`: ``"linear"`` from ``peak``
    to ``final``, ``"cosine"`` from ``peak`` to ``final``, ``"wsd"`` with ``warmup``, the
    stable ``peak`` and a linear ``decay`` to 0 over the last ``decay`` steps (default 20%).
    Constant weight decay, convention ``theta <- theta - lr * (u + weight_decay * theta)``.

    Examples
    --------
    >>> from adamw_rms.estimators import schedule_weight_rms
    >>> round(schedule_weight_rms("cosine", peak=1e-3, final=1e-4, steps=10_000,
    ...                           weight_decay=0.1, init_rms=0.1), 4)
    0.076

    Three timescales at the peak rate (the trajectory's mean field: 0.0274):

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     value = schedule_weight_rms("cosine", peak=3e-4, final=3e-5, steps=100_000,
    ...                                 warmup=2000, weight_decay=0.1, init_rms=0.02)
    >>> round(value, 4), caught[0].category.__name__
    (0.0328, 'AccuracyWarning')
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}; got {shape!r}")
    peak, final, weight_decay, init_rms = (
        _scalar(name, value, 0.0)
        for name, value in (
            ("peak", peak), ("final", final), ("weight_decay", weight_decay),
            ("init_rms", init_rms),
        )
    )  # fmt: skip
    steps = _scalar("steps", steps, 1.0, whole=True)
    warmup = _scalar("warmup", warmup, 0.0, whole=True)
    decay = max(1.0, steps // 5) if decay is None else _scalar("decay", decay, 1.0, whole=True)
    if not warmup < steps:
        raise ValueError(f"warmup must be in [0, steps); got {warmup:g} with steps={steps:g}")
    if shape == "wsd" and not decay <= steps - warmup:
        raise ValueError(
            f"decay must be in [1, steps - warmup]; got {decay:g} with steps={steps:g}, "
            f"warmup={warmup:g}"
        )
    kappa, nu = _shape_moments(shape, peak, final, steps, weight_decay, warmup, decay)
    ratio = float(_one_minus_exp_over(np.asarray(2 * kappa)))
    value = float(np.sqrt(np.exp(-2 * kappa) * init_rms**2 + nu * ratio))
    reference = _ode_end(shape, peak, final, steps, weight_decay, warmup, decay, init_rms)
    if reference > 0 and abs(value / reference - 1) > SINGLE_EPOCH_WARN:
        warnings.warn(
            f"schedule_weight_rms: the single-epoch closed form ({value:.4g}) is "
            f"{value / reference - 1:+.0%} off the ODE trajectory of this schedule "
            f"({reference:.4g}; {peak * weight_decay * steps:.3g} timescales at the peak rate); "
            "use weight_rms_trajectory(lr, weight_decay, method='mean_field') with the per-step "
            "learning rates of adamw_rms.schedules",
            AccuracyWarning,
            stacklevel=2,
        )
    return value


def _ode_end(shape: str, peak: float, final: float, steps: int, weight_decay: float,
             warmup: int, decay: int, init_rms: float) -> float:  # fmt: skip
    """The ODE's RMS at the end of the named schedule, on at most :data:`_CHECK_PIECES`
    pieces of constant learning rate (each solved exactly, as ``method="ode"`` per step)."""
    from .. import schedules

    pieces = int(min(steps, _CHECK_PIECES))
    scale = pieces / steps
    ramp = min(pieces - 1, round(warmup * scale))
    if shape == "wsd":
        down = min(pieces - ramp, max(1, round(decay * scale)))
        lr = schedules.wsd(peak, pieces, warmup=ramp, decay=down)
    else:
        lr = schedules.SCHEDULES[shape](peak, final, pieces, warmup=ramp)
    length = steps / pieces  # steps per piece
    step_decay = 2 * weight_decay * lr * length
    source = lr**2 * length * _one_minus_exp_over(step_decay)
    kappa2 = float(step_decay.sum())
    rho = _recurrence_from_logs(-step_decay, source)[-1] + np.exp(-kappa2) * init_rms**2
    return float(np.sqrt(rho))

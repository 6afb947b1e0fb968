r"""The weight decay that gives a target weight RMS: the estimators run backwards.

Weight-decay convention (PyTorch's ``torch.optim.AdamW`` and the source):
``theta <- theta - lr * (u + weight_decay * theta)``, i.e. ``beta3 = 1 - lr * weight_decay``.

At equilibrium (``steps=inf``) the answer is a derived closed form (step
``weight_rms.weight_decay_for_rms``, printed by ``adamw-rms derive`` as the kernel
``equilibrium_weight_decay``). After a finite number of steps, or at the end of a schedule,
the estimators are inverted numerically; both are strictly decreasing in the weight decay, so
the root is unique and a bracketed search cannot miss it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _generated as kernels
from ._common import _check_backend, _decay_terms_mpmath, _elementwise_mpmath, _output
from ._validate import check_range
from .adamw import weight_rms
from .schedules import weight_rms_trajectory

__all__ = ["solve_schedule_weight_decay", "solve_weight_decay"]

#: The largest SNR accepted: the closed form squares it, and float64 must not overflow.
MAX_SNR = 1e150

_EPS = np.finfo(np.float64).eps


def _largest_valid_decay(lr: np.ndarray) -> np.ndarray:
    """The largest float ``weight_decay`` with ``lr * weight_decay < 1`` (as NumPy rounds it).

    Rounding is monotone, so every smaller weight decay passes :func:`weight_rms`'s check too.
    """
    decay = 1.0 / lr
    for _ in range(8):  # 1/lr is within an ulp or two of the answer
        too_big = lr * decay >= 1.0
        if not too_big.any():
            return decay
        decay = np.where(too_big, np.nextafter(decay, 0.0), decay)
    raise AssertionError("no weight decay below 1/lr found")  # pragma: no cover


def _lowest_rms(lr: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """The weight RMS as ``lr * weight_decay -> 1``: the infimum over the allowed decays.

    eq:theta-rms at ``beta3 = 0``: ``beta3**t = 0`` and ``(1 - beta3**t)/(lr*weight_decay) = 1``
    for every ``t >= 1`` (the initialisation is gone after one step). The printed kernel is
    homogeneous of degree 2 in ``lr``, so it is evaluated at ``lr = 1`` and scaled: no square
    of ``lr`` under- or overflows.
    """
    one = np.ones_like(snr)
    return lr * np.sqrt(kernels.weight_rms_noise_sq_numpy(one, one, one, snr))


def _unreachable(
    bad: np.ndarray, target: np.ndarray, low: np.ndarray, high: np.ndarray, **inputs: np.ndarray
) -> None:
    """Raise for the first unreachable target, naming its inputs and their reachable range."""
    if not bad.any():
        return
    index = tuple(int(k) for k in np.argwhere(bad)[0]) if bad.ndim else ()
    where = f" at index {index}" if index else ""
    settings = ", ".join(f"{name}={float(value[index]):g}" for name, value in inputs.items())
    bottom, top = float(low[index]), float(high[index])
    if top == np.inf:  # the equilibrium: no decay, no bound
        span = f"({bottom:.6g}, inf), from weight_decay -> 1/lr to weight_decay -> 0"
    else:
        span = f"({bottom:.6g}, {top:.6g}], from weight_decay -> 1/lr to weight_decay = 0"
    raise ValueError(
        f"target_rms={float(target[index])!r}{where} is out of reach: with {settings} the "
        f"weight RMS can only be in {span}"
    )


def _bisect(
    target: np.ndarray, lr: np.ndarray, steps: np.ndarray, snr: np.ndarray, init: np.ndarray
) -> np.ndarray:
    """The weight decay with ``weight_rms(...) == target``, elementwise, to the last bit.

    Bisection over the bit patterns of non-negative floats, which are ordered like the values:
    the bracket ``[lo, hi]`` halves in *float count* each time, so about 62 evaluations reach
    adjacent floats whatever the scale of the root (``1e-300`` or ``1/lr``). ``hi`` starts at
    the first float that :func:`weight_rms` refuses (``lr * hi >= 1``), so every midpoint is
    allowed. Needs ``weight_rms(lr, 0) >= target > the lowest RMS`` (checked by the caller).
    """
    lo_bits = np.zeros(target.shape, dtype=np.int64)
    top = _largest_valid_decay(lr)
    hi_bits = np.nextafter(top, np.inf).view(np.int64)
    rms_lo = weight_rms(lr, 0.0, steps=steps, snr=snr, init_rms=init)
    rms_hi = np.full(target.shape, -np.inf)  # hi is refused: never evaluated
    while (hi_bits - lo_bits > 1).any():  # until every bracket is two adjacent floats
        mid_bits = lo_bits + (hi_bits - lo_bits) // 2
        value = weight_rms(lr, mid_bits.view(np.float64), steps=steps, snr=snr, init_rms=init)
        up = value >= target  # the RMS decreases with the weight decay: the root is above
        lo_bits = np.where(up, mid_bits, lo_bits)
        rms_lo = np.where(up, value, rms_lo)
        hi_bits = np.where(up, hi_bits, mid_bits)
        rms_hi = np.where(up, rms_hi, value)
    # Of the two adjacent floats, the one whose RMS is nearer the target.
    take_hi = target - rms_hi < rms_lo - target
    return np.where(take_hi, hi_bits, lo_bits).view(np.float64)


def _bisect_mpmath(target: Any, lr: Any, steps: Any, snr: Any, init: Any) -> Any:
    """:func:`_bisect` for one element in mpmath: a geometric ladder, then geometric halving."""
    import mpmath

    def rms(decay: Any) -> Any:
        power, total = _decay_terms_mpmath(lr * decay, steps)
        return mpmath.sqrt(kernels.weight_rms_sq_mpmath(lr, decay, power, total, snr, init))

    if rms(mpmath.mpf(0)) <= target:  # the target is the no-decay RMS itself
        return mpmath.mpf(0)
    top = 1 / lr  # the RMS there is below every reachable target (the infimum)
    hi, rms_hi, lo, rms_lo, k = top, None, None, None, 1
    while lo is None:  # hi * 2**-1, 2**-2, 2**-4, ...: a bracket within two exponent doublings
        candidate = top * mpmath.ldexp(1, -k)
        value = rms(candidate)
        if value >= target:
            lo, rms_lo = candidate, value
        else:
            hi, rms_hi, k = candidate, value, 2 * k
            if k > 2**40:  # pragma: no cover - below every representable positive decay
                return mpmath.mpf(0)
    tolerance = 4 * mpmath.eps
    for _ in range(4 * mpmath.mp.prec + 100):
        if hi - lo <= tolerance * lo:
            break
        mid = mpmath.sqrt(lo * hi)
        value = rms(mid)
        if value >= target:
            lo, rms_lo = mid, value
        else:
            hi, rms_hi = mid, value
    if rms_hi is not None and target - rms_hi < rms_lo - target:
        return hi
    return lo


def solve_weight_decay(
    target_rms: Any,
    lr: Any,
    *,
    steps: Any = math.inf,
    snr: Any = 0.0,
    init_rms: Any = 0.0,
    formula: str = "mean_field",
    beta1: Any = 0.9,
    beta2: Any = 0.999,
    bias_correction: bool = True,
    eps: Any = 1e-8,
    grad_std: Any = 1.0,
    backend: str = "numpy",
) -> Any:
    r"""The weight decay at which :func:`weight_rms` equals ``target_rms``.

    At equilibrium (``steps=inf``) this is the derived closed form (step
    ``weight_rms.weight_decay_for_rms``: eq:theta-rms as :math:`t\to\infty`,
    :math:`\Vert\theta\Vert_{\mathrm{RMS}}^2 \approx (\mathrm{SNR} + \eta\lambda/2) /
    (\lambda^2(\mathrm{SNR}+1))`, solved for its one positive root)

    .. math::

        \lambda = \frac{\eta + \sqrt{\eta^2 + 16 r^2\,\mathrm{SNR}(\mathrm{SNR}+1)}}
        {4 r^2 (\mathrm{SNR}+1)}, \qquad r = \texttt{target\_rms},

    which is :math:`\eta/(2r^2)` for zero-mean gradients and tends to :math:`1/r` as the SNR
    grows. It is evaluated as :math:`(a + \sqrt{a^2 + 16\,\mathrm{SNR}(\mathrm{SNR}+1)})/
    (4r(\mathrm{SNR}+1))` with :math:`a = \eta/r`: a sum of positive terms, accurate to a few
    ulps at every SNR.

    For a finite ``steps`` it solves ``weight_rms(lr, weight_decay, steps=steps, snr=snr,
    init_rms=init_rms) == target_rms`` by bisection (vectorised, over the bit patterns of
    the floats in ``[0, 1/lr)``, about 62 evaluations of :func:`weight_rms`, to adjacent
    floats). The root is unique: with :math:`\beta_3 = 1 - \eta\lambda` and integer
    :math:`t \ge 1`, eq:theta-rms is

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 \approx \beta_3^{2t}\rho_0 + \eta^2\,
        \frac{\mathrm{SNR}\,\bigl(\sum_{k<t}\beta_3^k\bigr)^2 + \frac12\sum_{k<2t}\beta_3^k}
        {\mathrm{SNR}+1},

    a polynomial in :math:`\beta_3` with non-negative coefficients and a positive linear
    term, so it strictly decreases as :math:`\lambda` grows.

    Reachable targets: the weight decay is limited to :math:`0 \le \lambda < 1/\eta`
    (:math:`\beta_3 > 0`). As :math:`\eta\lambda \to 1` the RMS falls to
    :math:`\eta\sqrt{(\mathrm{SNR}+\frac12)/(\mathrm{SNR}+1)}` for every ``steps``; at
    :math:`\lambda = 0` it is the no-decay value :math:`\sqrt{\rho_0 + \eta^2 (t +
    \mathrm{SNR}\,t^2)/(\mathrm{SNR}+1)}`, which is infinite at ``steps=inf``. So
    ``target_rms`` must be above the first and at most the second (any target above the
    first at equilibrium); otherwise a ValueError names the range for those inputs.

    ``formula="corrected"`` solves :func:`weight_rms` with ``formula="corrected"`` (and
    ``beta1``, ``beta2``, ``bias_correction``, ``eps``, ``grad_std``, which the mean-field
    solution ignores) by Brent's method on ``weight_decay`` (NumPy; elementwise), after
    checking that the target lies between its values at the largest allowed decay and at no
    decay.

    Parameters
    ----------
    target_rms
        The weight RMS wanted, ``> 0``.
    lr
        The learning rate :math:`\eta`, ``> 0``.
    steps
        :math:`t`, a whole number ``>= 1`` or ``inf`` (the equilibrium, the default;
        ``init_rms`` is then irrelevant).
    snr
        :math:`\Vert\mu\Vert^2/\Vert\sigma\Vert^2`, in ``[0, 1e150]`` (the closed form squares it).
    init_rms
        :math:`\sqrt{\rho_0} = \Vert\theta_0\Vert_{\mathrm{RMS}}`, ``>= 0``.
    backend
        ``"numpy"`` (float64, broadcasting) or ``"mpmath"`` (the current ``mpmath.mp``
        precision, elementwise; finite ``steps`` by geometric bisection).

    Returns
    -------
    float or ndarray
        The weight decay (PyTorch's ``weight_decay``, convention
        ``theta <- theta - lr * (u + weight_decay * theta)``), a Python float for scalar
        inputs, otherwise an array of the broadcast shape.

    Raises
    ------
    ValueError
        For an invalid input (naming it) or an unreachable ``target_rms`` (with its range).

    Examples
    --------
    >>> from adamw_rms.estimators import solve_weight_decay, weight_rms
    >>> round(solve_weight_decay(0.05, 1e-3), 12)  # lr / (2 r**2)
    0.2
    >>> decay = solve_weight_decay(0.05, 1e-3, steps=5_000, init_rms=0.02)  # a short run
    >>> round(decay, 4), round(weight_rms(1e-3, decay, steps=5_000, init_rms=0.02), 12)
    (0.1676, 0.05)
    """
    _check_backend(backend)
    if formula not in ("mean_field", "corrected"):
        raise ValueError(f"formula must be one of ('mean_field', 'corrected'); got {formula!r}")
    if formula == "corrected":
        if backend != "numpy":
            raise ValueError('formula="corrected" is solved with backend="numpy" only')
        options = dict(beta1=beta1, beta2=beta2, bias_correction=bias_correction, eps=eps,
                       grad_std=grad_std)  # fmt: skip
        return _solve_corrected(target_rms, lr, steps, snr, init_rms, options)
    inputs = {
        "target_rms": check_range("target_rms", target_rms, 0.0, low_open=True),
        "lr": check_range("lr", lr, 0.0, low_open=True),
        "steps": check_range("steps", steps, 1.0, allow_inf=True, whole=True),
        "snr": check_range("snr", snr, 0.0, MAX_SNR),
        "init_rms": check_range("init_rms", init_rms, 0.0),
    }
    try:
        target, lr_a, steps_a, snr_a, init_a = np.broadcast_arrays(*inputs.values())
    except ValueError as error:
        shapes = ", ".join(f"{name} {np.shape(v)}" for name, v in inputs.items())
        raise ValueError(f"the inputs do not broadcast together: {shapes}") from error
    low = _lowest_rms(lr_a, snr_a)
    high = np.asarray(weight_rms(lr_a, 0.0, steps=steps_a, snr=snr_a, init_rms=init_a))
    _unreachable(
        ~((target > low) & (target <= high)),
        target,
        low,
        high,
        lr=lr_a,
        steps=steps_a,
        snr=snr_a,
        init_rms=init_a,
    )
    arguments = (target_rms, lr, steps, snr, init_rms)
    if backend == "mpmath":
        import mpmath

        def one(target_v, lr_v, steps_v, snr_v, init_v):
            if mpmath.isinf(steps_v):
                return kernels.equilibrium_weight_decay_mpmath(lr_v, target_v, snr_v)
            return _bisect_mpmath(target_v, lr_v, steps_v, snr_v, init_v)

        return _elementwise_mpmath(one, target, lr_a, steps_a, snr_a, init_a)
    at_equilibrium = np.isinf(steps_a)
    result = np.empty(target.shape)
    pick = at_equilibrium
    if pick.any():
        closed = kernels.equilibrium_weight_decay_numpy(lr_a[pick], target[pick], snr_a[pick])
        # A target just above the lowest RMS may round past 1/lr: keep weight_rms's rule.
        result[pick] = np.minimum(closed, _largest_valid_decay(lr_a[pick]))
    pick = ~at_equilibrium
    if pick.any():
        result[pick] = _bisect(target[pick], lr_a[pick], steps_a[pick], snr_a[pick], init_a[pick])
    return _output(result, *arguments)


def _solve_corrected(target_rms, lr, steps, snr, init_rms, options) -> Any:
    inputs = {
        "target_rms": check_range("target_rms", target_rms, 0.0, low_open=True),
        "lr": check_range("lr", lr, 0.0, low_open=True),
        "steps": check_range("steps", steps, 1.0, allow_inf=True, whole=True),
        "snr": check_range("snr", snr, 0.0, MAX_SNR),
        "init_rms": check_range("init_rms", init_rms, 0.0),
    }
    arrays = np.broadcast_arrays(*inputs.values())
    for name, value in options.items():  # one optimizer per call: the loop below is per element
        if np.ndim(value):
            raise ValueError(f'with formula="corrected", {name} must be a scalar; got {value!r}')
    weight_rms(1e-3, 0.1, formula="corrected", **options)  # validates the options' ranges
    result = np.empty(arrays[0].shape)
    for index in np.ndindex(result.shape):
        target, lr_v, steps_v, snr_v, init_v = (float(a[index]) for a in arrays)

        def rms(decay: float, lr_v=lr_v, steps_v=steps_v, snr_v=snr_v, init_v=init_v) -> float:
            return weight_rms(lr_v, decay, steps=steps_v, snr=snr_v, init_rms=init_v,
                              formula="corrected", **options)  # fmt: skip

        top = float(_largest_valid_decay(np.asarray(lr_v)))
        low, high = rms(top), rms(0.0)
        if not low < target <= high:
            settings = f"lr={lr_v:g}, steps={steps_v:g}, snr={snr_v:g}, init_rms={init_v:g}"
            raise ValueError(
                f"target_rms={target:g} is not reachable with {settings}: the corrected weight "
                f"RMS lies in ({low:.6g}, {high:.6g}] for weight_decay in [0, 1/lr)"
            )
        if target == high:
            result[index] = 0.0
            continue
        # Bracket from the mean-field root, then Brent (the RMS falls as the decay grows).
        guess = min(lr_v / (2 * target**2), top)
        a, fa = guess, rms(guess) - target
        b, fb = a, fa
        while fb > 0 and b < top:
            b = min(2 * b, top)
            fb = rms(b) - target
        while fa < 0:
            a = a / 2 if a > 1e-300 else 0.0
            fa = rms(a) - target
            if a == 0.0:
                break
        result[index] = _brentq(lambda x, target=target: rms(x) - target, a, b, fa, fb)
    return float(result) if result.ndim == 0 else result


def _brentq(function: Callable[[float], float], a: float, b: float, fa: float, fb: float) -> float:
    """Brent's method on ``[a, b]`` with ``fa >= 0 > fb`` (or the reverse), to a few ulps.

    Inverse quadratic interpolation or secant steps where they stay well inside the bracket,
    bisection otherwise; the bracket always contains a sign change.
    """
    x_pre, x_cur, f_pre, f_cur = a, b, fa, fb
    x_blk = f_blk = s_pre = s_cur = 0.0
    for _ in range(400):
        if f_pre != 0 and f_cur != 0 and (f_pre < 0) != (f_cur < 0):
            x_blk, f_blk = x_pre, f_pre
            s_pre = s_cur = x_cur - x_pre
        if abs(f_blk) < abs(f_cur):
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = (1e-300 + 4 * _EPS * abs(x_cur)) / 2
        s_bis = (x_blk - x_cur) / 2
        if f_cur == 0 or abs(s_bis) < delta:
            return x_cur
        if abs(s_pre) > delta and abs(f_cur) < abs(f_pre):
            if x_pre == x_blk:  # secant
                s_try = -f_cur * (x_cur - x_pre) / (f_cur - f_pre)
            else:  # inverse quadratic interpolation
                d_pre = (f_pre - f_cur) / (x_pre - x_cur)
                d_blk = (f_blk - f_cur) / (x_blk - x_cur)
                s_try = -f_cur * (f_blk * d_blk - f_pre * d_pre) / (d_blk * d_pre * (f_blk - f_pre))
            if 2 * abs(s_try) < min(abs(s_pre), 3 * abs(s_bis) - delta):
                s_pre, s_cur = s_cur, s_try
            else:
                s_pre = s_cur = s_bis
        else:
            s_pre = s_cur = s_bis
        x_pre, f_pre = x_cur, f_cur
        x_cur += s_cur if abs(s_cur) > delta else math.copysign(delta, s_bis)
        f_cur = function(x_cur)
    raise RuntimeError("Brent's method did not converge")  # pragma: no cover


def solve_schedule_weight_decay(
    target_rms: float,
    lr_schedule: Any,
    *,
    weight_decay_shape: Any = None,
    beta1: float = 0.9,
    snr: float = 0.0,
    init_rms: float = 0.0,
    method: str = "mean_field",
) -> float:
    r"""The weight decay that makes the final weight RMS of a schedule equal ``target_rms``.

    Finds :math:`\lambda` with

    .. math::

        \texttt{weight\_rms\_trajectory}(\eta_{1..T},\ \lambda s_{1..T})_T = r,

    where :math:`s_t` is ``weight_decay_shape`` (default 1: a constant weight decay
    :math:`\lambda`; ``lr_schedule / lr_schedule.max()`` gives the fix
    :math:`\lambda_t \propto \eta_t`, then :math:`\lambda` is the weight decay at the peak
    rate). Convention ``theta <- theta - lr[t] * (u + weight_decay[t] * theta)`` with
    ``weight_decay[t] = lambda * shape[t]``.

    The final RMS strictly decreases in :math:`\lambda` (each formula of
    :func:`weight_rms_trajectory` is a sum of non-negative terms, each multiplied by
    :math:`e^{-c(\kappa_T - \kappa_j)}` or divided by a quantity that grows with
    :math:`\kappa`, and :math:`\kappa_T - \kappa_j = \lambda\sum_{i>j}\eta_i s_i`), so the root
    is unique; it is found by Brent's method on :math:`[0, \lambda_{\max}]` to a few ulps.
    :math:`\lambda_{\max} = 1/\max_t(\eta_t s_t)` keeps every step's
    ``lr[t] * weight_decay[t]`` below 1, as :func:`weight_rms` requires. The reachable targets
    are those above the final RMS at :math:`\lambda_{\max}` and at most the one at
    :math:`\lambda = 0`; others raise a ValueError with that range.

    Parameters
    ----------
    target_rms
        The final weight RMS wanted, a number ``> 0``.
    lr_schedule
        The learning rate of each step, a non-empty 1-d array, ``>= 0``
        (e.g. :func:`adamw_rms.schedules.cosine`).
    weight_decay_shape
        ``None`` or a 1-d array of the same length, ``>= 0``: the per-step multipliers.
    beta1, snr, init_rms, method
        As in :func:`weight_rms_trajectory` (``method`` one of ``"mean_field"``,
        ``"series"``, ``"ode"``, ``"single_epoch"``).

    Returns
    -------
    float
        :math:`\lambda` (the constant weight decay, or the scale of the shape).

    Examples
    --------
    >>> from adamw_rms.estimators import solve_schedule_weight_decay, weight_rms_trajectory
    >>> from adamw_rms.schedules import cosine
    >>> lr = cosine(1e-3, 1e-4, 10_000)
    >>> decay = solve_schedule_weight_decay(0.06, lr, init_rms=0.02)
    >>> round(decay, 4), round(float(weight_rms_trajectory(lr, decay, init_rms=0.02)[-1]), 12)
    (0.0304, 0.06)
    """
    target_array = check_range("target_rms", target_rms, 0.0, low_open=True)
    if target_array.ndim != 0:
        raise ValueError(f"target_rms must be a single number; got shape {target_array.shape}")
    target = float(target_array)
    lr = check_range("lr_schedule", lr_schedule, 0.0)
    if lr.ndim != 1 or lr.size == 0:
        raise ValueError(f"lr_schedule must be a non-empty 1-d array; got shape {lr.shape}")
    if weight_decay_shape is None:
        shape = None
        rate = lr
    else:
        shape = check_range("weight_decay_shape", weight_decay_shape, 0.0)
        if shape.shape != lr.shape:
            raise ValueError(
                f"weight_decay_shape must be a 1-d array like lr_schedule, of length {lr.size}; "
                f"got shape {shape.shape}"
            )
        rate = lr * shape
    largest_rate = float(rate.max())
    if largest_rate == 0:
        raise ValueError(
            "lr_schedule * weight_decay_shape is 0 at every step: no weight decay changes the RMS"
        )

    def final_rms(decay: float) -> float:
        weight_decay = decay if shape is None else decay * shape
        trajectory = weight_rms_trajectory(
            lr, weight_decay, beta1=beta1, snr=snr, init_rms=init_rms, method=method
        )
        return float(trajectory[-1])

    high = final_rms(0.0)  # also validates beta1, snr, init_rms and method
    top = 1.0 / largest_rate
    low = final_rms(top)
    if not low < target <= high:
        raise ValueError(
            f"target_rms={target!r} is out of reach: for this schedule (T={lr.size}, "
            f"beta1={beta1:g}, snr={snr:g}, init_rms={init_rms:g}, method={method!r}) the final "
            f"weight RMS can only be in ({low:.6g}, {high:.6g}], from weight_decay = {top:.6g} "
            "(lr * weight_decay = 1 at its largest) down to 0"
        )
    if target == high:
        return 0.0
    return _brentq(lambda decay: final_rms(decay) - target, 0.0, top, high - target, low - target)

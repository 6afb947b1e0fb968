r"""The exact weight RMS of SGD with momentum (PyTorch's ``torch.optim.SGD``, and SGDW).

Derivation ``sgd``: with iid Gaussian gradients the weight and the momentum buffer follow a
linear recursion, so the five moments :math:`s_t = (\mathbb{E}\theta_t^2,
\mathbb{E}\theta_t b_t, \mathbb{E} b_t^2, \mathbb{E}\theta_t, \mathbb{E} b_t)` obey an affine
recursion :math:`s_t = T s_{t-1} + c` for :math:`t \ge 2` (steps ``sgd.*_recursion``), started
from the first step's moments (``sgd.*_first``; PyTorch's buffer starts as a copy of the first
gradient). The entries of :math:`T - I` and :math:`c` are printed kernels (``sgd_change_*``, from
the recursions with the identity cancelled symbolically); the estimator takes the
:math:`(t-1)`-th power of the 6 x 6 matrix :math:`M = \begin{psmallmatrix}T & c\\ 0 &
1\end{psmallmatrix}` by repeated squaring of :math:`M^n - I`: about :math:`\log_2 t` products
per element, so ``steps = 1e9`` costs 30 matrix products. At
``steps = inf`` it evaluates the printed fixed point (steps ``sgd.equilibrium_*``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _generated as kernels
from ._common import _check_backend, _elementwise_mpmath, _output
from ._validate import check_range, raise_where

__all__ = ["FORMULAS", "sgd_weight_rms"]

#: The formulas :func:`sgd_weight_rms` can evaluate.
FORMULAS = ("exact", "req")

_MOMENTS = ("theta_sq", "theta_buf", "buf_sq", "theta_mean", "buf_mean")
_COLUMNS = (*_MOMENTS, "const")


def _first(backend: str) -> tuple:
    """The printed moments after the first step, in the order of ``_MOMENTS``."""
    return tuple(getattr(kernels, f"sgd_first_{name}_{backend}") for name in _MOMENTS)


def _change(backend: str) -> tuple:
    """``[row][column]``: the printed entries of T - I (and the constant column)."""
    return tuple(
        tuple(getattr(kernels, f"sgd_change_{row}_{column}_{backend}") for column in _COLUMNS)
        for row in _MOMENTS
    )


def _variant(decoupled: bool, nesterov: bool) -> str:
    return ("decoupled" if decoupled else "coupled") + ("_nesterov" if nesterov else "")


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def _finite_numpy(setting: tuple[np.ndarray, ...], init: np.ndarray, steps: np.ndarray):
    """E[theta_t^2] at finite ``steps`` (0 allowed): the first step's moments, then T^(t-1).

    The power is kept as ``D_n = T^n - I``: squaring is ``D_2n = 2 D_n + D_n^2`` and applying
    it ``s + D_n s``. With a small decay per step T is close to I, and plain repeated squaring
    would lose about ``t * 2**-53`` (1e-7 at 1e9 steps); the printed entries of ``T - I`` carry
    full relative precision, and so does every ``D_n``.
    """
    shape = np.broadcast_shapes(*(np.shape(a) for a in (*setting, init, steps)))
    setting = tuple(np.broadcast_to(a, shape) for a in setting)
    first = [f(*setting, np.broadcast_to(init, shape)) for f in _first("numpy")]
    state = np.stack([np.broadcast_to(x, shape) for x in first] + [np.ones(shape)], axis=-1)
    change = np.zeros((*shape, 6, 6))
    for i, row in enumerate(_change("numpy")):
        for j, entry in enumerate(row):
            change[..., i, j] = entry(*setting)
    # The bits of t - 1 in float arithmetic: exact for every whole float64, even past 2**63.
    remaining = np.broadcast_to(np.maximum(steps - 1, 0), shape).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # an unstable coupled run may overflow
        while remaining.any():
            odd = np.fmod(remaining, 2) == 1
            stepped = state + (change @ state[..., None])[..., 0]
            state = np.where(odd[..., None], stepped, state)
            remaining = np.floor(remaining / 2)
            if remaining.any():
                change = 2 * change + change @ change
    square = state[..., 0]
    square = np.where(np.broadcast_to(steps, shape) == 0, np.broadcast_to(init, shape) ** 2, square)
    # Past float64's range (an unstable coupled run): the mean square is +inf, not NaN.
    return np.where(np.isfinite(square), square, np.inf)


#: ``init**2 / E[theta_t^2]`` beyond which float64's ``s + (T^n - I) s`` may have cancelled
#: (its error is about ``2**-53`` times this ratio): such elements are recomputed in mpmath.
_CANCELLATION = 1e3


def _redo_cancelled(setting, init, steps, square):
    """``square`` with the elements whose large initial weights decayed far below the result
    recomputed in mpmath, at a precision that covers the digits the cancellation costs."""
    import mpmath

    shape = square.shape
    init = np.broadcast_to(init, shape)
    suspect = (np.broadcast_to(steps, shape) > 0) & (
        init * init > _CANCELLATION * np.maximum(square, 0.0)
    )
    if not suspect.any():
        return square
    square = np.array(square, dtype=np.float64)  # a writable copy, 0-d included
    columns = [np.broadcast_to(a, shape) for a in setting]
    steps = np.broadcast_to(steps, shape)
    for index in np.ndindex(shape):
        if suspect[index]:
            values = [mpmath.mpf(float(a[index])) for a in columns]
            start = mpmath.mpf(float(init[index]))
            square[index] = float(_precise_square(values, start, float(steps[index])))
    return square


def _precise_square(values: list, start: Any, count: float) -> Any:
    """:func:`_finite_mpmath` at a precision that covers the digits its cancellation costs:
    ``log10(init^2 / E[theta_t^2])`` of them, with 20 to spare (doubled until they suffice)."""
    import mpmath

    dps = max(30, mpmath.mp.dps + 10)
    while True:
        with mpmath.workdps(dps):
            value = _finite_mpmath(values, start, count)
            if value > 0 and start * start / value < mpmath.mpf(10) ** (dps - 20):
                return +value
            if start == 0 and value == 0:
                return value
        if dps >= 4000:  # cancelled below 1e-3980 of init^2: zero to any float
            return mpmath.mpf(0)
        dps *= 2


def _finite_mpmath(setting: tuple, init: Any, steps: Any) -> Any:
    """As :func:`_finite_numpy`, one element in mpmath (the same ``T^n - I`` squaring)."""
    import mpmath

    if steps == 0:
        return init**2
    change = mpmath.zeros(6, 6)
    for i, row in enumerate(_change("mpmath")):
        for j, entry in enumerate(row):
            change[i, j] = entry(*setting)
    state = mpmath.matrix([f(*setting, init) for f in _first("mpmath")] + [1])
    remaining = int(steps) - 1
    while remaining:
        if remaining & 1:
            state = state + change * state
        remaining >>= 1
        if remaining:
            change = 2 * change + change * change
    return state[0]


def _equilibrium_kernel(variant: str, backend: str):
    return getattr(kernels, f"sgd_equilibrium_{variant}_{backend}")


def _rescaled(lr, decay, mean, std, init):
    """The inputs in units where nothing squared overflows: ``(lr', decay', mean', std',
    init', E)`` with ``E[theta_t^2] = 4**E E[phi_t^2]``.

    With ``theta = lr psi``, ``psi`` follows the same recursion with ``lr = 1``, the decay
    ``lr * weight_decay`` (it enters only through that product, coupled or not), the same
    gradients and ``psi_0 = theta_0 / lr``; the recursion is linear and homogeneous in
    (gradient, start), so dividing both by ``2**E / lr`` gives ``phi = theta / 2**E``: ``lr' =
    1``, ``decay' = lr * weight_decay``, ``mean' = lr * mean / 2**E`` (``std'`` alike),
    ``init' = init / 2**E``. ``2**E`` is a power of two near the largest of ``lr * grad_std``,
    ``lr * |mean|`` and ``init_rms``, built from the exponents (no product that could overflow
    is formed), so the rescaling is exact and ``grad_std = 1e300`` or ``lr = 1e200`` give the
    float the RMS is. At ``lr = 0`` the weights never move (coupled decay acts through the
    step): ``lr' = decay' = 0``.
    """
    lr_m, lr_e = np.frexp(lr)
    mean_m, mean_e = np.frexp(mean)
    std_m, std_e = np.frexp(std)
    init_m, init_e = np.frexp(init)
    absent = np.iinfo(np.int32).min // 2  # the exponent of a zero: never the largest
    moving = lr > 0
    exponent = np.maximum(
        np.where(moving, lr_e + np.maximum(np.where(mean != 0, mean_e, absent), std_e), absent),
        np.where(init > 0, init_e, absent),
    )
    exponent = np.where(exponent == absent, 0, exponent)
    with np.errstate(over="ignore"):  # lr * weight_decay: coupled decay has no upper bound
        decay_scaled = np.where(moving, lr * decay, 0.0)
    return (
        moving.astype(np.float64),
        decay_scaled,
        np.where(moving, np.ldexp(lr_m * mean_m, lr_e + mean_e - exponent), 0.0),
        np.where(moving, np.ldexp(lr_m * std_m, lr_e + std_e - exponent), 0.0),
        np.ldexp(init_m, init_e - exponent),
        exponent,
    )


def _equilibrium_numpy(variant, lr, decay, momentum, dampening, mean, std, stable):
    """The equilibrium RMS where ``stable``: its mean and noise parts, each in its own units.

    The printed fixed point is ``A mean^2 + B std^2`` with ``A ~ 1/q^2`` and ``B ~ 1/q``
    (``q = lr * weight_decay``), so one common scale cannot keep both parts in range at a small
    ``q`` (``weight_decay = 1e-200``: ``mean^2 / q^2`` overflows, or ``mean'^2`` underflows).
    Each part is evaluated alone at ``lr' = 1`` (as :func:`_rescaled`) with its gradient
    scaled to about ``sqrt(q)``, so the kernel's intermediates stay near 1 and its result near
    ``1/q`` (finite for a normal ``q``; the caller refuses a subnormal one); the RMS is their
    ``hypot``.
    """
    kernel = _equilibrium_kernel(variant, "numpy")
    with np.errstate(over="ignore"):
        q = np.where(stable, lr * decay, 1.0)  # 1: a placeholder where unused
    lr_m, lr_e = np.frexp(np.where(stable, lr, 1.0))
    half = np.frexp(q)[1] // 2
    parts = []
    for is_mean, value in ((True, mean), (False, std)):
        mantissa, exponent = np.frexp(np.where(stable, value, 0.0))
        scale = lr_e + exponent - half  # lr * value = 2**scale * (lr_m * mantissa * 2**half)
        scaled = np.ldexp(lr_m * mantissa, half)
        zero = np.zeros_like(scaled)
        square = kernel(
            np.ones_like(q),
            q,
            momentum,
            dampening,
            *((scaled, zero) if is_mean else (zero, scaled)),
        )
        with np.errstate(over="ignore"):  # an RMS past float64's range is inf
            parts.append(np.ldexp(np.sqrt(np.maximum(square, 0.0)), scale))
    return np.hypot(*parts)


def _check_stable(lr, decay, momentum, dampening, decoupled, nesterov, forever) -> None:
    """Raise ValueError where an equilibrium is asked for but the recursion is unstable.

    Decoupled, the recursion's matrix is triangular with eigenvalues ``1 - lr * weight_decay``
    and ``momentum``: always stable for valid inputs. Coupled, its characteristic polynomial is
    ``z^2 - tr z + det`` (Jury: stable iff ``|det| < 1``, ``1 - tr + det > 0`` and ``1 + tr +
    det > 0``); ``1 - tr + det`` is ``lr * weight_decay * (1 - dampening)`` (``lr *
    weight_decay`` with Nesterov), positive here, so the condition that can fail is ``1 + tr +
    det > 0``: ``lr * weight_decay * (1 - dampening) < 2 (1 + momentum)``, with Nesterov
    ``lr * weight_decay * (1 + 2 momentum) < 2 (1 + momentum)``.
    """
    if decoupled:
        return
    with np.errstate(over="ignore"):  # an infinite q is unstable, and refused as such
        q = lr * decay
    if nesterov:
        bad = forever & (q * (1 + 2 * momentum) >= 2 * (1 + momentum))
        condition = "lr * weight_decay * (1 + 2 * momentum) < 2 * (1 + momentum)"
    else:
        bad = forever & (q * (1 - dampening) >= 2 * (1 + momentum))
        condition = "lr * weight_decay * (1 - dampening) < 2 * (1 + momentum)"
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0]) if bad.ndim else ()
        where = f" at index {index}" if index else ""
        raise ValueError(
            "no equilibrium (steps=inf): coupled weight decay makes the weight-buffer recursion "
            f"unstable (spectral radius >= 1) unless {condition}; got lr * weight_decay = "
            f"{float(np.broadcast_to(q, bad.shape)[index]):g}{where}"
        )
    # Full dampening with coupled decay: after the first step no gradient (and no decay)
    # reaches the buffer, so the weight keeps what the start gave it: no equilibrium.
    frozen = forever & (dampening == 1) & (momentum > 0)
    if frozen.any():
        raise ValueError(
            "no equilibrium (steps=inf): coupled decay with dampening = 1 feeds nothing into "
            "the buffer after the first step, so the weight never forgets its start; use "
            "finite steps or dampening < 1"
        )


def sgd_weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    momentum: Any = 0.0,
    dampening: Any = 0.0,
    nesterov: bool = False,
    decoupled: bool = False,
    steps: Any = np.inf,
    snr: Any = 0.0,
    grad_std: Any = 1.0,
    init_rms: Any = 0.0,
    formula: str = "exact",
    backend: str = "numpy",
) -> Any:
    r"""The weight RMS of SGD with momentum after ``steps`` steps: exact, transient included.

    The rule is PyTorch's ``torch.optim.SGD`` (same names and defaults): with the gradient
    used :math:`g'_t = g_t + \lambda\theta_{t-1}` (coupled, PyTorch's ``weight_decay``), the
    buffer :math:`b_1 = g'_1`, :math:`b_t = \beta b_{t-1} + (1-\tau) g'_t`, the step
    :math:`\theta_t = \theta_{t-1} - \eta d_t` with :math:`d_t = b_t`, or :math:`d_t = g'_t +
    \beta b_t` with Nesterov; ``momentum = 0`` keeps no buffer (:math:`d_t = g'_t`, dampening
    ignored, as in PyTorch). ``decoupled=True`` is SGDW: :math:`\theta \leftarrow
    \theta(1-\eta\lambda)` first, then the same step with :math:`g'_t = g_t` (the decay per
    step is ``lr * weight_decay``, as in ``torch.optim.AdamW``). Gradients are iid
    :math:`\mathcal{N}(\mu, \sigma^2)` per coordinate with :math:`\sigma` = ``grad_std`` and
    :math:`\mu = \sqrt{\mathrm{snr}}\,\sigma` (the sign of :math:`\mu` does not matter: the
    RMS is even in it); :math:`\theta_0` has mean 0 and RMS ``init_rms``.

    Everything is linear and Gaussian, so ``formula="exact"`` is exact (derivation ``sgd``,
    no mean field): the moment recursions iterated ``steps`` times, in closed form by matrix
    powers. At ``steps = inf`` (steps ``sgd.equilibrium_*``), without dampening and Nesterov:

    .. math::

        \text{coupled:}\quad \Vert\theta\Vert^2 = \frac{\mu^2}{\lambda^2}
        + \frac{\eta\sigma^2(1+\beta)}{\lambda(1-\beta)(2 + 2\beta - \eta\lambda)},\qquad
        \text{decoupled:}\quad \Vert\theta\Vert^2 = \frac{\mu^2}{\lambda^2(1-\beta)^2}
        + \frac{\eta\sigma^2(1 + \beta - \beta\eta\lambda)}
        {\lambda(1-\beta^2)(2-\eta\lambda)(1 - \beta + \beta\eta\lambda)}

    (with dampening :math:`\tau`, the coupled noise term has :math:`(1-\tau)` in the numerator
    and :math:`\eta\lambda(1-\tau)` in place of :math:`\eta\lambda`; the decoupled one gains
    :math:`(1-\tau)^2`, its mean :math:`-\mu(1-\tau)/(\lambda(1-\beta))`). The coupled mean is
    :math:`-\mu/\lambda`. To first order in :math:`\eta\lambda/(1-\beta)` the noise parts are
    :math:`\eta\sigma^2(1-\tau)/(2\lambda(1-\beta))` (coupled) and
    :math:`\eta\sigma^2(1-\tau)^2/(2\lambda(1-\beta)^2)` (decoupled: the decay bypasses the
    momentum).

    Gradient scale: unlike Adam's, this weight RMS is proportional to ``grad_std`` (at fixed
    ``snr``): SGD's step is the gradient itself, not a normalised direction. What is
    scale-free is the ratio of the gradient to the weight: at ``snr = 0`` and equilibrium,
    :math:`\sigma^2/\Vert\theta\Vert^2 = 2\lambda(1-\beta)/(\eta(1-\tau))\,(1 + O(\eta\lambda))`
    (coupled). This is Defazio's :math:`\Vert g\Vert/\Vert\theta\Vert = \sqrt{2\lambda/\eta}`
    only without momentum and dampening and to first order in ``lr * weight_decay`` (exactly,
    at :math:`\beta = \tau = 0`: :math:`\lambda(2 - \eta\lambda)/\eta`); with momentum the
    learning rate in it is the effective :math:`\eta/(1-\beta)`, and with decoupled decay it
    is :math:`2\lambda(1-\beta)^2/\eta` at :math:`\tau = 0`. A gradient mean adds
    :math:`\mu^2/\lambda^2`, which breaks the relation.

    ``formula="req"``: the prediction of REQ (Kosson et al., "Rotational Equilibrium", ICML
    2024, arXiv:2305.17212) in this model, :math:`\Vert\theta\Vert = \eta\,\mathrm{RMS}(b)/
    \eta_r` with their angular update :math:`\eta_r = \sqrt{2\eta\lambda/(1+\beta)}` and
    :math:`\mathrm{RMS}(b)^2 = \sigma^2/(1-\beta^2)`, i.e. :math:`\eta\sigma^2/(2\lambda(1-
    \beta))`: the coupled small-decay limit (step ``sgd.req_is_small_decay``). It is defined
    for what REQ models only: ``steps = inf``, ``snr = 0``, coupled decay, no dampening, no
    Nesterov; anything else raises ``ValueError``. Against the exact result its squared RMS is
    exactly :math:`1 - \eta\lambda/(2(1+\beta))` times the exact one, an RMS error of about
    :math:`-\eta\lambda/(4(1+\beta))`: -0.0013% at ``lr * weight_decay = 1e-4``,
    ``momentum = 0.9``; -0.25% at 1e-2 and ``momentum = 0``; -2.5% at 0.1 and ``momentum = 0``
    (tests pin these).

    Parameters
    ----------
    lr, weight_decay
        ``>= 0``. Decoupled: ``lr * weight_decay < 1``. Coupled at ``steps = inf``: the
        recursion must be stable, ``lr * weight_decay * (1 - dampening) < 2 (1 + momentum)``
        (Nesterov: ``lr * weight_decay * (1 + 2 momentum) < 2 (1 + momentum)``), else
        ``ValueError``. ``weight_decay = 0`` at ``steps = inf`` gives ``inf`` (a random walk;
        ``init_rms`` if ``lr = 0``). ``lr * weight_decay`` must be finite, and at
        ``steps = inf`` 0 or a normal float64 (``>= 2.2e-308``; the equilibrium divides by
        it). Extreme scales are exact (``grad_std = 1e300``, ``lr = 1e200``): the numpy path
        works in units of a power of two near the result.
    momentum
        ``[0, 1)``.
    dampening
        ``[0, 1]``; ignored when ``momentum = 0`` (PyTorch keeps no buffer then).
    nesterov
        ``True`` or ``False``; ``True`` needs ``momentum > 0`` and ``dampening = 0``.
    decoupled
        ``False``: PyTorch's coupled (L2) ``weight_decay``; ``True``: decoupled (SGDW).
    steps
        A whole number ``>= 0`` or ``inf`` (the equilibrium).
    snr
        :math:`\mu^2/\sigma^2` of every coordinate, ``>= 0``.
    grad_std
        :math:`\sigma > 0`, the gradient noise's standard deviation (the RMS scales with it).
    init_rms
        RMS of the initial weights, ``>= 0``.
    formula
        ``"exact"`` or ``"req"``.
    backend
        ``"numpy"`` (float64, broadcasting) or ``"mpmath"`` (elementwise, current precision).

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators import sgd_weight_rms
    >>> round(sgd_weight_rms(0.1, 1e-3, momentum=0.9), 4)  # ~ sqrt(lr / (2 wd (1 - momentum)))
    22.361
    >>> round(sgd_weight_rms(0.1, 1e-3, momentum=0.9, formula="req"), 4)
    22.3607
    >>> round(sgd_weight_rms(0.1, 1e-3, momentum=0.9, decoupled=True), 3)  # 1/(1-beta) more
    70.679
    >>> round(sgd_weight_rms(0.1, 1e-3, momentum=0.9, steps=1000), 4)
    20.7787
    """
    _check_backend(backend)
    if formula not in FORMULAS:
        raise ValueError(f"formula must be one of {FORMULAS}; got {formula!r}")
    nesterov_b = _flag("nesterov", nesterov)
    decoupled_b = _flag("decoupled", decoupled)
    lr_a = check_range("lr", lr, 0.0)
    decay_a = check_range("weight_decay", weight_decay, 0.0)
    momentum_a = check_range("momentum", momentum, 0.0, 1.0, high_open=True)
    dampening_a = check_range("dampening", dampening, 0.0, 1.0)
    steps_a = check_range("steps", steps, 0.0, allow_inf=True, whole=True)
    snr_a = check_range("snr", snr, 0.0)
    std_a = check_range("grad_std", grad_std, 0.0, low_open=True)
    init_a = check_range("init_rms", init_rms, 0.0)
    with np.errstate(over="ignore"):  # coupled decay has no upper bound, but float64 has
        q = lr_a * decay_a
    if not np.all(np.isfinite(q)):
        raise ValueError("lr * weight_decay must be finite; got an overflow")
    if decoupled_b and q.max(initial=0.0) >= 1.0:
        raise_where(q >= 1.0, "lr * weight_decay (decoupled)", q, "[0, 1)")
    if nesterov_b:
        # PyTorch: "Nesterov momentum requires a momentum and zero dampening".
        raise_where(momentum_a <= 0, "momentum (nesterov=True)", momentum_a, "(0, 1)")
        raise_where(dampening_a != 0, "dampening (nesterov=True)", dampening_a, "[0, 0]")
    with np.errstate(over="ignore"):
        mean_a = np.sqrt(snr_a) * std_a
    if not np.all(np.isfinite(mean_a)):
        raise ValueError("sqrt(snr) * grad_std must be finite; got an overflow")
    if formula == "req":
        return _req(
            lr_a,
            decay_a,
            momentum_a,
            dampening_a,
            nesterov_b,
            decoupled_b,
            steps_a,
            snr_a,
            std_a,
            backend,
            (lr, weight_decay, momentum, grad_std),
        )
    # Without momentum PyTorch keeps no buffer and ignores dampening: the tau = 0 case.
    dampening_a = np.where(momentum_a > 0, dampening_a, 0.0)
    forever = np.isinf(steps_a) & (q > 0)
    # The equilibrium divides by q: a q that underflowed (to a subnormal, or to 0 from two
    # positive factors: 1e-200 * 1e-200) would overflow or read as no decay at all.
    tiny = np.finfo(np.float64).tiny
    lost = np.isinf(steps_a) & (lr_a > 0) & (decay_a > 0) & (q < tiny)
    if lost.any():
        index = tuple(int(k) for k in np.argwhere(lost)[0]) if lost.ndim else ()
        where = f" at index {index}" if index else ""
        raise ValueError(
            f"lr * weight_decay must be 0 or at least {tiny:.4g} (a normal float64) at "
            f"steps=inf, where the equilibrium divides by it; got "
            f"{float(np.broadcast_to(q, lost.shape)[index]):g}{where}"
        )
    _check_stable(
        lr_a,
        decay_a,
        momentum_a,
        dampening_a,
        decoupled_b,
        nesterov_b,
        np.broadcast_to(
            forever, np.broadcast_shapes(forever.shape, momentum_a.shape, dampening_a.shape)
        ),
    )
    variant = _variant(decoupled_b, nesterov_b)
    coupled_f, nesterov_f = float(not decoupled_b), float(nesterov_b)
    inputs = (lr, weight_decay, momentum, dampening, steps, snr, grad_std, init_rms)
    if backend == "mpmath":
        import mpmath

        def one(lr_v, decay_v, momentum_v, dampening_v, steps_v, mean_v, std_v, init_v):
            if mpmath.isinf(steps_v):
                if lr_v * decay_v == 0:
                    return mpmath.inf if lr_v > 0 else init_v
                equilibrium = _equilibrium_kernel(variant, "mpmath")
                return mpmath.sqrt(
                    equilibrium(lr_v, decay_v, momentum_v, dampening_v, mean_v, std_v)
                )
            setting = (
                lr_v,
                decay_v,
                momentum_v,
                dampening_v,
                mpmath.mpf(coupled_f),
                mpmath.mpf(nesterov_f),
                mean_v,
                std_v,
            )
            return mpmath.sqrt(max(_precise_square(list(setting), init_v, steps_v), 0))

        return _elementwise_mpmath(
            one, lr_a, decay_a, momentum_a, dampening_a, steps_a, mean_a, std_a, init_a
        )
    arrays = (lr_a, decay_a, momentum_a, dampening_a, steps_a, mean_a, std_a, init_a)
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    lr_b, decay_b, momentum_b, dampening_b, steps_b, mean_b, std_b, init_b = (
        np.broadcast_to(a, shape) for a in arrays
    )
    infinite = np.isinf(steps_b)
    finite_steps = np.where(infinite, 0.0, steps_b)
    # Unit lr and the gradient and init in units of 2**exponent: exact, and no overflow of a
    # square (grad_std = 1e300; lr = 1e200 with weight_decay = 1e-200) where the RMS is finite.
    lr_s, decay_s, mean_s, std_s, init_s, exponent = _rescaled(lr_b, decay_b, mean_b, std_b, init_b)
    setting = (lr_s, decay_s, momentum_b, dampening_b, coupled_f, nesterov_f, mean_s, std_s)
    square = _finite_numpy(setting, init_s, finite_steps)
    square = _redo_cancelled(setting, init_s, finite_steps, square)
    # E[theta^2] >= 0; rounding can leave -1e-300 where it is exactly 0 (lr = 0, init = 0).
    with np.errstate(over="ignore"):  # an RMS past float64's range is inf
        result = np.ldexp(np.sqrt(np.maximum(square, 0.0)), exponent)
    if infinite.any():
        stable = infinite & (decay_s > 0)
        equilibrium = _equilibrium_numpy(
            variant, lr_b, decay_b, momentum_b, dampening_b, mean_b, std_b, stable
        )
        walk = np.where(lr_b > 0, np.inf, init_b)  # no decay: unbounded, or the start
        result = np.where(infinite, np.where(stable, equilibrium, walk), result)
    return _output(result, *inputs)


def _req(lr, decay, momentum, dampening, nesterov, decoupled, steps, snr, std, backend, inputs):
    """REQ's prediction; only where REQ's model applies (see :func:`sgd_weight_rms`)."""
    problems = []
    if not np.all(np.isinf(steps)):
        problems.append("steps must be inf (REQ predicts the equilibrium)")
    if np.any(snr != 0):
        problems.append("snr must be 0 (REQ's random walk has zero-mean gradients)")
    if np.any(dampening != 0):
        problems.append("dampening must be 0")
    if nesterov:
        problems.append("nesterov must be False")
    if decoupled:
        problems.append("decoupled must be False (REQ's SGDM formula is for coupled decay)")
    if np.any(lr * decay == 0):
        problems.append("lr * weight_decay must be > 0")
    if problems:
        raise ValueError("formula='req' applies to REQ's SGDM model only: " + "; ".join(problems))
    if backend == "mpmath":
        import mpmath

        def one(lr_v, decay_v, momentum_v, std_v):
            return mpmath.sqrt(kernels.sgd_req_mpmath(lr_v, decay_v, momentum_v, std_v))

        return _elementwise_mpmath(one, lr, decay, momentum, std)
    return _output(np.sqrt(kernels.sgd_req_numpy(lr, decay, momentum, std)), *inputs)

"""The constant-hyperparameter AdamW estimators (re-exported by :mod:`adamw_rms.estimators`).

See the package docstring for the argument conventions, the weight-decay convention and the
accuracy notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _generated as kernels
from ._common import (
    _beta1,
    _check_backend,
    _corrected_inputs,
    _corrected_snr,
    _decay_terms_mpmath,
    _decay_terms_numpy,
    _elementwise_mpmath,
    _hyper,
    _output,
    _trajectory_inputs,
)
from ._validate import check_range

__all__ = [
    "equilibrium_weight_rms",
    "lambdify_result",
    "timescale",
    "update_rms",
    "weight_rms",
    "weight_rms_large_snr",
    "weight_rms_quick",
]


def weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    beta1: Any = 0.9,
    steps: Any = np.inf,
    snr: Any = 0.0,
    init_rms: Any = 0.0,
    formula: str = "mean_field",
    beta2: Any = 0.999,
    bias_correction: bool = True,
    eps: Any = 1e-8,
    grad_std: Any = 1.0,
    backend: str = "numpy",
) -> Any:
    r"""The weight RMS of AdamW after ``steps`` steps: eq:theta-rms, or ``formula="corrected"``.

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 \approx \beta_3^{2t}\Vert\theta_0\Vert_{\mathrm{RMS}}^2
        + (1-\beta_3^t)^2\,\frac{\mathrm{SNR} + \frac{(1-\beta_3)(1+\beta_3^t)}{2(1-\beta_3^t)}}
        {\lambda^2(\mathrm{SNR}+1)}, \qquad \beta_3 = 1 - \eta\lambda .

    ==============  ================================  =====================================
    argument        symbol                            allowed
    ==============  ================================  =====================================
    lr              :math:`\eta`                      ``>= 0``, with ``lr*weight_decay < 1``
    weight_decay    :math:`\lambda`                   ``>= 0`` (0: the exact no-decay limit)
    beta1           :math:`\beta_1`                   ``[0, 1)``; the result does not depend
                                                      on it (it drops out of the derivation)
    steps           :math:`t`                         whole, ``>= 0``, or ``inf`` (equilibrium)
    snr             :math:`\Vert\mu\Vert^2/\Vert\sigma\Vert^2`  ``>= 0``
    init_rms        :math:`\Vert\theta_0\Vert_{\mathrm{RMS}}`  ``>= 0``
    ==============  ================================  =====================================

    Source step: ``weight_rms.theta_rms``; its special cases ``theta_rms_mu0`` (``snr=0``),
    ``theta_rms_simple`` (``steps=inf``), ``theta_rms_no_decay`` (``weight_decay=0``) and
    ``theta_rms_large_snr`` follow from the arguments. Decay convention:
    ``theta <- theta - lr * (u + weight_decay * theta)``. Evaluated as
    :math:`x^2\rho_0 + \eta^2 r (2 + 2\,\mathrm{SNR}\, r - \eta\lambda r)/(2(\mathrm{SNR}+1))`
    with :math:`x = e^{t\,\mathrm{log1p}(-\eta\lambda)}` and
    :math:`r = -\mathrm{expm1}(t\,\mathrm{log1p}(-\eta\lambda))/(\eta\lambda)`, which is exact
    algebra on the derived formula and free of cancellation.

    Accuracy (measured on the grid of ``docs/accuracy.md``, SE <= 0.2% per point): with bias
    correction, within -2.6% ... +2.9% of simulated AdamW at every grid point
    (``beta1`` 0 to 0.95, ``beta2`` 0.95 to 0.999, SNR 0 to 10, ``t * lr * weight_decay``
    0.3 to 10); at steady state it runs high at ``beta2 = 0.95`` (up to +2.7%: the mean field
    ignores the correlation of ``m**2`` and ``v``) and is within about 1.5% for
    ``beta2 >= 0.99``. Without bias correction it is as good at steady state for
    ``beta2 <= 0.99``, but early in the run, while ``v`` is still building up, the real
    weights grow larger than predicted: down to -34% at ``beta2 = 0.99`` and -76% at
    ``beta2 = 0.999`` (``t * lr * weight_decay < 3``). ``eps`` comparable to the gradient
    noise makes it high (+11% at ``eps = 0.1 sigma``).

    ``formula="corrected"`` (derivation ``corrected``) goes beyond the mean field: the update
    to second order in the fluctuation of :math:`\hat v`, with ``beta2``, Adam's bias
    correction (on: PyTorch's default) and ``eps`` (PyTorch's order, added to
    :math:`\sqrt{\hat v}`; only ``eps / grad_std`` matters, ``grad_std`` being the gradient
    noise :math:`\sigma`), summed exactly over the run in O(steps)
    (:mod:`adamw_rms.estimators.corrected`); ``steps=inf`` is its stationary closed form.
    Measured: within 0.5% + 2 SE of simulated AdamW at every grid point from 0.3 timescales,
    bias correction on or off (``docs/accuracy.md``). The default stays the source's formula;
    ``beta2``, ``bias_correction``, ``eps`` and ``grad_std`` are used by the corrected one only.

    Parameters
    ----------
    formula
        ``"mean_field"`` (the source's eq:theta-rms), ``"corrected"``, or ``"req"``: the
        equilibrium norm of Kosson et al.'s rotational-equilibrium analysis (REQ, ICML 2024),
        :math:`\sqrt{\eta/2\lambda}` per element -- for AdamW the source's equilibrium at
        zero-mean gradients, so it needs ``steps=inf`` and ``snr=0`` (for comparison with the
        other optimizers' ``formula="req"``).
    beta2, bias_correction, eps, grad_std
        Adam's ``beta2`` in ``[0, 1)``, bias correction, ``eps >= 0`` and the gradient noise
        ``grad_std > 0`` (``formula="corrected"`` only).
    backend
        ``"numpy"`` (float64, broadcasting) or ``"mpmath"`` (the current ``mpmath.mp``
        precision, elementwise; with ``formula="corrected"`` and finite ``steps`` it runs the
        recursion step by step up to ``min(steps, settling_steps)``, about a millisecond per
        step: some 80 s at ``beta2 = 0.999``).

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape.

    Examples
    --------
    >>> from adamw_rms.estimators import weight_rms
    >>> round(weight_rms(1e-3, 0.1), 6)  # sqrt(lr / (2 weight_decay))
    0.070711
    >>> round(weight_rms(1e-3, 0.0, steps=10_000, init_rms=0.1), 6)  # sqrt(0.01 + lr^2 t)
    0.141421
    >>> round(weight_rms(1e-2, 0.1, beta1=0.9, formula="corrected", beta2=0.95), 4)
    0.2202
    """
    _check_backend(backend)
    _beta1(beta1)
    lr_a, decay_a, q, steps_a, snr_a, init_a = _trajectory_inputs(
        lr, weight_decay, steps, snr, init_rms
    )
    if formula not in (*FORMULAS, "req"):
        raise ValueError(f"formula must be one of {(*FORMULAS, 'req')}; got {formula!r}")
    if formula == "req":
        # REQ's AdamW equilibrium, ||theta|| = sqrt(lr C / (2 wd)), is the source's equilibrium
        # at zero-mean gradients; it says nothing before equilibrium or about a mean.
        if not (np.all(np.isposinf(steps_a)) and not np.any(snr_a)):
            raise ValueError(
                "formula='req' is an equilibrium, zero-mean formula: it needs steps=inf and "
                f"snr=0; got steps={steps!r}, snr={snr!r}"
            )
        return weight_rms(lr, weight_decay, beta1=beta1, backend=backend)
    if _check_formula(formula) == "corrected":
        extra = _corrected_inputs(beta2, bias_correction, eps, grad_std)
        snr_a = _corrected_snr(snr)
        result = _corrected_weight_rms(
            lr_a, decay_a, steps_a, snr_a, init_a, _beta1(beta1), *extra, backend=backend
        )
        return _output(result, lr, weight_decay, steps, snr, init_rms, beta1, beta2, eps, grad_std)
    if backend == "mpmath":
        import mpmath

        def one(lr_v, decay_v, steps_v, snr_v, init_v):
            if lr_v == 0:  # nothing learned: exactly the decayed initialisation (q = 0: none)
                return init_v
            power, total = _decay_terms_mpmath(lr_v * decay_v, steps_v)
            if mpmath.isinf(total):  # no weight decay, infinitely many steps: unbounded
                return mpmath.inf
            return mpmath.sqrt(
                kernels.weight_rms_sq_mpmath(lr_v, decay_v, power, total, snr_v, init_v)
            )

        return _elementwise_mpmath(one, lr_a, decay_a, steps_a, snr_a, init_a)
    decay_power, decay_sum = _decay_terms_numpy(q, steps_a)
    if lr_a.min(initial=np.inf) == 0:
        # lr = 0: nothing is learned, whatever the steps (no 0 * inf = NaN in the noise term).
        decay_sum = np.where(lr_a == 0, 0.0, decay_sum)
    unbounded = np.isinf(decay_sum) if decay_sum.max(initial=0.0) == np.inf else None
    if unbounded is not None:
        # No weight decay and infinitely many steps: the RMS grows without bound.
        decay_sum = np.where(unbounded, 0.0, decay_sum)
    noise = kernels.weight_rms_noise_sq_numpy(lr_a, q, decay_sum, snr_a)
    init_part = kernels.weight_rms_init_factor_numpy(decay_power) * init_a
    result = np.square(init_part, out=init_part if isinstance(init_part, np.ndarray) else None)
    result += noise
    result = np.sqrt(result, out=result if isinstance(result, np.ndarray) else None)
    if noise.min(initial=np.inf) == 0:
        # Nothing learned yet (steps = 0 or lr = 0): exactly the decayed initialisation, even
        # where init_rms**2 would underflow.
        exact = kernels.weight_rms_init_factor_numpy(decay_power) * init_a
        result = np.where(noise == 0, exact, result)
    if unbounded is not None:
        result = np.where(unbounded & (lr_a > 0), np.inf, result)
    return _output(result, lr, weight_decay, steps, snr, init_rms)


def weight_rms_large_snr(
    lr: Any,
    weight_decay: Any,
    *,
    steps: Any = np.inf,
    snr: Any = 1.0,
    init_rms: Any = 0.0,
    backend: str = "numpy",
) -> Any:
    r"""The weight RMS when the gradient's mean dominates its noise (large SNR).

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 \approx \beta_3^{2t}\Vert\theta_0\Vert_{\mathrm{RMS}}^2
        + \frac{(1-\beta_3^t)^2\,\mathrm{SNR}}{\lambda^2(\mathrm{SNR}+1)},
        \qquad \beta_3 = 1 - \eta\lambda .

    Arguments as in :func:`weight_rms` (``snr >= 0``; ``weight_decay = 0`` gives the exact
    limit :math:`\theta_0^2 + \eta^2 t^2\,\mathrm{SNR}/(\mathrm{SNR}+1)`). Source step
    ``weight_rms.theta_rms_large_snr``: eq:theta-rms without the noise term
    :math:`(1-\beta_3)(1+\beta_3^t)/(2(1-\beta_3^t))`, which is :math:`O(\eta\lambda)` at
    steady state. Decay convention ``theta <- theta - lr * (u + weight_decay * theta)``.

    Accuracy (measured with bias correction, ``docs/accuracy.md``): within -0.2% ... +0.14% at
    SNR = 10, -0.3% ... +1.1% at SNR = 1 and -1.3% ... +2.6% at SNR = 0.1; it is the
    SNR-dominated part of :func:`weight_rms` and falls below it by the dropped noise term.

    Examples
    --------
    >>> from adamw_rms.estimators import weight_rms_large_snr
    >>> round(weight_rms_large_snr(1e-3, 0.1, snr=10.0), 4)  # sqrt(10/11) / 0.1
    9.5346
    """
    _check_backend(backend)
    lr_a, decay_a, q, steps_a, snr_a, init_a = _trajectory_inputs(
        lr, weight_decay, steps, snr, init_rms
    )
    if backend == "mpmath":
        import mpmath

        def one(lr_v, decay_v, steps_v, snr_v, init_v):
            if lr_v == 0:  # nothing learned: exactly the initialisation (q = 0: no decay)
                return init_v
            power, total = _decay_terms_mpmath(lr_v * decay_v, steps_v)
            if mpmath.isinf(total):  # no weight decay, infinitely many steps
                return mpmath.inf if snr_v > 0 else init_v
            return mpmath.sqrt(
                kernels.weight_rms_large_snr_sq_mpmath(lr_v, decay_v, power, total, snr_v, init_v)
            )

        return _elementwise_mpmath(one, lr_a, decay_a, steps_a, snr_a, init_a)
    decay_power, decay_sum = _decay_terms_numpy(q, steps_a)
    if lr_a.min(initial=np.inf) == 0:
        # lr = 0: nothing is learned, whatever the steps (no 0 * inf = NaN in the noise term).
        decay_sum = np.where(lr_a == 0, 0.0, decay_sum)
    unbounded = np.isinf(decay_sum) & (lr_a * snr_a > 0)
    finite_sum = np.where(np.isinf(decay_sum), 0.0, decay_sum)
    # The kernel is decay_power**2 init_rms**2 + (lr decay_sum)**2 snr/(snr + 1): evaluated at
    # lr = decay_sum = 1, init_rms = 0 and scaled, then combined as a hypot of the two roots, so
    # neither a tiny decayed initialisation nor a tiny noise term underflows when squared.
    unit = kernels.weight_rms_large_snr_sq_numpy(1.0, decay_a, decay_power, 1.0, snr_a, 0.0)
    result = np.hypot(decay_power * init_a, lr_a * finite_sum * np.sqrt(unit))
    result = np.where(unbounded, np.inf, result)
    return _output(np.asarray(result, dtype=np.float64), lr, weight_decay, steps, snr, init_rms)


def weight_rms_quick(
    lr: Any, weight_decay: Any, *, beta1: Any = 0.9, backend: str = "numpy"
) -> Any:
    r"""The source's quick estimate :math:`\sqrt{\frac{1-\beta_1}{1+\beta_1}\frac{\eta}{2\lambda}}`.

    ============  ===============  ==========================================
    argument      symbol           allowed
    ============  ===============  ==========================================
    lr            :math:`\eta`     ``>= 0``, with ``lr * weight_decay < 1``
    weight_decay  :math:`\lambda`  ``> 0``
    beta1         :math:`\beta_1`  ``[0, 1)``
    ============  ===============  ==========================================

    Source step ``weight_rms.quick_estimate``; decay convention
    ``theta <- theta - lr * (u + weight_decay * theta)``.

    Accuracy: it assumes the weights and the update are orthogonal, which momentum breaks,
    so it sits a factor :math:`\sqrt{(1-\beta_1)/(1+\beta_1)}` below
    :func:`equilibrium_weight_rms` (the mean-field result has no :math:`\beta_1`); the source
    itself calls it inexact. Measured at steady state (``t * lr * weight_decay = 10``): low by
    40.9-42.5% at ``beta1 = 0.5``, 76.7-77.1% at ``beta1 = 0.9`` and 83.7-84.0% at
    ``beta1 = 0.95``, i.e. exactly that factor. Kept for comparison, not for prediction.

    Examples
    --------
    >>> from adamw_rms.estimators import weight_rms_quick
    >>> round(weight_rms_quick(1e-3, 0.1, beta1=0.9), 6)
    0.016222
    """
    _check_backend(backend)
    lr_a, decay_a, _ = _hyper(lr, weight_decay)
    check_range("weight_decay", weight_decay, 0.0, low_open=True)
    beta1_a = _beta1(beta1)
    if backend == "mpmath":
        return _elementwise_mpmath(kernels.weight_rms_quick_mpmath, lr_a, decay_a, beta1_a)
    result = kernels.weight_rms_quick_numpy(lr_a, decay_a, beta1_a)
    return _output(np.asarray(result, dtype=np.float64), lr, weight_decay, beta1)


def equilibrium_weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    formula: str = "mean_field",
    beta1: Any = 0.9,
    beta2: Any = 0.999,
    eps: Any = 1e-8,
    grad_std: Any = 1.0,
    backend: str = "numpy",
) -> Any:
    r"""The equilibrium weight RMS :math:`\sqrt{\eta/(2\lambda)}` (eq:theta-rms-simple).

    ============  ===============  ==========================================
    argument      symbol           allowed
    ============  ===============  ==========================================
    lr            :math:`\eta`     ``>= 0``, with ``lr * weight_decay < 1``
    weight_decay  :math:`\lambda`  ``> 0``
    ============  ===============  ==========================================

    Source step ``weight_rms.theta_rms_simple``: :func:`weight_rms` with ``snr=0`` and
    ``steps=inf``. Decay convention ``theta <- theta - lr * (u + weight_decay * theta)``.
    ``formula="corrected"`` is :func:`weight_rms` with ``formula="corrected"``, ``snr=0``,
    ``steps=inf`` (step ``corrected.weight_rms_sq``), which uses ``beta1``, ``beta2``,
    ``eps`` and ``grad_std``; the mean-field value ignores them.

    Accuracy (measured, zero-mean gradients, ``docs/accuracy.md``): within -0.3% ... +2.6%
    once ``t * lr * weight_decay >= 10`` and -6.6% ... +2.5% at 3; earlier the weights still
    remember their initialisation and it does not apply (use :func:`weight_rms`).

    Examples
    --------
    >>> from adamw_rms.estimators import equilibrium_weight_rms
    >>> round(equilibrium_weight_rms(1e-3, 0.1), 6)
    0.070711
    >>> round(equilibrium_weight_rms(1e-3, 0.1, formula="corrected", beta2=0.95), 6)
    0.069902
    """
    _check_backend(backend)
    lr_a, decay_a, _ = _hyper(lr, weight_decay)
    check_range("weight_decay", weight_decay, 0.0, low_open=True)
    if _check_formula(formula) == "corrected":
        return weight_rms(
            lr, weight_decay, beta1=beta1, formula="corrected", beta2=beta2, eps=eps,
            grad_std=grad_std, backend=backend,
        )  # fmt: skip
    if backend == "mpmath":
        return _elementwise_mpmath(kernels.equilibrium_weight_rms_mpmath, lr_a, decay_a)
    result = kernels.equilibrium_weight_rms_numpy(lr_a, decay_a)
    return _output(np.asarray(result, dtype=np.float64), lr, weight_decay)


def update_rms(
    beta1: Any,
    *,
    snr: Any = 0.0,
    formula: str = "mean_field",
    beta2: Any = 0.999,
    bias_correction: bool = True,
    eps: Any = 1e-8,
    grad_std: Any = 1.0,
    backend: str = "numpy",
) -> Any:
    r"""The mean-field RMS of Adam's update.

    .. math:: \Vert u\Vert_{\mathrm{RMS}} \approx
        \sqrt{\frac{\mathrm{SNR} + \frac{1-\beta_1}{1+\beta_1}}{\mathrm{SNR}+1}}

    ========  ================================================  ==========
    argument  symbol                                            allowed
    ========  ================================================  ==========
    beta1     :math:`\beta_1`                                   ``[0, 1)``
    snr       :math:`\Vert\mu\Vert^2/\Vert\sigma\Vert^2`       ``>= 0``
    ========  ================================================  ==========

    Source step ``update_rms.update_rms_sq``; at ``snr=0`` it is
    :math:`\sqrt{(1-\beta_1)/(1+\beta_1)}` (``update_rms.update_rms_mu0``). Independent of
    ``beta2`` and of the weight decay (no decay convention enters).

    Accuracy (measured over the second half of 10⁵ steps, ``docs/accuracy.md``): always a
    little high -- by up to 2.8% at ``beta2 = 0.95``, 0.9% at ``beta2 = 0.99`` and 0.11% at
    ``beta2 = 0.999`` -- because :math:`E[m^2/v] < E[m^2]/E[v]` (the mean-field step ignores
    the correlation of :math:`m^2` and :math:`v`). ``eps`` comparable to the gradient noise
    makes it higher (+10% at ``eps = 0.1 sigma``).

    ``formula="corrected"`` (step ``corrected.update_rms_sq``): the stationary update RMS to
    second order in the fluctuation of :math:`\hat v`, with ``beta2`` and ``eps``
    (``eps / grad_std`` matters; bias correction is 1 at stationarity, so
    ``bias_correction`` is accepted for symmetry and does not change it). Against an exact
    quadrature its mean square is off by at most :math:`2.3(1-\beta_2)^2` (the RMS by 0.3%
    at ``beta2 = 0.95``, 0.01% at 0.99); measured against simulation, -0.31% ... +0.01% over
    the grid (``docs/accuracy.md``).

    Examples
    --------
    >>> from adamw_rms.estimators import update_rms
    >>> round(update_rms(0.9), 4)
    0.2294
    >>> round(update_rms(0.9, formula="corrected", beta2=0.95), 4)
    0.2258
    """
    _check_backend(backend)
    beta1_a = _beta1(beta1)
    snr_a = check_range("snr", snr, 0.0)
    if _check_formula(formula) == "corrected":
        beta2_a, _, eps_ratio = _corrected_inputs(beta2, bias_correction, eps, grad_std)
        snr_a = _corrected_snr(snr)
        if backend == "mpmath":
            import mpmath

            def one(b1, b2, s, e):
                return mpmath.sqrt(kernels.corrected_update_rms_sq_mpmath(b1, b2, s, e))

            return _elementwise_mpmath(one, beta1_a, beta2_a, snr_a, eps_ratio)
        result = np.sqrt(kernels.corrected_update_rms_sq_numpy(beta1_a, beta2_a, snr_a, eps_ratio))
        return _output(np.asarray(result, dtype=np.float64), beta1, snr, beta2, eps, grad_std)
    if backend == "mpmath":
        return _elementwise_mpmath(kernels.update_rms_mpmath, beta1_a, snr_a)
    result = kernels.update_rms_numpy(beta1_a, snr_a)
    return _output(np.asarray(result, dtype=np.float64), beta1, snr)


def timescale(lr: Any, weight_decay: Any, *, backend: str = "numpy") -> Any:
    r"""The weight-decay timescale :math:`1/(1-\beta_3) = 1/(\eta\lambda)` in steps.

    ============  ===============  ==========================================
    argument      symbol           allowed
    ============  ===============  ==========================================
    lr            :math:`\eta`     ``> 0``, with ``lr * weight_decay < 1``
    weight_decay  :math:`\lambda`  ``> 0``
    ============  ===============  ==========================================

    From step ``weight_rms.beta3_def``: the weights forget their initialisation like
    :math:`\beta_3^t \approx e^{-t\eta\lambda}`. Convention
    ``theta <- theta - lr * (u + weight_decay * theta)``. Exact (a definition, no
    approximation).

    Examples
    --------
    >>> from adamw_rms.estimators import timescale
    >>> timescale(1e-3, 0.1)
    10000.0
    """
    _check_backend(backend)
    lr_a, decay_a, _ = _hyper(lr, weight_decay)
    check_range("lr", lr, 0.0, low_open=True)
    check_range("weight_decay", weight_decay, 0.0, low_open=True)
    if backend == "mpmath":
        return _elementwise_mpmath(kernels.timescale_mpmath, lr_a, decay_a)
    result = kernels.timescale_numpy(lr_a, decay_a)
    return _output(np.asarray(result, dtype=np.float64), lr, weight_decay)


def lambdify_result(name: str, modules: Any = "numpy") -> Callable:
    """The derived expression ``name`` as a function for any array library, via SymPy.

    ``name`` is a kernel name (``"weight_rms_sq"``, ``"weight_rms_quick"``,
    ``"equilibrium_weight_rms"``, ``"equilibrium_weight_decay"``, ``"update_rms"``,
    ``"timescale"``); ``modules`` is passed to
    :func:`sympy.lambdify` (``"jax"``, ``"torch"``, ``"cupy"``, ...). Imports SymPy and builds
    the derivations at call time. The arguments are those of the kernel, see
    :data:`adamw_rms.codegen.KERNEL_ARGUMENTS`.

    Examples
    --------
    >>> from adamw_rms.estimators import lambdify_result
    >>> f = lambdify_result("equilibrium_weight_rms")
    >>> round(float(f(1e-3, 0.1)), 6)
    0.070711
    """
    import sympy as sp

    from ..codegen import kernels as build_kernels

    found = {k.name: k for k in build_kernels()}
    if name not in found:
        raise ValueError(f"unknown result {name!r}; known: {', '.join(sorted(found))}")
    kernel = found[name]
    return sp.lambdify(kernel.arguments, kernel.in_arguments(), modules=modules)


FORMULAS = ("mean_field", "corrected")


def _check_formula(formula: str) -> str:
    if formula not in FORMULAS:
        raise ValueError(f"formula must be one of {FORMULAS}; got {formula!r}")
    return formula


def _corrected_weight_rms(
    lr_a, decay_a, steps_a, snr_a, init_a, beta1_a, beta2_a, bias, eps_ratio, *, backend: str
):
    """weight_rms(formula="corrected"): the stationary closed form on whole arrays, finite
    steps element by element (each an O(steps) run, shared between equal elements)."""
    arrays = np.broadcast_arrays(lr_a, decay_a, steps_a, snr_a, init_a, beta1_a, beta2_a, eps_ratio)
    if backend == "numpy":
        lr_b, decay_b, steps_b, snr_b, _, beta1_b, beta2_b, ratio_b = arrays
        q = lr_b * decay_b
        stationary = np.isinf(steps_b) & (q > 0)
        out = np.empty(lr_b.shape)
        if stationary.any():
            out[stationary] = np.sqrt(
                kernels.corrected_weight_rms_sq_numpy(
                    lr_b[stationary],
                    q[stationary],
                    beta1_b[stationary],
                    beta2_b[stationary],
                    snr_b[stationary],
                    ratio_b[stationary],
                )
            )
        rest = ~stationary
    else:
        out = np.empty(arrays[0].shape, dtype=object)
        rest = np.ones(out.shape, dtype=bool)
    cache: dict = {}
    for index in np.ndindex(out.shape):
        if not rest[index]:
            continue
        key = tuple(float(a[index]) for a in arrays)
        if key not in cache:
            cache[key] = _corrected_one(*key, bias=bias, backend=backend)
        out[index] = cache[key]
    return out if out.shape else out[()]


def _corrected_one(lr, decay, steps, snr, init, beta1, beta2, eps_ratio, *, bias, backend):
    from .corrected import constant_weight_rms_sq, constant_weight_rms_sq_mpmath

    q = lr * decay
    if lr == 0 or steps == 0:  # nothing learned: the (decayed) initialisation
        if backend == "mpmath":
            import mpmath

            keep = 1 - mpmath.mpf(lr) * mpmath.mpf(decay)
            return mpmath.mpf(init) * (keep ** mpmath.mpf(steps) if q > 0 else 1)
        return init * (1.0 - q) ** steps if q > 0 else init
    if steps == np.inf:  # NumPy evaluates the stationary kernel on whole arrays beforehand
        if backend == "numpy":
            return np.inf  # no weight decay, infinitely many steps: unbounded
        import mpmath

        if q == 0:
            return mpmath.inf
        value = kernels.corrected_weight_rms_sq_mpmath(
            *(mpmath.mpf(v) for v in (lr, q, beta1, beta2, snr, eps_ratio))
        )
        return mpmath.sqrt(value)
    arguments = dict(
        beta1=beta1, beta2=beta2, snr=snr, eps_ratio=eps_ratio, bias=bias, init_rms=init
    )
    if backend == "mpmath":
        import mpmath

        return mpmath.sqrt(constant_weight_rms_sq_mpmath(lr, decay, steps, **arguments))
    return math.sqrt(constant_weight_rms_sq(lr, decay, steps, **arguments))

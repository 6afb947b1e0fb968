"""Shared private helpers of the estimators: validation glue, backends, output shaping, decay terms.

Used by :mod:`.adamw`, :mod:`.sign_sgdm` and :mod:`.solve`; nothing here is public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._validate import check_range, raise_where

_BACKENDS = ("numpy", "mpmath")


def _check_backend(backend: str) -> None:
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {_BACKENDS}; got {backend!r}")


def _hyper(lr: Any, weight_decay: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``lr``, ``weight_decay`` and their product ``lr * weight_decay``."""
    lr_array = check_range("lr", lr, 0.0)
    decay_array = check_range("weight_decay", weight_decay, 0.0)
    product = lr_array * decay_array
    # beta3 = 1 - lr * weight_decay must stay positive for the derivation to hold.
    if product.max(initial=0.0) >= 1.0:
        raise_where(product >= 1.0, "lr * weight_decay", product, "[0, 1)")
    return lr_array, decay_array, product


def _trajectory_inputs(
    lr: Any, weight_decay: Any, steps: Any, snr: Any, init_rms: Any
) -> tuple[np.ndarray, ...]:
    """Validated ``lr, weight_decay, lr*weight_decay, steps, snr, init_rms`` arrays."""
    lr_array, decay_array, product = _hyper(lr, weight_decay)
    return (
        lr_array,
        decay_array,
        product,
        check_range("steps", steps, 0.0, allow_inf=True, whole=True),
        check_range("snr", snr, 0.0),
        check_range("init_rms", init_rms, 0.0),
    )


def _beta1(beta1: Any) -> np.ndarray:
    return check_range("beta1", beta1, 0.0, 1.0, high_open=True)


def _output(result: np.ndarray, *inputs: Any) -> Any:
    if all(np.ndim(a) == 0 for a in inputs):
        return float(result)
    return result


def _elementwise_mpmath(function: Callable, *arrays: np.ndarray) -> Any:
    import mpmath

    broadcast = np.broadcast_arrays(*arrays)
    if broadcast[0].ndim == 0:
        return function(*(mpmath.mpf(float(a)) for a in broadcast))
    out = np.empty(broadcast[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = function(*(mpmath.mpf(float(a[index])) for a in broadcast))
    return out


def _decay_terms_numpy(q: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x = (1-q)**t`` and ``r1 = (1 - x)/q`` without cancellation, warnings or NaN.

    ``q = 0`` (no weight decay) gives the exact limits ``x = 1, r1 = t``; ``t = inf`` gives
    ``x = 0, r1 = 1/q`` (and ``r1 = inf`` when also ``q = 0``).
    """
    if q.min(initial=np.inf) > 0 and steps.max(initial=0.0) < np.inf:
        # The common case: no masks and no copies.
        exponent = np.negative(q)
        in_place = exponent if isinstance(exponent, np.ndarray) else None
        exponent = np.log1p(exponent, out=in_place)
        exponent = np.multiply(exponent, steps, out=in_place if np.shape(steps) == () else None)
        in_place = exponent if isinstance(exponent, np.ndarray) else None
        decay_power = np.exp(exponent)
        decay_sum = np.negative(np.expm1(exponent, out=in_place), out=in_place)
        decay_sum /= q
        return decay_power, decay_sum
    finite = np.isfinite(steps)
    exponent = np.where(finite, steps, 0.0) * np.log1p(-q)
    decay_power = np.where(finite, np.exp(exponent), np.where(q > 0, 0.0, 1.0))
    numerator = np.where(finite, -np.expm1(exponent), 1.0)
    positive = q > 0
    limit = np.where(finite, steps, np.inf)
    shape = np.broadcast_shapes(numerator.shape, q.shape)
    decay_sum = np.divide(numerator, q, out=np.broadcast_to(limit, shape).copy(), where=positive)
    return decay_power, decay_sum


def _decay_terms_mpmath(q: Any, steps: Any) -> tuple[Any, Any]:
    import mpmath

    if mpmath.isinf(steps):
        return (mpmath.mpf(0), 1 / q) if q > 0 else (mpmath.mpf(1), mpmath.inf)
    if q == 0:
        return mpmath.mpf(1), steps
    exponent = steps * mpmath.log1p(-q)
    return mpmath.exp(exponent), -mpmath.expm1(exponent) / q


#: Below this beta2 the corrected formula is outside the range it was verified on: its dropped
#: order (1 - beta2)^2 grows (-0.9% in the update RMS at beta2 = 0.9 and beta1 = 0, -8% at 0.5),
#: and at beta2 = 0 with momentum E[m^2/v] is infinite while the expansion stays finite.
CORRECTED_MIN_BETA2 = 0.9
#: The corrected kernels square SNR (and more): larger values overflow float64.
CORRECTED_MAX_SNR = 1e150


def _corrected_inputs(
    beta2: Any, bias_correction: bool, eps: Any, grad_std: Any
) -> tuple[np.ndarray, bool, np.ndarray]:
    """Validated ``beta2``, ``bias_correction`` and ``eps / grad_std``; warns below
    :data:`CORRECTED_MIN_BETA2` (:class:`~adamw_rms.AccuracyWarning`)."""
    import warnings

    from ..accuracy_warning import AccuracyWarning

    if not isinstance(bias_correction, bool | np.bool_):
        raise TypeError(f"bias_correction must be True or False; got {bias_correction!r}")
    beta2_a = check_range("beta2", beta2, 0.0, 1.0, high_open=True)
    eps_a = check_range("eps", eps, 0.0)
    std_a = check_range("grad_std", grad_std, 0.0, low_open=True)
    with np.errstate(over="ignore"):
        ratio = eps_a / std_a
    if not np.all(np.isfinite(ratio)):
        raise ValueError("eps / grad_std must be finite; got an overflow (eps huge, grad_std tiny)")
    if beta2_a.min(initial=1.0) < CORRECTED_MIN_BETA2:
        warnings.warn(
            AccuracyWarning(
                f"formula='corrected' with beta2 < {CORRECTED_MIN_BETA2}: the expansion drops "
                "O((1 - beta2)^2) and is verified for beta2 >= 0.9 only (about -8% in the update "
                "RMS at beta2 = 0.5)"
            ),
            stacklevel=3,
        )
    return beta2_a, bool(bias_correction), ratio


def _corrected_snr(snr: Any) -> np.ndarray:
    return check_range("snr", snr, 0.0, CORRECTED_MAX_SNR)

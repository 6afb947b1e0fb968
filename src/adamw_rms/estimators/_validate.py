"""Vectorised input validation: one clear ValueError naming the parameter, value, index, range."""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "check_range", "raise_where"]


def as_float_array(name: str, value: object) -> np.ndarray:
    """``value`` as a float64 array, or a ValueError naming ``name``."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        message = f"{name} must be a real number or an array of them; got {value!r}"
        raise ValueError(message) from error
    return array


def _describe(low: float, high: float, low_open: bool, high_open: bool) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open or high == np.inf else "]"
    high_text = "inf" if high == np.inf else f"{high:g}"
    return f"{left}{low:g}, {high_text}{right}"


def check_range(
    name: str,
    value: object,
    low: float,
    high: float = np.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """Validate ``value`` elementwise against an interval; return it as a float64 array.

    NaN is always rejected; ``+inf`` only where ``allow_inf``. Comparisons with NaN raise no
    NumPy warning, so this is safe under ``-W error``.
    """
    array = as_float_array(name, value)
    if array.size:
        # Fast path: two reductions and no temporaries; NaN propagates and fails the test.
        smallest, largest = array.min(), array.max()
        low_ok = smallest > low if low_open else smallest >= low
        high_ok = largest < high if high_open else largest <= high
        if low_ok and high_ok and (largest < np.inf or allow_inf):
            return array
    finite_or_allowed = np.isfinite(array) | (allow_inf & np.isposinf(array))
    above = array > low if low_open else array >= low
    below = array < high if high_open else array <= high
    allowed = _describe(low, high, low_open, high_open) + (" or inf" if allow_inf else "")
    raise_where(~(finite_or_allowed & above & below), name, array, allowed)
    return array


def raise_where(bad: np.ndarray, name: str, values: np.ndarray, allowed: str) -> None:
    """Raise ``ValueError`` for the first ``True`` of ``bad``, naming value and index."""
    if not bad.any():
        return
    if values.ndim == 0:
        raise ValueError(f"{name} must be in {allowed}; got {float(values)!r}")
    index = tuple(int(k) for k in np.argwhere(bad)[0])
    raise ValueError(f"{name} must be in {allowed}; got {float(values[index])!r} at index {index}")

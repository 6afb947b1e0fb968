"""Raise the number of coordinates until every point is precise enough (every study uses it).

The standard error of a mean over ``n`` iid coordinates falls as ``1/sqrt(n)``: from a run at
``n`` whose worst relative SE is ``w``, about ``n * (w / target)**2`` coordinates reach
``target``. :func:`until_precise` asks for 5% more (the SE is itself estimated), rounded up to
a multiple of 512 (the kernels' coordinate blocks), and repeats until the target is met.

The counter-based random numbers are keyed by coordinate index, so the coordinates
``[0, n)`` of a larger run are exactly those of the smaller one: raising ``n`` only needs the
new coordinates ``[n, n')``, combined with what was measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "BLOCK",
    "MARGIN",
    "Recorded",
    "next_n",
    "precise_sweep",
    "trajectory",
    "until_precise",
    "variants_of",
    "worst_rel_se",
]

R = TypeVar("R")

#: ``n`` is raised to a multiple of this.
BLOCK = 512
#: Asked for beyond the predicted ``n`` (the SE that predicts it is an estimate).
MARGIN = 1.05


def next_n(n: int, worst: float, target_rel_se: float) -> int:
    """The ``n`` predicted to bring a worst relative SE of ``worst`` at ``n`` to the target."""
    return int(math.ceil(n * (worst / target_rel_se) ** 2 * MARGIN / BLOCK) * BLOCK)


def until_precise(
    measure: Callable[[int, int], R],
    *,
    n_start: int,
    target_rel_se: float,
    worst: Callable[[R], float],
    combine: Callable[[R, R], R],
) -> tuple[R, int]:
    """Measure coordinates ``[0, n)``, raising ``n`` until ``worst(result) <= target_rel_se``.

    Parameters
    ----------
    measure
        ``measure(first, last)`` measures the coordinates ``[first, last)`` and returns a
        partial result.
    n_start
        The first ``n`` (at least 2).
    target_rel_se
        The largest relative standard error accepted, in ``(0, inf)``.
    worst
        The worst relative standard error of a (combined) result.
    combine
        ``combine(result over [0, n), result over [n, n'))`` is the result over ``[0, n')``.

    Returns
    -------
    tuple
        The result over ``[0, n)`` and ``n``.

    Examples
    --------
    >>> from adamw_rms.accuracy.precision import until_precise
    >>> def measure(first, last):  # a sum of 1 per coordinate; its "SE" falls as 1/sqrt(n)
    ...     return last - first
    >>> until_precise(
    ...     measure, n_start=1024, target_rel_se=0.01, worst=lambda n: 1 / n**0.5,
    ...     combine=lambda a, b: a + b,
    ... )
    (10752, 10752)
    """
    if isinstance(n_start, bool) or not isinstance(n_start, int) or n_start < 2:
        raise ValueError(f"n_start must be an integer in [2, inf); got {n_start!r}")
    if not (math.isfinite(target_rel_se) and target_rel_se > 0):
        raise ValueError(f"target_rel_se must be in (0, inf); got {target_rel_se!r}")
    n = n_start
    result = measure(0, n)
    while True:
        current = float(worst(result))
        if not math.isfinite(current):
            raise ValueError(f"the worst relative standard error at n = {n} is {current}")
        if current <= target_rel_se:
            return result, n
        larger = next_n(n, current, target_rel_se)
        result = combine(result, measure(n, larger))
        n = larger


# ---- a sweep measured to precision ----------------------------------------------------------


def _estimates(result: Any, estimator: str) -> tuple[np.ndarray, np.ndarray]:
    if estimator == "plain":
        return result.weight_rms, result.weight_rms_se
    return result.precise_weight_rms, result.precise_weight_rms_se


def worst_rel_se(result: Any, estimator: str = "controlled") -> float:
    """The largest relative SE of a sweep: its weight RMS by ``estimator`` (``"controlled"``
    or ``"plain"``; every recorded point) and its update RMS (every family)."""
    rms, se = _estimates(result, estimator)
    read = np.isfinite(rms)  # NaN: a step the variant does not record
    # A recorded RMS of 0 (a controlled estimate clipped at 0) is not a precise one: inf.
    rms, se = rms[read], se[read]
    worst = float(np.max(np.divide(se, rms, out=np.full(rms.shape, np.inf), where=rms > 0)))
    for rms, se in result.update_rms.values():
        worst = max(worst, se / rms)
    return worst


def precise_sweep(
    variants: Sequence[Any],
    *,
    n_start: int,
    target_rel_se: float,
    estimator: str = "controlled",
    **options: Any,
) -> Any:
    """:func:`~adamw_rms.simulation.sweep.sweep` of ``variants`` over as many coordinates as
    :func:`until_precise` needs for the weight RMS by ``estimator`` and the update RMS.

    ``options`` go to the sweep (``beta1``, ``steps``, ``record_steps``, ``seed``, ...).
    """
    from ..simulation.sweep import sweep

    if estimator == "controlled" and n_start < BLOCK:
        # The controlled SE fits a slope per point: with a handful of coordinates it is itself
        # too noisy to stop on (at n = 3 the spread over seeds is 3x the reported SE).
        raise ValueError(f"n_start must be at least {BLOCK} for the controlled estimator")

    def measure(first: int, last: int) -> Any:
        return sweep(variants, coordinates=(first, last), **options)

    result, _ = until_precise(
        measure,
        n_start=n_start,
        target_rel_se=target_rel_se,
        worst=lambda result: worst_rel_se(result, estimator),
        combine=lambda earlier, later: earlier.combine(later),
    )
    return result


@dataclass(frozen=True)
class Recorded:
    """What a study's ``rows()`` reads of one trajectory (or of several, stacked): the
    recorded steps and the weight RMS with its SE, plus the update RMS by bias correction
    where a family's is wanted."""

    steps: np.ndarray
    weight_rms: np.ndarray
    weight_rms_se: np.ndarray
    update_rms: dict[bool, tuple[float, float]] = field(default_factory=dict)


def trajectory(result: Any, k: int, estimator: str = "controlled") -> Recorded:
    """Variant ``k`` of a sweep at the steps it records (estimates by ``estimator``)."""
    wanted = result.recorded(k)
    rms, se = _estimates(result, estimator)
    return Recorded(result.steps[wanted], rms[k, wanted], se[k, wanted])


def variants_of(
    result: Any, ks: Sequence[int], eps: float = 0.0, estimator: str = "controlled"
) -> Recorded:
    """Variants ``ks`` of a sweep, stacked (NaN where one does not record a step), with the
    update RMS of the families of ``eps`` keyed by bias correction."""
    ks = list(ks)
    rms, se = _estimates(result, estimator)
    return Recorded(
        result.steps,
        rms[ks],
        se[ks],
        {bias: value for (bias, e), value in result.update_rms.items() if e == eps},
    )

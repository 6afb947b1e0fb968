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
from collections.abc import Callable
from typing import TypeVar

__all__ = ["BLOCK", "MARGIN", "from_scratch", "next_n", "until_precise"]

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


# ---- adapter for measurements that cannot start at a coordinate offset ----------------------
# The simulation entry points used today (sweep(), simulate()) always run coordinates [0, n).
# from_scratch turns such a run into a measure for until_precise that reruns [0, last) and
# keeps only the newer result: the same numbers, at the cost of the repeated coordinates. It
# goes away once every study measures [first, last) directly.


def from_scratch(
    run: Callable[[int], R],
) -> tuple[Callable[[int, int], R], Callable[[R, R], R]]:
    """``(measure, combine)`` for :func:`until_precise` from ``run(n)`` over ``[0, n)``."""

    def measure(first: int, last: int) -> R:
        return run(last)

    def combine(earlier: R, later: R) -> R:
        return later

    return measure, combine

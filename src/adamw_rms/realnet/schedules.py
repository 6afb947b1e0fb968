r"""Learning-rate multipliers for ``torch.optim.lr_scheduler.LambdaLR``: constant, cosine, WSD.

``LambdaLR(optimizer, schedule)`` sets each group's rate to ``base_lr * schedule(k)`` where
``k`` counts the ``scheduler.step()`` calls so far: optimizer step ``k + 1`` (1-based) runs at
``base_lr * schedule(k)``, for ``k = 0 .. steps - 1``. Every shape starts with the same linear
warmup, ``(k + 1) / warmup`` for ``k < warmup``, so the first step is not taken at the peak rate
with Adam's second moment still empty. After the warmup:

* ``"constant"``: 1;
* ``"cosine"``: ``floor + (1 - floor) (1 + cos(pi p)) / 2`` with the progress
  ``p = (k - warmup) / (steps - warmup)`` in ``[0, 1)``, so the last step runs just above
  ``floor``;
* ``"wsd"`` (warmup-stable-decay): 1 until the last ``decay`` steps, then a linear decay
  ``(steps - k) / decay``, whose last step runs at ``1 / decay`` of the peak; the next step
  would be 0.

A :class:`Schedule` is a small frozen dataclass, not a closure, so that it pickles into the
worker processes of the study.

Examples
--------
>>> from adamw_rms.realnet.schedules import make_schedule
>>> wsd = make_schedule("wsd", steps=100, warmup=5)
>>> [round(wsd(k), 2) for k in (0, 4, 50, 80, 99)]
[0.2, 1.0, 1.0, 1.0, 0.05]
>>> wsd.multipliers()[-3:].round(3).tolist()
[0.15, 0.1, 0.05]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SCHEDULE_KINDS", "Schedule", "make_schedule"]

#: The shapes the benchmark trains with.
SCHEDULE_KINDS = ("constant", "cosine", "wsd")


@dataclass(frozen=True)
class Schedule:
    """The multiplier of the base learning rate before each optimizer step.

    Parameters
    ----------
    kind
        One of :data:`SCHEDULE_KINDS`.
    steps
        Optimizer steps in the run, ``>= 2``.
    warmup
        Linear-warmup steps, in ``[0, steps)``.
    floor
        Cosine only: the multiplier the cosine decays to, in ``[0, 1]``.
    decay
        WSD only: the steps of the final linear decay, in ``[1, steps - warmup]``.
    """

    kind: str
    steps: int
    warmup: int
    floor: float = 0.0
    decay: int = 1

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULE_KINDS:
            raise ValueError(f"kind must be one of {SCHEDULE_KINDS}; got {self.kind!r}")
        if not isinstance(self.steps, int) or self.steps < 2:
            raise ValueError(f"steps must be a whole number >= 2; got {self.steps!r}")
        if not isinstance(self.warmup, int) or not 0 <= self.warmup < self.steps:
            raise ValueError(f"warmup must be a whole number in [0, steps); got {self.warmup!r}")
        if not 0.0 <= self.floor <= 1.0:
            raise ValueError(f"floor must be in [0, 1]; got {self.floor!r}")
        if not isinstance(self.decay, int) or not 1 <= self.decay <= self.steps - self.warmup:
            raise ValueError(
                f"decay must be a whole number in [1, steps - warmup] = "
                f"[1, {self.steps - self.warmup}]; got {self.decay!r}"
            )

    def __call__(self, k: int) -> float:
        """The multiplier of optimizer step ``k + 1`` (``k`` = scheduler steps taken so far)."""
        if k < self.warmup:
            return (k + 1) / self.warmup
        if self.kind == "cosine":
            progress = (k - self.warmup) / (self.steps - self.warmup)
            return self.floor + (1.0 - self.floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
        if self.kind == "wsd" and k >= self.steps - self.decay:
            return (self.steps - k) / self.decay
        return 1.0

    def multipliers(self, start: int = 0) -> np.ndarray:
        """The multipliers of optimizer steps ``start + 1 .. steps``: ``[self(k) for k in
        range(start, steps)]``, so ``base_lr * multipliers(k)`` are the rates a ``LambdaLR``
        will set for the steps still to come after ``k`` steps."""
        if not isinstance(start, int) or not 0 <= start <= self.steps:
            raise ValueError(f"start must be a whole number in [0, steps]; got {start!r}")
        return np.array([self(k) for k in range(start, self.steps)], dtype=float)


def make_schedule(
    kind: str,
    steps: int,
    *,
    warmup: int | None = None,
    floor: float = 0.1,
    decay_fraction: float = 0.2,
) -> Schedule:
    """The benchmark's schedule of ``kind`` for a run of ``steps`` steps.

    Parameters
    ----------
    kind
        ``"constant"``, ``"cosine"`` or ``"wsd"``.
    steps
        Optimizer steps in the run, ``>= 2``.
    warmup
        Warmup steps; default 2% of the run (at least 1).
    floor
        Cosine: the final multiplier (default 0.1, a decay to a tenth of the peak).
    decay_fraction
        WSD: the fraction of the run spent in the final linear decay to 0, in ``(0, 1)``
        (default 0.2).
    """
    if not 0.0 < decay_fraction < 1.0:
        raise ValueError(f"decay_fraction must be in (0, 1); got {decay_fraction!r}")
    if warmup is None:
        warmup = max(1, round(0.02 * steps)) if isinstance(steps, int) and steps >= 2 else 0
    decay = 1
    if kind == "wsd" and isinstance(steps, int):
        decay = max(1, min(round(decay_fraction * steps), steps - warmup))
    return Schedule(kind, steps, warmup, floor=floor if kind == "cosine" else 0.0, decay=decay)

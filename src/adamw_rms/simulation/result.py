r"""What every engine returns, and the standard errors it carries.

Standard errors are taken over coordinates, which are independent samples in this model.

* Weight RMS at a recorded step: :math:`R = \sqrt{\overline{w^2}}` with, by the delta method,
  :math:`\mathrm{SE}(R) = \frac{\mathrm{sd}(w^2)}{2\sqrt{n}\,R}`, i.e. a relative error of
  :math:`\tfrac12\,\mathrm{sd}(w^2)/(\sqrt n\,\overline{w^2})`.
* Update RMS over a window of steps: each coordinate's mean of :math:`u_t^2` over the window
  is taken first, :math:`a_i = \frac1W\sum_t u_{i,t}^2`, and the delta method is applied to the
  :math:`a_i` across coordinates. Steps are *not* treated as independent samples (consecutive
  updates are strongly correlated through the momentum), coordinates are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import SimulationConfig

__all__ = ["SimulationResult", "rms_with_se"]


def rms_with_se(total: Any, total_sq: Any, count: int) -> tuple[np.ndarray, np.ndarray]:
    """RMS and its delta-method standard error from ``sum(x)`` and ``sum(x²)``, ``x = w²``.

    ``total`` and ``total_sq`` are sums over ``count`` independent coordinates of a squared
    quantity and of its square. Returns float64 arrays of their shape.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.simulation.result import rms_with_se
    >>> w = np.random.default_rng(0).normal(size=100_000)
    >>> rms, se = rms_with_se((w**2).sum(), (w**4).sum(), w.size)
    >>> round(float(rms), 2), round(float(se * np.sqrt(w.size)), 2)  # sd(w²)/2 = sqrt(2)/2
    (1.0, 0.71)
    """
    total = np.asarray(total, dtype=np.float64)
    total_sq = np.asarray(total_sq, dtype=np.float64)
    mean = total / count
    variance = np.maximum(total_sq - count * mean * mean, 0.0) / (count - 1)
    rms = np.sqrt(mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(rms > 0, np.sqrt(variance / count) / (2.0 * rms), 0.0)
    return rms, se


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The weight RMS at each recorded step and the update RMS, each with its standard error.

    Attributes
    ----------
    config
        The configuration that was run.
    engine
        ``"numpy"``, ``"numba"`` or ``"torch"`` (plus details such as the device in ``info``).
    steps
        The recorded steps (``config.record_steps``) as an int64 array.
    weight_rms, weight_rms_se
        The weight RMS over coordinates at each recorded step and its standard error.
    update_rms, update_rms_se
        The RMS of the update over the last ``config.update_window`` steps (time-averaged per
        coordinate first) and its standard error.
    elapsed_s
        Wall time of the run (compilation excluded where the engine can tell).
    info
        Engine details: random source, device, threads.
    """

    config: SimulationConfig
    engine: str
    steps: np.ndarray
    weight_rms: np.ndarray
    weight_rms_se: np.ndarray
    update_rms: float
    update_rms_se: float
    elapsed_s: float
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_sums(
        cls,
        config: SimulationConfig,
        engine: str,
        weight_sums: Any,
        update_sums: Any,
        elapsed_s: float,
        info: dict[str, Any],
    ) -> SimulationResult:
        """Build the result from sums over coordinates.

        ``weight_sums[r] = (sum w², sum w⁴)`` at each recorded step; ``update_sums = (sum a,
        sum a²)`` of each coordinate's window-mean ``a`` of ``u²``.
        """
        weight_sums = np.asarray(weight_sums, dtype=np.float64)
        finite = np.isfinite(weight_sums).all(axis=-1)
        if not (finite.all() and np.isfinite(update_sums).all()):
            # An overflow is reported, never returned as an RMS of inf or nan.
            where = (
                f"the sums of w² and w⁴ at step {config.record_steps[int(np.argmin(finite))]}"
                if not finite.all()
                else "the sums of the update's squares"
            )
            raise OverflowError(
                f"the {engine} engine's run overflowed ({where} are not finite; "
                f"update={config.update!r}, dtype={config.dtype}): lower lr or grad_std, or "
                "use float64"
            )
        weight_rms, weight_se = rms_with_se(weight_sums[:, 0], weight_sums[:, 1], config.n)
        update_rms, update_se = rms_with_se(update_sums[0], update_sums[1], config.n)
        return cls(
            config=config,
            engine=engine,
            steps=np.array(config.record_steps, dtype=np.int64),
            weight_rms=weight_rms,
            weight_rms_se=weight_se,
            update_rms=float(update_rms),
            update_rms_se=float(update_se),
            elapsed_s=elapsed_s,
            info=info,
        )

    @property
    def element_steps_per_s(self) -> float:
        """Coordinates times steps, per second of wall time."""
        work = float(self.config.n) * self.config.steps
        return work / self.elapsed_s if self.elapsed_s > 0 else math.inf

    @property
    def final_weight_rms(self) -> float:
        """The weight RMS at the last recorded step."""
        return float(self.weight_rms[-1])

    @property
    def final_weight_rms_se(self) -> float:
        """Its standard error."""
        return float(self.weight_rms_se[-1])

    def at(self, step: int) -> tuple[float, float]:
        """``(weight_rms, se)`` at a recorded ``step``; ValueError names the recorded ones."""
        matches = np.flatnonzero(self.steps == step)
        if not matches.size:
            shown = ", ".join(str(s) for s in self.steps[:8])
            more = ", ..." if self.steps.size > 8 else ""
            raise ValueError(f"step {step} was not recorded; record_steps = [{shown}{more}]")
        index = int(matches[0])
        return float(self.weight_rms[index]), float(self.weight_rms_se[index])

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: configuration, engine and the final step's numbers."""
        return {
            "config": self.config.to_dict(),
            "engine": self.engine,
            "info": {k: v for k, v in self.info.items() if not isinstance(v, np.ndarray)},
            "step": int(self.steps[-1]),
            "weight_rms": self.final_weight_rms,
            "weight_rms_se": self.final_weight_rms_se,
            "update_rms": self.update_rms,
            "update_rms_se": self.update_rms_se,
            "elapsed_s": self.elapsed_s,
            "element_steps_per_s": self.element_steps_per_s,
        }

    def __str__(self) -> str:
        return (
            f"weight RMS at step {int(self.steps[-1])}: {self.final_weight_rms:.6g} "
            f"± {self.final_weight_rms_se:.2g}\n"
            f"update RMS (last {self.config.update_window} steps): {self.update_rms:.6g} "
            f"± {self.update_rms_se:.2g}\n"
            f"engine {self.engine}, {self.elapsed_s:.3g} s, "
            f"{self.element_steps_per_s:.3g} element-steps/s"
        )

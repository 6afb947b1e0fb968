r"""Measure the two assumptions of the total-update-contribution (TUC) view in simulation.

The derivation :mod:`adamw_rms.derivations.tuc` replaces AdamW's update :math:`u_t` by the
total contribution of the gradient :math:`g_t` to all updates,

.. math::

    \tilde u_t = g_t\, a_t, \qquad
    a_t = \sum_{k \ge t} (1-\beta_1)\,\beta_1^{k-t}\, d_k, \qquad
    d_k = \frac{1/(1-\beta_1^k)}{\sqrt{v_k}/\sqrt{1-\beta_2^k} + \epsilon},

(:math:`d_k` is the engines' per-step factor, :math:`u_k = m_k d_k`; without bias correction
and with :math:`\epsilon = 0` it is :math:`1/\sqrt{v_k}`), and then assumes

* orthogonality, :math:`\theta_{t-1}\cdot\tilde u_t \approx 0` (the quick estimate assumed
  :math:`\theta_{t-1}\cdot u_t \approx 0` instead), and
* unit RMS, :math:`\Vert\tilde u_t\Vert_{\mathrm{RMS}} \approx 1`.

:func:`measure_tuc` runs the NumPy engine's own trajectory (same counter-based normals, same
coefficients, same order of operations, so the weights are those of
``simulate(config, engine="numpy", random_source="counter")``) and measures both.

Why a look-ahead, and how
-------------------------
:math:`a_t` needs the *future* second moments, so it is known only after the run has moved on.
Keeping every gradient until the end would cost O(n T) memory. Instead the sum is cut after
``K`` steps, with :math:`\beta_1^K \le` ``horizon_tolerance``: the neglected tail is
:math:`\sum_{k \ge t+K}(1-\beta_1)\beta_1^{k-t} d_k \le \beta_1^K \max_k d_k`, and since
:math:`a_t \ge (1-\beta_1^K)\min_k d_k`, its relative size is at most
:math:`\beta_1^K \max d / ((1-\beta_1^K)\min d)` (the extremes of :math:`d = 1/\sqrt{v}` over
the look-ahead; for :math:`\beta_2 = 0.95` their ratio is about 1.5 to 2.5).
The measured steps are taken in blocks of ``K``. A block's gradients :math:`g_t` and products
:math:`\theta_{t-1} g_t` wait in a ring buffer together with the factors :math:`d_k` of the
block and of its look-ahead, ``2K`` steps of them; once the run is ``K`` steps past the block,
Horner's rule backwards, :math:`a_t = (1-\beta_1) d_t + \beta_1 a_{t+1}`, gives every
:math:`a_t` of the block at once (each with at least ``K`` terms). That is O(n K) memory and two
multiply-adds per step and coordinate, where ``K`` pending accumulators updated on every step
would cost ``K``. The run is continued ``K`` steps past ``config.steps`` so that the last
measured steps have their look-ahead too (those extra steps only supply :math:`v_k`).

Estimates and standard errors
-----------------------------
All numbers are over the last ``config.update_window`` steps, the engines' update window.
Coordinates are independent samples; steps are not (the momentum and the weights correlate
them over many steps). So each coordinate's window means are taken first, e.g.
:math:`q_i = \overline{\tilde u_{i,t}^2}`, and the standard errors come from their spread
across coordinates (:func:`~adamw_rms.simulation.result.rms_with_se` for the RMS; the delta
method for the cosines, :func:`cosine_with_se`). The cosine of the weights and the
contribution is the time-averaged dot product over the time-averaged norms,

.. math::

    \cos(\theta, \tilde u) = \frac{\overline{\theta_{t-1}\cdot\tilde u_t}}
    {\sqrt{\overline{\Vert\theta_{t-1}\Vert^2}\;\overline{\Vert\tilde u_t\Vert^2}}},

and the same with :math:`u_t` for comparison.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .coefficients import inverse_bias_corrections, step_coefficients
from .config import SimulationConfig
from .random import coordinate_keys, normals
from .reference import Betas, adamw_step, moments_step, weight_step
from .result import rms_with_se

__all__ = ["MAX_BUFFER_BYTES", "TucMeasurement", "cosine_with_se", "lookahead_steps", "measure_tuc"]

#: The ring buffers (``3 * 2K * n`` float64 numbers) may not exceed this.
MAX_BUFFER_BYTES = 2 * 1024**3


def lookahead_steps(beta1: float, tolerance: float) -> int:
    """The smallest ``K >= 1`` with ``beta1**K <= tolerance``.

    Examples
    --------
    >>> from adamw_rms.simulation.tuc import lookahead_steps
    >>> lookahead_steps(0.9, 1e-8), lookahead_steps(0.9, 1e-12), lookahead_steps(0.0, 1e-8)
    (175, 263, 1)
    """
    if beta1 <= 0.0:
        return 1
    steps = max(1, math.ceil(math.log(tolerance) / math.log(beta1)))
    # Correct the float rounding of the logarithms either way.
    while beta1**steps > tolerance:
        steps += 1
    while steps > 1 and beta1 ** (steps - 1) <= tolerance:
        steps -= 1
    return steps


def cosine_with_se(
    dot: np.ndarray, first_sq: np.ndarray, second_sq: np.ndarray
) -> tuple[float, float]:
    r"""Cosine :math:`\bar D/\sqrt{\bar A \bar B}` from per-coordinate means, with its SE.

    ``dot``, ``first_sq`` and ``second_sq`` hold, per coordinate, the window means of
    :math:`x_t y_t`, :math:`x_t^2` and :math:`y_t^2`. The standard error is the delta method
    across the (independent) coordinates: with :math:`c` the cosine, each coordinate's
    influence is :math:`D_i/\sqrt{\bar A\bar B} - \tfrac c2 (A_i/\bar A + B_i/\bar B)`.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.simulation.tuc import cosine_with_se
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=100_000)
    >>> y = 0.6 * x + 0.8 * rng.normal(size=x.size)
    >>> cosine, se = cosine_with_se(x * y, x**2, y**2)
    >>> abs(cosine - 0.6) < 4 * se < 0.01
    True
    """
    count = dot.size
    mean_dot, mean_first, mean_second = dot.mean(), first_sq.mean(), second_sq.mean()
    scale = math.sqrt(mean_first * mean_second)
    cosine = mean_dot / scale
    influence = dot / scale - 0.5 * cosine * (first_sq / mean_first + second_sq / mean_second)
    return float(cosine), float(influence.std(ddof=1) / math.sqrt(count))


@dataclass(frozen=True, eq=False)
class TucMeasurement:
    """What :func:`measure_tuc` measured over the window, each number with its standard error.

    Attributes
    ----------
    config
        The configuration that was run.
    lookahead
        ``K``: every :math:`a_t` sums at least ``K`` future factors (:func:`lookahead_steps`).
    horizon_tolerance
        The bound on :math:`\\beta_1^K` it was chosen for.
    window
        The first and last measured step.
    tuc_rms, tuc_rms_se
        :math:`\\Vert\\tilde u\\Vert_{\\mathrm{RMS}}` (the assumption: 1).
    update_rms, update_rms_se
        :math:`\\Vert u\\Vert_{\\mathrm{RMS}}`, as the engines report it.
    cos_theta_tuc, cos_theta_tuc_se
        :math:`\\cos(\\theta_{t-1}, \\tilde u_t)` (the assumption: 0).
    cos_theta_update, cos_theta_update_se
        :math:`\\cos(\\theta_{t-1}, u_t)`, the quick estimate's assumption, for comparison.
    weight_rms, weight_rms_se
        The weight RMS at the last step, ``config.steps``.
    elapsed_s
        Wall time.
    """

    config: SimulationConfig
    lookahead: int
    horizon_tolerance: float
    window: tuple[int, int]
    tuc_rms: float
    tuc_rms_se: float
    update_rms: float
    update_rms_se: float
    cos_theta_tuc: float
    cos_theta_tuc_se: float
    cos_theta_update: float
    cos_theta_update_se: float
    weight_rms: float
    weight_rms_se: float
    elapsed_s: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: configuration and every measured number."""
        out = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("config", "window")
        }
        return {"config": self.config.to_dict(), "window": list(self.window), **out}

    def __str__(self) -> str:
        first, last = self.window
        rows = (
            ("RMS of the total update contribution", self.tuc_rms, self.tuc_rms_se),
            ("RMS of the update", self.update_rms, self.update_rms_se),
            ("cos(theta_{t-1}, u~_t)", self.cos_theta_tuc, self.cos_theta_tuc_se),
            ("cos(theta_{t-1}, u_t)", self.cos_theta_update, self.cos_theta_update_se),
            (f"weight RMS at step {last}", self.weight_rms, self.weight_rms_se),
        )
        lines = [f"{name}: {value:.6g} ± {se:.2g}" for name, value, se in rows]
        lines.append(
            f"steps {first}..{last}, look-ahead {self.lookahead} steps, "
            f"{self.config.n} coordinates, {self.elapsed_s:.3g} s"
        )
        return "\n".join(lines)


def _validate(config: SimulationConfig, horizon_tolerance: float) -> float:
    if not isinstance(config, SimulationConfig):
        raise TypeError(f"config must be a SimulationConfig; got {type(config).__name__}")
    if config.update != "adamw":
        raise ValueError(
            f"config.update must be 'adamw' (the contribution is defined through Adam's "
            f"second moment); got {config.update!r}"
        )
    if isinstance(horizon_tolerance, bool) or np.ndim(horizon_tolerance) != 0:
        raise ValueError(f"horizon_tolerance must be a real number; got {horizon_tolerance!r}")
    try:
        tolerance = float(horizon_tolerance)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"horizon_tolerance must be a real number; got {horizon_tolerance!r}"
        ) from error
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"horizon_tolerance must be in (0, 1); got {tolerance!r}")
    return tolerance


@dataclass
class _WindowSums:
    """Per-coordinate sums over the window, in float64."""

    tuc_sq: np.ndarray
    theta_tuc: np.ndarray
    theta_sq: np.ndarray
    update_sq: np.ndarray
    theta_update: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> _WindowSums:
        return cls(*(np.zeros(n) for _ in range(5)))


def measure_tuc(config: SimulationConfig, *, horizon_tolerance: float = 1e-8) -> TucMeasurement:
    r"""Simulate ``config`` (AdamW) and measure the RMS of :math:`\tilde u` and two cosines.

    Parameters
    ----------
    config
        An AdamW configuration (``update="adamw"``); constant or scheduled ``lr`` and
        ``weight_decay``, any bias correction, ``eps`` and ``dtype``. The window is the last
        ``config.update_window`` steps.
    horizon_tolerance
        In (0, 1): the look-ahead ``K`` is the smallest with :math:`\beta_1^K \le`
        ``horizon_tolerance``, which bounds the relative truncation of each :math:`a_t` by
        :math:`\beta_1^K \max d/((1-\beta_1^K)\min d)` (see the module docstring).

    Returns
    -------
    TucMeasurement
        The RMS of :math:`\tilde u` and of :math:`u`, :math:`\cos(\theta_{t-1}, \tilde u_t)`,
        :math:`\cos(\theta_{t-1}, u_t)` and the final weight RMS, each with its standard
        error over coordinates.

    Raises
    ------
    TypeError
        ``config`` is not a :class:`SimulationConfig`.
    ValueError
        ``config.update`` is not ``"adamw"``, ``horizon_tolerance`` is not in (0, 1), or the
        look-ahead buffers would exceed :data:`MAX_BUFFER_BYTES`.

    Examples
    --------
    >>> from adamw_rms.simulation import SimulationConfig
    >>> from adamw_rms.simulation.tuc import measure_tuc
    >>> config = SimulationConfig(lr=0.01, weight_decay=1.0, steps=400, n=500, seed=1)
    >>> m = measure_tuc(config)
    >>> m.lookahead, m.window
    (175, (201, 400))
    >>> bool(abs(m.tuc_rms - 1) < 0.1 and abs(m.cos_theta_tuc) < 4 * m.cos_theta_tuc_se)
    True
    >>> bool(m.cos_theta_update < -10 * m.cos_theta_update_se)  # theta and u are not orthogonal
    True
    """
    tolerance = _validate(config, horizon_tolerance)
    lookahead = lookahead_steps(config.beta1, tolerance)
    span = 2 * lookahead  # a block of K measured steps and its look-ahead of K steps
    needed = 3 * span * config.n * 8
    if needed > MAX_BUFFER_BYTES:
        raise ValueError(
            f"horizon_tolerance = {tolerance:g} needs a look-ahead of {lookahead} steps, i.e. "
            f"{needed / 1024**3:.1f} GiB of buffers for n = {config.n}; the limit is "
            f"{MAX_BUFFER_BYTES / 1024**3:.0f} GiB: raise horizon_tolerance or lower n"
        )
    start = time.perf_counter()
    state = _Trajectory(config, lookahead)
    sums = _WindowSums.zeros(config.n)
    buffers = _LookAhead(config.n, span, config.beta1)
    first, last = state.first, config.steps
    block_start = first
    for step in range(1, last + lookahead + 1):
        update, weights_before, gradient, factor = state.advance(step)
        if first <= step <= last:
            buffers.hold(step, gradient, weights_before * gradient)
            sums.theta_sq += np.square(weights_before, dtype=np.float64)
            sums.update_sq += np.square(update, dtype=np.float64)
            sums.theta_update += weights_before * update.astype(np.float64)
        if step >= first:
            buffers.factor(step, factor)
        block_end = min(block_start + lookahead - 1, last)
        if block_start <= last and step == block_end + lookahead:
            buffers.release(block_start, block_end, step, sums)
            block_start = block_end + 1
    elapsed = time.perf_counter() - start
    return _summarise(config, lookahead, tolerance, (first, last), sums, state, elapsed)


class _Trajectory:
    """The NumPy engine's step (``random_source="counter"``), run past the end for ``v_k``."""

    def __init__(self, config: SimulationConfig, lookahead: int) -> None:
        self.config = config
        self.dtype = dtype = np.dtype(config.dtype)
        self.keys = coordinate_keys(config.seed, np.arange(config.n))
        self.coefficients = step_coefficients(config)
        total = config.steps + lookahead
        # The factors d_k past the last step need the bias corrections of those steps too.
        if config.bias_correction:
            self.inverse1, self.inverse2 = inverse_bias_corrections(
                config.beta1, config.beta2, total
            )
        else:
            self.inverse1, self.inverse2 = np.ones(total), np.ones(total)
        self.first = config.steps - config.update_window + 1
        self.weights = (normals(self.keys, 0) * config.init_rms).astype(dtype, copy=False)
        self.momentum = np.zeros(config.n, dtype=dtype)
        self.second = np.zeros(config.n, dtype=dtype)
        self.betas = Betas.of(config.beta1, config.beta2, dtype)
        self.eps = dtype.type(config.eps)

    def advance(self, step: int) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
        """One step: ``(u_t, theta_{t-1}, g_t, d_t)``; no update past the last step."""
        config, dtype, k = self.config, self.dtype, step - 1
        gradient = (config.grad_mean + config.grad_std * normals(self.keys, step)).astype(
            dtype, copy=False
        )
        if step > config.steps:
            # Past the end only v_k is needed (for the factors d_k of the look-ahead).
            self.momentum, self.second = moments_step(
                gradient, self.momentum, self.second, self.betas
            )
        else:
            # The reference step in the engine's dtype, so the trajectory is the engine's.
            self.momentum, self.second, update = adamw_step(
                gradient,
                self.momentum,
                self.second,
                self.betas,
                dtype.type(self.coefficients.inverse_bias1[k]),
                dtype.type(self.coefficients.inverse_bias2_sqrt[k]),
                self.eps,
            )
        root = np.sqrt(self.second.astype(np.float64))
        factor = self.inverse1[k] / (root * self.inverse2[k] + config.eps)
        weights_before = self.weights.astype(np.float64, copy=False)
        if step > config.steps:
            return None, weights_before, gradient.astype(np.float64), factor
        lr = dtype.type(self.coefficients.lr[k])
        decay = dtype.type(self.coefficients.weight_decay[k])
        self.weights = weight_step(self.weights, update, lr, decay)
        return update, weights_before, gradient.astype(np.float64), factor


class _LookAhead:
    """Ring buffers of ``g_t``, ``theta_{t-1} g_t`` and ``d_k``, indexed by ``step % span``."""

    def __init__(self, n: int, span: int, beta1: float) -> None:
        self.span, self.beta1 = span, beta1
        self.gradients = np.empty((span, n))
        self.products = np.empty((span, n))
        self.factors = np.empty((span, n))

    def hold(self, step: int, gradient: np.ndarray, product: np.ndarray) -> None:
        slot = step % self.span
        self.gradients[slot] = gradient
        self.products[slot] = product

    def factor(self, step: int, factor: np.ndarray) -> None:
        self.factors[step % self.span] = factor

    def release(self, first: int, last: int, newest: int, sums: _WindowSums) -> None:
        """Complete a_t for ``t = first..last`` from the factors up to ``newest``; add them up."""
        accumulator = np.zeros(self.factors.shape[1])
        for step in range(newest, first - 1, -1):
            slot = step % self.span
            accumulator *= self.beta1
            accumulator += (1.0 - self.beta1) * self.factors[slot]
            if step <= last:
                contribution = self.gradients[slot] * accumulator
                sums.tuc_sq += np.square(contribution)
                sums.theta_tuc += self.products[slot] * accumulator


def _summarise(
    config: SimulationConfig,
    lookahead: int,
    tolerance: float,
    window: tuple[int, int],
    sums: _WindowSums,
    state: _Trajectory,
    elapsed: float,
) -> TucMeasurement:
    count, n = config.update_window, config.n
    means = {name: value / count for name, value in vars(sums).items()}
    tuc_rms, tuc_se = rms_with_se(means["tuc_sq"].sum(), np.square(means["tuc_sq"]).sum(), n)
    update_rms, update_se = rms_with_se(
        means["update_sq"].sum(), np.square(means["update_sq"]).sum(), n
    )
    cos_tuc = cosine_with_se(means["theta_tuc"], means["theta_sq"], means["tuc_sq"])
    cos_update = cosine_with_se(means["theta_update"], means["theta_sq"], means["update_sq"])
    squares = np.square(state.weights, dtype=np.float64)
    weight_rms, weight_se = rms_with_se(squares.sum(), np.square(squares).sum(), n)
    return TucMeasurement(
        config=config,
        lookahead=lookahead,
        horizon_tolerance=tolerance,
        window=window,
        tuc_rms=float(tuc_rms),
        tuc_rms_se=float(tuc_se),
        update_rms=float(update_rms),
        update_rms_se=float(update_se),
        cos_theta_tuc=cos_tuc[0],
        cos_theta_tuc_se=cos_tuc[1],
        cos_theta_update=cos_update[0],
        cos_theta_update_se=cos_update[1],
        weight_rms=float(weight_rms),
        weight_rms_se=float(weight_se),
        elapsed_s=elapsed,
    )

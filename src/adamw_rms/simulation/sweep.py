r"""Many optimizer runs on common random numbers in one pass (numba; used by ``make accuracy``).

The weight recursion :math:`\theta_t = \theta_{t-1} - \eta_t(u_t + \lambda_t\theta_{t-1})` is
linear in :math:`(\theta_0, u)`, and :math:`u` does not depend on :math:`\theta`. So one pass over
the gradients of a coordinate computes :math:`m` and :math:`v` once, the update of every *update
family* (bias correction on or off, each ``eps``; or ``sign(m)``), and advances any number of
weight trajectories -- *variants*: learning-rate and weight-decay schedules, ``init_rms``, a
family -- on the *same* gradients. Every variant is an ordinary run (the NumPy engine with
``random_source="counter"`` replays any one of them bit for bit); sharing the gradients makes
the sweep cheap and the differences between variants precise.

A control variate from the linear part of the recursion
--------------------------------------------------------
Each variant also carries a surrogate trajectory driven by the momentum instead of the update,

.. math::

    \tilde\theta_t = \tilde\theta_{t-1} - \eta_t\,(s_t m_t + \lambda_t\tilde\theta_{t-1}),
    \qquad \tilde\theta_0 = \theta_0,

with a deterministic scale :math:`s_t` (Adam: :math:`u_t` with :math:`v_t` replaced by its mean;
sign: :math:`1/\sqrt{E[m_t^2]}`). :math:`\tilde\theta_t` is a linear function of Gaussian
gradients, so :math:`E[\tilde\theta_t^2]` is known exactly (a two-state covariance recursion,
:func:`surrogate_second_moments`), and :math:`\tilde\theta_t^2` is strongly correlated with
:math:`\theta_t^2`. The estimate

.. math::

    \widehat{E\theta_t^2} = \overline{\theta_t^2}
        - c\,\bigl(\overline{\tilde\theta_t^2} - E[\tilde\theta_t^2]\bigr),
    \qquad c = \frac{\mathrm{cov}(\theta^2, \tilde\theta^2)}{\mathrm{var}(\tilde\theta^2)}

is unbiased for any fixed :math:`c` (with :math:`c` estimated from the same coordinates, the bias
is :math:`O(1/n)`, far below the standard error), and its variance is
:math:`(1-\rho^2)` times that of the plain mean, :math:`\rho` the correlation of the two
squares. Its standard error comes from the spread of :math:`\theta^2 - c\tilde\theta^2` over
coordinates. Both the plain and the controlled estimates are returned.

Measured on the accuracy grid, the control variate divides the variance of the weight RMS by
about 35 (``beta2 = 0.95``) to 800 (``beta2 = 0.999``) at SNR = 0 and by about 160 to 1000 with
a gradient mean; for the sign update only by 1.6 (``beta1 = 0``) to 6 (``beta1 = 0.9``), since
``sign(m)`` is far from linear in ``m``.

Antithetic draws (each coordinate paired with one driven by ``-z``) are not used: at SNR = 0
Adam's and the sign update are odd in the gradients, so the pair's weights are ``theta`` and
``-theta`` and their squares coincide -- twice the work for no information; with a gradient
mean, the odd part of :math:`\theta_t^2` that a pair cancels is what the (linear) control
variate already removes.

Coordinates are keyed by their index (:func:`.random.coordinate_keys`), so a sweep over
coordinates ``[a, b)`` combined with one over ``[b, c)`` (:meth:`SweepResult.combine`) is the
sweep over ``[a, c)``: raising ``n`` runs only the new coordinates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numba
import numpy as np

from .coefficients import inverse_bias_corrections
from .kernels import (
    CHUNK,
    LANES,
    NJIT,
    adamw_update,
    draw_normals,
    moments_step,
    sign_step,
    step_word,
    weight_step,
)
from .random import coordinate_keys
from .reference import Betas
from .result import rms_with_se

__all__ = [
    "SweepResult",
    "Variant",
    "controlled_rms_with_se",
    "surrogate_second_moments",
    "surrogate_terms",
    "sweep",
]

SWEEP_UPDATES = ("adamw", "sign_sgdm")


def _per_step(name: str, value: float | Sequence[float] | np.ndarray, steps: int) -> np.ndarray:
    """A number or one value per step, as a float64 array of ``steps`` values in [0, inf)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(steps, float(array))
    if array.shape != (steps,):
        raise ValueError(f"{name} must be a number or one value per step ({steps}); got shape "
                         f"{array.shape}")  # fmt: skip
    if not np.all(np.isfinite(array) & (array >= 0)):
        raise ValueError(f"{name} must be in [0, inf) at every step")
    return array


@dataclass(frozen=True, eq=False)
class Variant:
    """One weight trajectory of a sweep.

    ``lr`` and ``weight_decay`` are numbers or schedules (one value per step, step 1 first);
    the decay per step is ``lr * weight_decay`` (PyTorch's convention). ``bias_correction`` and
    ``eps`` choose the update family (ignored by a sign sweep). ``record_steps``: the steps at
    which this variant's weight RMS is wanted (default: every step the sweep records); the
    variant stops being advanced after its last one.
    """

    lr: float | Sequence[float] | np.ndarray
    weight_decay: float | Sequence[float] | np.ndarray
    bias_correction: bool = False
    init_rms: float = 0.0
    eps: float = 0.0
    record_steps: tuple[int, ...] | None = None

    @property
    def family(self) -> tuple[bool, float]:
        """The update family: ``(bias_correction, eps)``."""
        return (bool(self.bias_correction), float(self.eps))

    def key(self) -> tuple:
        """The variant by value (schedules as bytes): equal keys, equal trajectories."""

        def value(x: object) -> object:
            return np.asarray(x, dtype=np.float64).tobytes() if np.ndim(x) else float(x)

        record = None if self.record_steps is None else tuple(int(s) for s in self.record_steps)
        return (value(self.lr), value(self.weight_decay), self.family, float(self.init_rms),
                record)  # fmt: skip


@dataclass(frozen=True, eq=False)
class _Sums:
    """Per-coordinate sums of a sweep over coordinates ``[first, last)``."""

    first: int
    last: int
    weights: np.ndarray  # (variants, recorded steps, 5): θ², θ⁴, θ̃², θ̃⁴, θ²θ̃²
    updates: np.ndarray  # (families, 2): a, a² with a the window mean of u²

    def __add__(self, other: _Sums) -> _Sums:
        if other.first != self.last:
            raise ValueError(
                f"sweeps combine over consecutive coordinates: [{self.first}, {self.last}) "
                f"then [{other.first}, {other.last})"
            )
        return _Sums(self.first, other.last, self.weights + other.weights,
                     self.updates + other.updates)  # fmt: skip


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Weight RMS per variant and recorded step (plain and controlled), update RMS per family.

    ``weight_rms[k, j]`` is the plain RMS of variant ``k`` at ``steps[j]`` (bit for bit the
    NumPy engine's); ``precise_weight_rms`` the control-variate estimate (see the module
    docstring); NaN where variant ``k`` does not record ``steps[j]``. ``update_rms`` maps each
    family ``(bias_correction, eps)`` to ``(rms, se)`` (empty for a sign sweep, where the
    update RMS is 1). ``surrogate_mean_square`` (with its SE) is the sample mean of
    :math:`\tilde\theta^2` and ``surrogate_expected`` its exact expectation: their agreement
    tests the control variate's one assumption-free ingredient.
    """

    variants: tuple[Variant, ...]
    steps: np.ndarray
    weight_rms: np.ndarray
    weight_rms_se: np.ndarray
    precise_weight_rms: np.ndarray
    precise_weight_rms_se: np.ndarray
    update_rms: dict[tuple[bool, float], tuple[float, float]]
    surrogate_mean_square: np.ndarray
    surrogate_mean_square_se: np.ndarray
    surrogate_expected: np.ndarray
    n: int
    elapsed_s: float
    update: str = "adamw"
    options: tuple = ()
    _sums: _Sums = field(default=None, repr=False)
    _expected: np.ndarray = field(default=None, repr=False)
    _recorded: np.ndarray = field(default=None, repr=False)
    _families: tuple[tuple[bool, float], ...] = ()

    def recorded(self, variant: int) -> np.ndarray:
        """The positions in ``steps`` that variant ``variant`` records."""
        return np.flatnonzero(np.isfinite(self.weight_rms[variant]))

    def combine(self, other: SweepResult) -> SweepResult:
        """This sweep and the same sweep over the next coordinates, as one sweep over both.

        "The same sweep": equal variants (by value), steps, betas, gradient model, update
        rule, update window and seed (:attr:`options`).
        """
        if other.options != self.options:
            raise ValueError(
                "only sweeps of the same variants, steps and options combine: "
                f"{self.options[:-1]} and {other.options[:-1]}"
            )
        return _result(
            self.variants, self.steps, self._sums + other._sums, self._expected, self._recorded,
            self._families, self.elapsed_s + other.elapsed_s, self.update, self.options,
        )  # fmt: skip


def controlled_rms_with_se(
    sums: np.ndarray, expected_surrogate: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""RMS of :math:`\theta` and its SE from the control-variate sums (last axis of ``sums``:
    :math:`\sum\theta^2, \sum\theta^4, \sum\tilde\theta^2, \sum\tilde\theta^4,
    \sum\theta^2\tilde\theta^2`) and the exact :math:`E[\tilde\theta^2]`.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.simulation.sweep import controlled_rms_with_se
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=50_000)                   # E[x²] = 1, known
    >>> w = x + 0.1 * rng.normal(size=x.size)         # E[w²] = 1.01, to estimate
    >>> y, z = w**2, x**2
    >>> sums = np.array([y.sum(), (y * y).sum(), z.sum(), (z * z).sum(), (y * z).sum()])
    >>> rms, se = controlled_rms_with_se(sums, np.array(1.0), x.size)
    >>> bool(abs(rms - np.sqrt(1.01)) < 4 * se), bool(se < 0.2 * np.sqrt(0.5 / x.size))
    (True, True)
    """
    if count < 3:
        raise ValueError(f"count must be at least 3 (a slope and a residual); got {count}")
    sums = np.asarray(sums, dtype=np.float64)
    mean_y, mean_z = sums[..., 0] / count, sums[..., 2] / count
    var_y = np.maximum(sums[..., 1] - count * mean_y * mean_y, 0.0) / (count - 1)
    var_z = np.maximum(sums[..., 3] - count * mean_z * mean_z, 0.0) / (count - 1)
    cov = (sums[..., 4] - count * mean_y * mean_z) / (count - 1)
    # A surrogate whose spread is at the rounding level of its sums (e.g. the sign update at a
    # large SNR, which almost never flips) carries no information: no correction then.
    informative = var_z > 1e-12 * mean_z * mean_z
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(informative, cov / var_z, 0.0)
    estimate = mean_y - slope * (mean_z - expected_surrogate)
    # The residual's variance on n - 2 degrees of freedom (the mean and the slope are fitted).
    residual = np.maximum(var_y - 2 * slope * cov + slope * slope * var_z, 0.0)
    residual = residual * (count - 1) / (count - 2)
    rms = np.sqrt(np.maximum(estimate, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(rms > 0, np.sqrt(residual / count) / (2.0 * rms), 0.0)
    return rms, se


@numba.njit(inline="always")
def _affine_step(a, b, c, mean, cov, input_mean, input_cov):
    """Mean and covariance of ``a x + b e + c`` for independent ``x ~ (mean, cov)`` and
    ``e ~ (input_mean, input_cov)`` (explicit loops: numba's ``@`` would need SciPy's BLAS)."""
    size, inputs = b.shape
    new_mean = c.copy()
    new_cov = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            new_mean[i] += a[i, j] * mean[j]
        for j in range(inputs):
            new_mean[i] += b[i, j] * input_mean[j]
    for i in range(size):
        for j in range(size):
            total = 0.0
            for k in range(size):
                for m in range(size):
                    total += a[i, k] * cov[k, m] * a[j, m]
            for k in range(inputs):
                for m in range(inputs):
                    total += b[i, k] * input_cov[k, m] * b[j, m]
            new_cov[i, j] = total
    return new_mean, new_cov


@numba.njit(**NJIT)
def _surrogate_moments(lr, decay, scale, second_scale, offset, betas, grad_mean, grad_std,
                       init_rms, record):  # fmt: skip
    """E[θ̃²] at the recorded steps from the mean and covariance of ``(m, v, θ̃)``."""
    out = np.empty(record.size)
    mean, cov = np.zeros(3), np.zeros((3, 3))
    cov[2, 2] = init_rms * init_rms
    # The input (g, g²) of a Gaussian g: its mean and covariance.
    mu, var = grad_mean, grad_std * grad_std
    input_mean = np.array([mu, mu * mu + var])
    input_cov = np.array([[var, 2 * mu * var], [2 * mu * var, 4 * mu * mu * var + 2 * var * var]])
    a, b, c = np.zeros((3, 3)), np.zeros((3, 2)), np.zeros(3)
    a[0, 0], a[1, 1], b[0, 0], b[1, 1] = betas[0], betas[2], betas[1], betas[3]
    position = 0
    if record[0] == 0:
        out[0] = cov[2, 2]
        position = 1
    for k in range(lr.size):
        if position == record.size:
            break
        # θ' = (1 - lr wd) θ - lr (s m' - r v' + q), with m' and v' written out.
        gain_m, gain_v = lr[k] * scale[k], lr[k] * second_scale[k]
        a[2, 0], a[2, 1], a[2, 2] = -gain_m * betas[0], gain_v * betas[2], 1.0 - lr[k] * decay[k]
        b[2, 0], b[2, 1] = -gain_m * betas[1], gain_v * betas[3]
        c[2] = -lr[k] * offset[k]
        mean, cov = _affine_step(a, b, c, mean, cov, input_mean, input_cov)
        if record[position] == k + 1:
            out[position] = cov[2, 2] + mean[2] * mean[2]
            position += 1
    return out


def surrogate_second_moments(
    lr: np.ndarray,
    weight_decay: np.ndarray,
    scale: np.ndarray,
    second_scale: np.ndarray | None = None,
    offset: np.ndarray | None = None,
    *,
    beta1: float,
    beta2: float = 0.0,
    grad_mean: float,
    grad_std: float,
    init_rms: float,
    record_steps: Sequence[int],
) -> np.ndarray:
    r""":math:`E[\tilde\theta_t^2]` at ``record_steps`` for the surrogate
    :math:`\tilde\theta_t = (1 - \eta_t\lambda_t)\tilde\theta_{t-1}
    - \eta_t (s_t m_t - r_t v_t + q_t)` (``scale`` s, ``second_scale`` r, ``offset`` q).

    Exact for iid Gaussian gradients :math:`N(\mu, \sigma^2)`: :math:`(m, v, \tilde\theta)`
    is affine in the inputs :math:`(g_t, g_t^2)`, whose mean and covariance are known, so its
    mean and covariance follow a deterministic recursion.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.simulation.sweep import surrogate_second_moments
    >>> # beta1 = 0, s = 1, no decay: theta_t = -lr (g_1 + ... + g_t), E = lr² t σ²
    >>> steps = 10
    >>> out = surrogate_second_moments(np.full(steps, 0.1), np.zeros(steps), np.ones(steps),
    ...     beta1=0.0, grad_mean=0.0, grad_std=1.0, init_rms=0.0, record_steps=[4, 10])
    >>> np.round(out, 12).tolist()
    [0.04, 0.1]
    """
    scale = np.ascontiguousarray(scale, dtype=np.float64)
    record = np.asarray(record_steps, dtype=np.int64)
    if record.ndim != 1 or not record.size or np.any(np.diff(record) <= 0):
        raise ValueError(f"record_steps must be increasing and non-empty; got {record_steps!r}")
    if record[0] < 0 or record[-1] > scale.size:
        raise ValueError(f"record_steps must lie in [0, {scale.size}]; got {record_steps!r}")
    second = np.zeros_like(scale) if second_scale is None else second_scale
    shift = np.zeros_like(scale) if offset is None else offset
    return _surrogate_moments(
        np.ascontiguousarray(lr, dtype=np.float64),
        np.ascontiguousarray(weight_decay, dtype=np.float64),
        scale,
        np.ascontiguousarray(second, dtype=np.float64),
        np.ascontiguousarray(shift, dtype=np.float64),
        Betas.of(beta1, beta2, np.dtype(np.float64)).array(),
        float(grad_mean), float(grad_std), float(init_rms), record,
    )  # fmt: skip


@numba.njit(parallel=True, **NJIT)
def _sweep_kernel(
    keys,
    betas,
    grad_mean,
    grad_std,
    sign_update,
    inverse_bias1,
    inverse_bias2_sqrt,
    eps,
    scale,
    second_scale,
    offset,
    lr,
    decay,
    family,
    init_rms,
    last_step,
    record,
    recorded,
    window_start,
):
    n = keys.size
    families, steps = inverse_bias1.shape
    variants = lr.shape[0]
    chunks = (n + CHUNK - 1) // CHUNK
    weight_sums = np.zeros((chunks, variants, record.size, 5))
    update_sums = np.zeros((chunks, families, 2))
    window = steps - window_start + 1
    for chunk in numba.prange(chunks):
        normal = np.empty(LANES)
        gradient = np.empty(LANES)
        momentum = np.empty(LANES)
        second = np.empty(LANES)
        update = np.empty((families, LANES))
        linear = np.empty((families, LANES))
        update_sq = np.empty((families, LANES))
        weights = np.empty((variants, LANES))
        surrogate = np.empty((variants, LANES))
        chunk_end = min(n, (chunk + 1) * CHUNK)
        for base in range(chunk * CHUNK, chunk_end, LANES):
            lanes = min(LANES, chunk_end - base)
            draw_normals(keys, base, lanes, step_word(0), normal)
            for lane in range(lanes):
                momentum[lane] = 0.0
                second[lane] = 0.0
            for f in range(families):
                for lane in range(lanes):
                    update_sq[f, lane] = 0.0
            for k in range(variants):
                for lane in range(lanes):
                    weights[k, lane] = normal[lane] * init_rms[k]
                    surrogate[k, lane] = weights[k, lane]
            position = 0
            if record.size and record[0] == 0:
                _record(weights, surrogate, recorded, weight_sums, chunk, 0, lanes)
                position = 1
            for step in range(1, steps + 1):
                k_step = step - 1
                draw_normals(keys, base, lanes, step_word(step), normal)
                for lane in range(lanes):
                    gradient[lane] = grad_mean + grad_std * normal[lane]
                in_window = 1.0 if step >= window_start else 0.0
                if sign_update:
                    for lane in range(lanes):
                        momentum[lane], update[0, lane] = sign_step(
                            gradient[lane], momentum[lane], betas
                        )
                else:
                    for lane in range(lanes):
                        momentum[lane], second[lane] = moments_step(
                            gradient[lane], momentum[lane], second[lane], betas
                        )
                    for f in range(families):
                        c1 = inverse_bias1[f, k_step]
                        c2 = inverse_bias2_sqrt[f, k_step]
                        for lane in range(lanes):
                            u = adamw_update(momentum[lane], second[lane], c1, c2, eps[f])
                            update[f, lane] = u
                            update_sq[f, lane] += in_window * (u * u)
                for f in range(families):
                    gain_m, gain_v = scale[f, k_step], second_scale[f, k_step]
                    shift = offset[f, k_step]
                    for lane in range(lanes):
                        linear[f, lane] = gain_m * momentum[lane] - gain_v * second[lane] + shift
                for k in range(variants):
                    if step > last_step[k]:
                        continue
                    f = family[k]
                    lr_k, decay_k = lr[k, k_step], decay[k, k_step]
                    for lane in range(lanes):
                        weights[k, lane] = weight_step(weights[k, lane], update[f, lane], lr_k,
                                                       decay_k)  # fmt: skip
                        surrogate[k, lane] = weight_step(
                            surrogate[k, lane], linear[f, lane], lr_k, decay_k
                        )
                if position < record.size and record[position] == step:
                    _record(weights, surrogate, recorded, weight_sums, chunk, position, lanes)
                    position += 1
            for f in range(families):
                for lane in range(lanes):
                    mean_sq = update_sq[f, lane] / window
                    update_sums[chunk, f, 0] += mean_sq
                    update_sums[chunk, f, 1] += mean_sq * mean_sq
    return weight_sums, update_sums


@numba.njit(inline="always")
def _record(weights, surrogate, recorded, weight_sums, chunk, position, lanes):
    for k in range(weights.shape[0]):
        if not recorded[k, position]:
            continue
        for lane in range(lanes):
            y = weights[k, lane] * weights[k, lane]
            z = surrogate[k, lane] * surrogate[k, lane]
            weight_sums[chunk, k, position, 0] += y
            weight_sums[chunk, k, position, 1] += y * y
            weight_sums[chunk, k, position, 2] += z
            weight_sums[chunk, k, position, 3] += z * z
            weight_sums[chunk, k, position, 4] += y * z


def _families(variants: Sequence[Variant], update: str) -> tuple[tuple[bool, float], ...]:
    if update == "sign_sgdm":
        return ((False, 0.0),)
    return tuple(dict.fromkeys(v.family for v in variants))


def surrogate_terms(
    families: Sequence[tuple[bool, float]], *, update: str, beta1: float, beta2: float,
    grad_mean: float, grad_std: float, steps: int,
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Per family: the inverse bias corrections (ones where off) and the surrogate's terms.

    The surrogate update ``s_t m_t - r_t v_t + q_t`` is the update linearised in ``(m, v)``
    around their means ``(E m_t, E v_t)``: for Adam, ``u = c1 m / (c2 sqrt(v) + eps)`` gives
    ``s_t = du/dm`` and ``r_t = -du/dv`` there (``q_t`` makes the means agree); for the sign
    update, ``sign(m) ~ 2 phi(E m / sd m) m / sd m``, the slope of ``E sign`` (``r = q = 0``).
    Returns ``(c1, c2, s, r, q)``, each of shape ``(families, steps)``.
    """
    t = np.arange(1, steps + 1, dtype=np.float64)
    corrected1, corrected2 = inverse_bias_corrections(beta1, beta2, steps)
    shape = (len(families), steps)
    inverse1, inverse2 = np.ones(shape), np.ones(shape)
    scale, second_scale, offset = np.empty(shape), np.zeros(shape), np.zeros(shape)
    mean_m = grad_mean * (1.0 - beta1**t)
    for f, (bias, eps) in enumerate(families):
        if update == "sign_sgdm":
            sd_m = grad_std * np.sqrt((1.0 - beta1) * (1.0 - beta1 ** (2 * t)) / (1.0 + beta1))
            safe = np.where(sd_m > 0, sd_m, 1.0)
            slope = 2.0 * np.exp(-0.5 * (mean_m / safe) ** 2) / (math.sqrt(2 * math.pi) * safe)
            scale[f] = np.where(sd_m > 0, slope, 0.0)
            continue
        if bias:
            inverse1[f], inverse2[f] = corrected1, corrected2
        mean_v = (grad_mean**2 + grad_std**2) * (1.0 - beta2**t)
        root = np.sqrt(mean_v)
        denominator = root * inverse2[f] + eps
        scale[f] = inverse1[f] / denominator
        second_scale[f] = inverse1[f] * mean_m * inverse2[f] / (2.0 * root * denominator**2)
        offset[f] = second_scale[f] * mean_v
    return inverse1, inverse2, scale, second_scale, offset


def sweep(
    variants: Sequence[Variant],
    *,
    beta1: float,
    beta2: float = 0.999,
    steps: int,
    n: int | None = None,
    coordinates: tuple[int, int] | None = None,
    grad_mean: float = 0.0,
    grad_std: float = 1.0,
    record_steps: Sequence[int],
    update_window: int | None = None,
    update: str = "adamw",
    seed: int = 0,
) -> SweepResult:
    """Run every variant on the same gradients (float64). See the module docstring.

    Parameters
    ----------
    variants
        The weight trajectories (:class:`Variant`).
    beta1, beta2
        Adam's betas, in [0, 1) (``beta2`` is not used by a sign sweep).
    steps
        Optimizer steps, ``>= 1``.
    n, coordinates
        Either ``n`` (coordinates ``[0, n)``) or ``coordinates=(first, last)``.
    grad_mean, grad_std
        The gradients are iid :math:`N(\\mu, \\sigma^2)`.
    record_steps
        Steps at which weight RMS is recorded (0: the initialisation).
    update_window
        The update RMS averages the last ``update_window`` steps (default: the second half).
    update
        ``"adamw"`` or ``"sign_sgdm"`` (the sweep covers these two; the other rules of
        :class:`.SimulationConfig` run through :func:`.simulate`).
    seed
        The seed of the counter-based normals (coordinate ``i`` draws the same numbers as in
        any engine run with this seed).

    Examples
    --------
    >>> from adamw_rms.simulation.sweep import Variant, sweep
    >>> result = sweep([Variant(1e-2, 0.1)], beta1=0.9, beta2=0.99, steps=200, n=2048,
    ...                record_steps=(200,), seed=1)
    >>> plain, precise = result.weight_rms_se[0, 0], result.precise_weight_rms_se[0, 0]
    >>> bool(precise < plain / 3)  # the control variate
    True
    """
    if not variants:
        raise ValueError("variants must name at least one weight trajectory")
    if update not in SWEEP_UPDATES:
        raise ValueError(
            f"update must be one of {SWEEP_UPDATES}; got {update!r} (the sweep shares one update "
            "among trajectories, which coupled decay -- 'sgd', 'adam_l2' -- rules out, and its "
            "control variate is built for AdamW's and the sign update: run 'lion', 'sgd' and "
            "'adam_l2' through simulate())"
        )
    for name, value in (("beta1", beta1), ("beta2", beta2)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be an integer in [1, inf); got {steps!r}")
    if (n is None) == (coordinates is None):
        raise ValueError("give exactly one of n and coordinates")
    first, last = (0, n) if coordinates is None else coordinates
    if not 0 <= first < last - 1:
        raise ValueError(
            f"coordinates must be [first, last) with 0 <= first and at least 2 of them; "
            f"got [{first}, {last})"
        )
    record = np.array(sorted(set(record_steps)), dtype=np.int64)
    if not record.size or record[0] < 0 or record[-1] > steps:
        raise ValueError(f"record_steps must be non-empty and lie in [0, {steps}]")
    window = steps - steps // 2 if update_window is None else update_window
    if not 1 <= window <= steps:
        raise ValueError(f"update_window must be in [1, {steps}]; got {window}")
    families = _families(variants, update)
    inverse1, inverse2, scale, second_scale, offset = surrogate_terms(
        families, update=update, beta1=beta1, beta2=beta2, grad_mean=grad_mean,
        grad_std=grad_std, steps=steps,
    )  # fmt: skip
    lr = np.stack([_per_step("lr", v.lr, steps) for v in variants])
    decay = np.stack([_per_step("weight_decay", v.weight_decay, steps) for v in variants])
    if np.any(lr * decay >= 1.0):
        raise ValueError("lr * weight_decay must be in [0, 1) at every step of every variant")
    recorded = np.zeros((len(variants), record.size), dtype=np.bool_)
    for k, variant in enumerate(variants):
        wanted = record if variant.record_steps is None else variant.record_steps
        missing = set(wanted) - set(record.tolist())
        if missing:
            raise ValueError(f"variant {k} records steps {sorted(missing)} the sweep does not")
        recorded[k] = np.isin(record, wanted)
    last_step = np.array(
        [record[recorded[k]].max(initial=0) for k in range(len(variants))], dtype=np.int64
    )
    family = np.array(
        [0 if update == "sign_sgdm" else families.index(v.family) for v in variants],
        dtype=np.int64,
    )
    expected = np.stack([
        surrogate_second_moments(
            lr[k], decay[k], scale[family[k]], second_scale[family[k]], offset[family[k]],
            beta1=beta1, beta2=beta2, grad_mean=grad_mean, grad_std=grad_std,
            init_rms=v.init_rms, record_steps=record,
        )
        for k, v in enumerate(variants)
    ])  # fmt: skip
    start = time.perf_counter()
    weight_sums, update_sums = _sweep_kernel(
        coordinate_keys(seed, np.arange(first, last)),
        Betas.of(beta1, beta2, np.dtype(np.float64)).array(),
        float(grad_mean),
        float(grad_std),
        update == "sign_sgdm",
        inverse1,
        inverse2,
        np.array([eps for _, eps in families], dtype=np.float64),
        scale,
        second_scale,
        offset,
        lr,
        decay,
        family,
        np.array([v.init_rms for v in variants], dtype=np.float64),
        last_step,
        record,
        recorded,
        steps - window + 1,
    )
    sums = _Sums(first, last, weight_sums.sum(axis=0), update_sums.sum(axis=0))
    elapsed = time.perf_counter() - start
    options = (
        float(beta1), float(beta2), int(steps), float(grad_mean), float(grad_std),
        tuple(record.tolist()), int(window), update, int(seed),
        tuple(v.key() for v in variants),
    )  # fmt: skip
    return _result(
        tuple(variants), record, sums, expected, recorded, families, elapsed, update, options
    )


def _result(variants, record, sums, expected, recorded, families, elapsed, update, options):
    count = sums.last - sums.first
    plain, plain_se = rms_with_se(sums.weights[..., 0], sums.weights[..., 1], count)
    precise, precise_se = controlled_rms_with_se(sums.weights, expected, count)
    updates = {}
    if update == "adamw":
        for f, key in enumerate(families):
            rms, se = rms_with_se(sums.updates[f, 0], sums.updates[f, 1], count)
            updates[key] = (float(rms), float(se))
    nan = np.full(plain.shape, np.nan)
    surrogate = sums.weights[..., 2] / count
    spread = np.maximum(sums.weights[..., 3] / count - surrogate**2, 0.0) * count / (count - 1)
    return SweepResult(
        variants=variants,
        steps=record,
        weight_rms=np.where(recorded, plain, nan),
        weight_rms_se=np.where(recorded, plain_se, nan),
        precise_weight_rms=np.where(recorded, precise, nan),
        precise_weight_rms_se=np.where(recorded, precise_se, nan),
        update_rms=updates,
        surrogate_mean_square=np.where(recorded, surrogate, nan),
        surrogate_mean_square_se=np.where(recorded, np.sqrt(spread / count), nan),
        surrogate_expected=np.where(recorded, expected, nan),
        n=count,
        elapsed_s=elapsed,
        update=update,
        options=options,
        _sums=sums,
        _expected=expected,
        _recorded=recorded,
        _families=families,
    )

r"""The weight RMS of Muon (``torch.optim.Muon``) under iid Gaussian gradient matrices.

Muon (PyTorch 2.13, ``torch/optim/_muon.py``), for an ``A x B`` parameter (``A`` rows):

* ``buf <- buf + (1 - momentum) (g - buf)`` (an EMA, ``lerp``; ``buf_0 = 0``);
* ``U = g + momentum (buf - g)`` with ``nesterov`` (the default), else ``U = buf``;
* ``O = NS(U)``: ``X = U / max(||U||_F, eps)`` (transposed when ``A > B``), then ``ns_steps``
  times ``X <- a X + (b XX^T + c (XX^T)^2) X``: every singular value goes through
  :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5`;
* ``theta <- theta (1 - lr weight_decay)`` (the *unadjusted* lr), then
  ``theta <- theta - lr_adj O`` with ``lr_adj = lr sqrt(max(1, A/B))`` (``"original"``, also
  ``None``) or ``lr 0.2 sqrt(max(A, B))`` (``"match_rms_adamw"``).

Gradients are iid N(0, 1) matrices. ``U_t`` is a fixed linear combination of the gradients so
far, ``U_t = sum_{i=0}^{t-1} w_i g_{t-i}`` with ``w_0 = a_0`` and ``w_i = c_0 beta^i``
(``a_0 = 1 - beta^2``, ``c_0 = (1 - beta) beta`` with Nesterov; ``a_0 = c_0 = 1 - beta``
without), so ``(U_s, U_{s+k})`` is a pair of iid-Gaussian matrices with entrywise correlation

.. math::

    \rho(s, k) = \frac{c_0\beta^k (a_0 + c_0 S_s)}{\sqrt{v_s v_{s+k}}}, \qquad
    v_s = a_0^2 + c_0^2 S_s, \qquad S_s = \sum_{i=1}^{s-1}\beta^{2i}
    = \frac{\beta^2 (1 - \beta^{2(s-1)})}{1 - \beta^2}

(exact, transient from ``buf_0 = 0`` included; :func:`input_correlation`). Since ``NS`` is
scale-free (up to ``eps``), ``E<O_s, O_{s+k}> / (AB) = C_0 G(rho(s, k))`` with
``C_0 = E||O||_F^2 / (AB)`` (:func:`update_mean_square`) and ``G`` the output correlation of
the orthogonalisation (:func:`output_correlation`). The decay is decoupled and the gradients
do not depend on ``theta``, so with :math:`\beta_3 = 1 - \eta\lambda`

.. math::

    \mathbb{E}\,\Vert\theta_t\Vert_{\mathrm{RMS}}^2 = \beta_3^{2t}\rho_0 + \eta_{\mathrm{adj}}^2
    C_0 \Bigl[\sum_{s=1}^{t}\beta_3^{2(t-s)} + 2\sum_{k=1}^{t-1}\sum_{s=1}^{t-k}
    \beta_3^{2(t-s)-k}\,G(\rho(s,k))\Bigr]

exactly. ``C_0`` is derived: the singular values of the Frobenius-normalised ``m x n`` Gaussian
matrix (``m = min(A, B)``, ``n = max(A, B)``) are :math:`\sqrt{x/m}` with ``x`` Marchenko--Pastur
distributed with ratio ``m/n`` (mean 1), so :math:`C_0 = \frac{1}{n}\int
(\varphi^{\circ k}(\sqrt{x/m}))^2\,dF_{MP}(x)`, by Gauss--Legendre quadrature (for ``m = 1``
the single singular value is exactly 1). ``G`` is measured: a seeded Monte Carlo of the
float32 Newton--Schulz map on pairs ``(X, rho X +- sqrt(1 - rho^2) Y)`` (antithetic) at fixed
nodes, cached per (shape, coefficients, steps), interpolated in between (docs/muon.md has its
accuracy and the evidence on the two momentum models).
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import numpy as np

from ..accuracy_warning import AccuracyWarning
from ._common import _hyper, _output
from ._validate import check_range

__all__ = [
    "ADJUST_LR_FNS",
    "adjusted_lr_ratio",
    "input_correlation",
    "muon_weight_rms",
    "output_correlation",
    "update_mean_square",
]

#: The ``adjust_lr_fn`` values ``torch.optim.Muon`` accepts.
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
_DEFAULT_COEFFICIENTS = (3.4445, -4.775, 2.0315)

# Correlation nodes of the measured G: denser towards 1, where G bends most (the perturbation
# sqrt(1 - rho^2) of the small singular values is amplified by the polynomial's steep slope).
_RHO_NODES = np.array(
    [0.05, 0.15, 0.3, 0.45, 0.6, 0.7, 0.8, 0.87, 0.92, 0.95, 0.97, 0.985, 0.995, 0.999]
)
# Gaussian entries per node: about one 512 x 512 pair; smaller shapes get more pairs.
_MC_ENTRIES = 1 << 18
_MC_SEED = 20_250_517
# Relative size below which lag and transient terms are dropped (far below G's own accuracy).
_TOLERANCE = 1e-12


def _shape(shape: Any) -> tuple[int, int]:
    if (
        not isinstance(shape, tuple | list)
        or len(shape) != 2
        or not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in shape)
    ):
        raise TypeError(f"shape must be a pair of positive ints (rows, cols); got {shape!r}")
    if min(shape) < 1:
        raise ValueError(f"shape must be a pair of positive ints (rows, cols); got {shape!r}")
    return int(shape[0]), int(shape[1])


def _ns_parameters(ns_coefficients: Any, ns_steps: Any) -> tuple[tuple[float, float, float], int]:
    if isinstance(ns_steps, bool) or not isinstance(ns_steps, int | np.integer):
        raise TypeError(f"ns_steps must be an int in [0, 100); got {ns_steps!r}")
    if not 0 <= ns_steps < 100:  # torch.optim.Muon refuses 100 or more
        raise ValueError(f"ns_steps must be an int in [0, 100); got {ns_steps!r}")
    try:
        values = tuple(ns_coefficients)
    except TypeError as error:
        raise TypeError(
            f"ns_coefficients must be three finite reals; got {ns_coefficients!r}"
        ) from error
    if len(values) != 3 or any(
        isinstance(v, bool | str | bytes)
        or not isinstance(v, int | float | np.integer | np.floating)
        for v in values
    ):
        raise TypeError(f"ns_coefficients must be three finite reals; got {ns_coefficients!r}")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"ns_coefficients must be three finite reals; got {ns_coefficients!r}")
    a, b, c = (float(v) for v in values)
    return (a, b, c), int(ns_steps)


def _check_nesterov(nesterov: Any) -> bool:
    # A bool only: bool("False") is True, and None would silently mean no Nesterov.
    if not isinstance(nesterov, bool | np.bool_):
        raise TypeError(f"nesterov must be a bool; got {nesterov!r}")
    return bool(nesterov)


def _check_adjust(adjust_lr_fn: Any) -> None:
    if not (
        adjust_lr_fn is None or (isinstance(adjust_lr_fn, str) and adjust_lr_fn in ADJUST_LR_FNS)
    ):
        raise ValueError(f"adjust_lr_fn must be one of {ADJUST_LR_FNS}; got {adjust_lr_fn!r}")


def adjusted_lr_ratio(shape: tuple[int, int], adjust_lr_fn: str | None = None) -> float:
    """``lr_adj / lr`` of ``torch.optim.Muon`` for a parameter of ``shape = (A, B)``.

    ``"original"`` (and ``None``): :math:`\\sqrt{\\max(1, A/B)}`; ``"match_rms_adamw"``:
    :math:`0.2\\sqrt{\\max(A, B)}`.

    Parameters
    ----------
    shape
        ``(rows, cols)`` of the parameter, positive ints.
    adjust_lr_fn
        ``None`` (= ``"original"``), ``"original"`` or ``"match_rms_adamw"``, as in
        ``torch.optim.Muon``.

    Returns
    -------
    float
        ``lr_adj / lr``, ``> 0``.

    Examples
    --------
    >>> from adamw_rms.estimators.muon import adjusted_lr_ratio
    >>> adjusted_lr_ratio((256, 64)), adjusted_lr_ratio((64, 256))
    (2.0, 1.0)
    >>> adjusted_lr_ratio((64, 256), "match_rms_adamw")
    3.2
    """
    rows, cols = _shape(shape)
    _check_adjust(adjust_lr_fn)
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return math.sqrt(max(1.0, rows / cols))


def _composed(
    sigma: np.ndarray, coefficients: tuple[float, float, float], steps: int
) -> np.ndarray:
    a, b, c = coefficients
    for _ in range(steps):
        square = sigma * sigma
        sigma = sigma * (a + square * (b + c * square))
    return sigma


# Composite Gauss-Legendre on the angle theta in [0, pi]: 256 panels of 16 nodes, enough to
# resolve the steep rise of the composed polynomial near sigma = 0 (checked by doubling in tests).
_PANELS = 256
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


def _angle_rule(panels: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(0.0, np.pi, panels + 1)
    half = (edges[1:] - edges[:-1])[:, None] / 2
    middle = (edges[1:] + edges[:-1])[:, None] / 2
    return (middle + half * _GL_NODES).ravel(), (half * _GL_WEIGHTS).ravel()


def _mp_mean(function: Any, ratio: float, panels: int = _PANELS) -> float:
    """``E f(x)`` under Marchenko--Pastur with ratio ``y`` (mean 1), via ``x = x_c + h cos(theta)``.

    The substitution turns the density's square-root edges into ``sin^2(theta)``; at ``y = 1``
    the ``1/x`` pole at the hard edge cancels against it too, so the integrand is smooth.
    """
    upper, lower = (1 + math.sqrt(ratio)) ** 2, (1 - math.sqrt(ratio)) ** 2
    centre, half = (upper + lower) / 2, (upper - lower) / 2
    theta, weights = _angle_rule(panels)
    x = centre + half * np.cos(theta)
    sine = np.sin(theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(x > 0, half * half * sine * sine / (2 * np.pi * ratio * x), 0.0)
    return float(np.sum(weights * density * function(np.maximum(x, 0.0))))


@functools.lru_cache(maxsize=64)
def _update_mean_square(
    rows: int, cols: int, coefficients: tuple[float, float, float], steps: int, panels: int
) -> float:
    small, large = min(rows, cols), max(rows, cols)
    if small == 1:  # a normalised vector: one singular value, exactly 1
        return float(_composed(np.array(1.0), coefficients, steps) ** 2) / large
    return (
        _mp_mean(
            lambda x: _composed(np.sqrt(x / small), coefficients, steps) ** 2, small / large, panels
        )
        / large
    )


def _mean_square(
    rows: int, cols: int, coefficients: tuple[float, float, float], steps: int
) -> float:
    """``C_0``, or ``ValueError`` where the coefficients make the update zero or not finite.

    The estimate divides by ``C_0`` (through ``G``'s normalisation) and scales with it, so
    coefficients such as ``(0, 0, 0)`` (every update 0) or ``(1e200,) * 3`` (an overflow after
    a few iterations) are refused here, before any NumPy warning or division by zero.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        value = _update_mean_square(rows, cols, coefficients, steps, _PANELS)
    if not (math.isfinite(value) and value > 0):
        what = "zero" if value == 0 else "not finite (an overflow)"
        raise ValueError(
            f"ns_coefficients={coefficients!r} with ns_steps={steps} make the orthogonalised "
            f"update {what} for shape ({rows}, {cols}); give coefficients whose iteration keeps "
            "the singular values finite and not all zero"
        )
    return value


def update_mean_square(
    shape: tuple[int, int],
    *,
    ns_coefficients: tuple[float, float, float] = _DEFAULT_COEFFICIENTS,
    ns_steps: int = 5,
) -> float:
    r"""``C_0 = E||O||_F^2 / (AB)``: the mean square of Muon's orthogonalised update.

    .. math::

        C_0 = \frac{1}{n}\int \bigl(\varphi^{\circ k}(\sqrt{x/m})\bigr)^2\,dF_{MP}^{(m/n)}(x),
        \qquad \varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5

    with ``m, n = min(shape), max(shape)`` and ``F_MP`` the Marchenko--Pastur law of ratio
    ``m/n`` (the large-matrix law; its error against direct Newton--Schulz, measured: -0.67% at
    16 x 32, +0.51% at 64 x 64, -0.23% at 64 x 256, -0.04% at 512 x 512, each +-0.1%;
    docs/muon.md). Exact for ``m = 1``.

    Parameters
    ----------
    shape
        ``(rows, cols)`` of the parameter, positive ints.
    ns_coefficients
        Newton--Schulz coefficients ``(a, b, c)``, finite; ``ValueError`` where they make the
        update zero or overflow (``(0, 0, 0)``, ``(1e200,) * 3``).
    ns_steps
        Newton--Schulz iterations, an int in ``[0, 100)``.

    Returns
    -------
    float
        ``C_0 > 0``; ``1 / (AB)`` at ``ns_steps = 0`` (the Frobenius-normalised matrix).

    Examples
    --------
    >>> from adamw_rms.estimators.muon import update_mean_square
    >>> round(update_mean_square((512, 512)) * 512, 4)  # mean square singular value of O
    0.882
    >>> round(update_mean_square((64, 64), ns_steps=0) * 64 * 64, 12)  # no iteration: ||X||_F = 1
    1.0
    """
    rows, cols = _shape(shape)
    coefficients, steps = _ns_parameters(ns_coefficients, ns_steps)
    return _mean_square(rows, cols, coefficients, steps)


def _newton_schulz(
    x: np.ndarray, coefficients: tuple[float, float, float], steps: int
) -> np.ndarray:
    """Muon's iteration on a stack of ``m x n`` matrices (``m <= n``), in float32."""
    a, b, c = (np.float32(v) for v in coefficients)
    x = x / np.linalg.norm(x, axis=(-2, -1), keepdims=True)
    for _ in range(steps):
        gram = x @ np.swapaxes(x, -1, -2)
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x


@functools.lru_cache(maxsize=16)
def _correlation_table(
    rows: int, cols: int, coefficients: tuple[float, float, float], steps: int
) -> np.ndarray:
    """``G(rho) / rho`` at :data:`_RHO_NODES`, measured by a seeded Monte Carlo (float32).

    One stack of ``ceil(2**18 / (m n))`` pairs serves every node (common random numbers: the
    curve is smooth in ``rho``), and ``Y`` enters with both signs, which cancels the part of
    the noise that is odd in ``Y`` (the leading one).
    """
    small, large = min(rows, cols), max(rows, cols)
    count = -(-_MC_ENTRIES // (small * large))
    rng = np.random.default_rng([_MC_SEED, small, large, steps])
    x = rng.standard_normal((count, small, large), dtype=np.float32)
    y = rng.standard_normal((count, small, large), dtype=np.float32)
    # Coefficients that pass the float64 check of C_0 can still overflow (or underflow to 0) in
    # float32; the result is checked below, so the warnings on the way are not wanted.
    with np.errstate(over="ignore", invalid="ignore"):
        base = _newton_schulz(x, coefficients, steps).astype(np.float64)
        norm = float(np.sum(base * base))
        ratios = np.empty(len(_RHO_NODES))
        for j, rho in enumerate(_RHO_NODES):
            other = np.float32(math.sqrt(1 - rho * rho)) * y
            inner = 0.0
            for sign in (1, -1):
                out = _newton_schulz(np.float32(rho) * x + sign * other, coefficients, steps)
                inner += float(np.sum(base * out))
            ratios[j] = inner / (2 * norm) / rho if math.isfinite(norm) and norm > 0 else np.nan
    if not np.all(np.isfinite(ratios)):
        raise ValueError(
            f"ns_coefficients={coefficients!r} with ns_steps={steps} make the Newton--Schulz "
            "update zero or not finite in float32 (the precision G is measured in; torch's "
            "bfloat16 has the same range)"
        )
    return ratios


def output_correlation(
    rho: Any,
    shape: tuple[int, int],
    *,
    ns_coefficients: tuple[float, float, float] = _DEFAULT_COEFFICIENTS,
    ns_steps: int = 5,
) -> Any:
    r"""``G(rho) = E<O(X), O(X')> / E||O(X)||^2`` for Gaussian ``X, X'`` of correlation ``rho``.

    Measured (seeded, cached per shape and Newton--Schulz parameters; the first call at
    512 x 512 takes about 1.3 s of CPU on one core) at fixed nodes; ``G(rho)/rho`` is
    interpolated linearly in :math:`\sqrt{1-\rho^2}` with ``G(1) = 1`` exact, held at its
    ``rho = 0.05`` value below, and odd in ``rho``.

    Parameters
    ----------
    rho
        Entrywise correlation of the two input matrices, in ``[-1, 1]`` (scalar or array).
    shape
        ``(rows, cols)`` of the parameter, positive ints.
    ns_coefficients, ns_steps
        As :func:`update_mean_square` (``ValueError`` where the update is zero or not finite,
        in float64 or in the float32 of the measurement).

    Returns
    -------
    float or ndarray
        ``G(rho)`` in ``[-1, 1]``: a Python float for a scalar ``rho``, else an array of its
        shape.

    Examples
    --------
    >>> from adamw_rms.estimators.muon import output_correlation
    >>> output_correlation(1.0, (64, 64)), output_correlation(0.0, (64, 64))
    (1.0, 0.0)
    >>> 0.6 < output_correlation(0.8, (64, 64)) < 0.8  # below rho: NS decorrelates
    True
    """
    rows, cols = _shape(shape)
    coefficients, steps = _ns_parameters(ns_coefficients, ns_steps)
    values = check_range("rho", rho, -1.0, 1.0)
    _mean_square(rows, cols, coefficients, steps)  # refuses a zero or overflowing update
    result = _interpolate(np.abs(values), _correlation_table(rows, cols, coefficients, steps))
    result = np.sign(values) * result
    return float(result) if np.ndim(rho) == 0 else result


def _interpolate(rho: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    # Abscissa u = sqrt(1 - rho^2), increasing: node 0 is rho = 1 (ratio 1 exactly).
    u_nodes = np.concatenate(([0.0], np.sqrt(1 - _RHO_NODES[::-1] ** 2)))
    r_nodes = np.concatenate(([1.0], ratios[::-1]))
    u = np.sqrt(np.maximum(1 - rho * rho, 0.0))
    return rho * np.interp(u, u_nodes, r_nodes)


def input_correlation(momentum: Any, step: Any, lag: Any, *, nesterov: bool = True) -> Any:
    r"""Entrywise correlation of the matrices Muon orthogonalises at steps ``s`` and ``s + k``.

    .. math::

        \rho(s,k) = \frac{c_0\beta^k(a_0 + c_0 S_s)}{\sqrt{v_s v_{s+k}}},\quad
        v_s = a_0^2 + c_0^2 S_s,\quad S_s = \frac{\beta^2(1-\beta^{2(s-1)})}{1-\beta^2},

    ``(a_0, c_0) = (1-\beta^2, (1-\beta)\beta)`` with Nesterov, ``(1-\beta, 1-\beta)`` without;
    exact for Muon's EMA buffer started at zero (``step`` counts from 1). Stationary
    (``step = inf``): :math:`\beta^k` without Nesterov, :math:`\beta^k\,c_0(a_0 + c_0S)/v` with.

    Parameters
    ----------
    momentum
        :math:`\beta` in ``[0, 1)``.
    step
        ``s``, a whole number ``>= 1`` or ``inf`` (stationary).
    lag
        ``k``, a whole number ``>= 0`` (``rho(s, 0) = 1``).
    nesterov
        A bool (``TypeError`` otherwise: the string ``"False"`` is not ``False``); torch's
        default ``True``.

    Returns
    -------
    float or ndarray
        ``rho(s, k)`` in ``[0, 1]``: a Python float for scalar inputs, else an array of the
        broadcast shape of ``momentum``, ``step`` and ``lag``.

    Examples
    --------
    >>> from adamw_rms.estimators.muon import input_correlation
    >>> round(input_correlation(0.95, float("inf"), 1, nesterov=False), 12)
    0.95
    >>> round(input_correlation(0.95, float("inf"), 1), 4)  # Nesterov: less correlated
    0.7976
    """
    beta = check_range("momentum", momentum, 0.0, 1.0, high_open=True)
    s = check_range("step", step, 1.0, allow_inf=True, whole=True)
    k = check_range("lag", lag, 0.0, whole=True)
    result = _input_correlation(beta, s, k, _check_nesterov(nesterov))
    return float(result) if all(np.ndim(v) == 0 for v in (momentum, step, lag)) else result


def _weights(beta: Any, nesterov: bool) -> tuple[Any, Any]:
    return (1 - beta * beta, (1 - beta) * beta) if nesterov else (1 - beta, 1 - beta)


def _partial(beta: Any, s: Any) -> Any:
    """``S_s = sum_{i=1}^{s-1} beta^(2i)`` (``s = inf`` allowed)."""
    square = beta * beta
    with np.errstate(over="ignore", invalid="ignore"):
        power = np.where(np.isinf(s), 0.0, square ** np.maximum(np.where(np.isinf(s), 1, s) - 1, 0))
    return square * (1 - power) / (1 - square)


def _input_correlation(beta: Any, s: Any, k: Any, nesterov: bool) -> Any:
    a0, c0 = _weights(beta, nesterov)
    partial, later = _partial(beta, s), _partial(beta, s + k)
    cross = np.where(k == 0, a0 * a0 + c0 * c0 * partial, c0 * beta**k * (a0 + c0 * partial))
    variance = a0 * a0 + c0 * c0 * partial
    return cross / np.sqrt(variance * (a0 * a0 + c0 * c0 * later))


def _lag_factor(
    q: float, beta: float, steps: float, nesterov: bool, ratios: np.ndarray
) -> tuple[float, float]:
    """The bracket of the module formula as ``(w F(t), w)``; ``w = 1`` at finite ``steps``.

    At ``steps = inf`` (the limit, needs ``q > 0``) ``F = O(1/q)`` overflows for a subnormal
    ``q = lr * weight_decay`` (1e-310), so it is returned times ``w = q (2 - q)``, which is
    ``O(1)``; the caller divides ``sqrt(w)`` out of the RMS, not ``w`` out of its square.
    """
    beta3 = 1 - q
    infinite = math.isinf(steps)
    if infinite:
        diagonal = 1.0  # 1 / (q (2 - q)), times w
    elif q == 0:
        diagonal = steps
    else:
        diagonal = -math.expm1(steps * 2 * math.log1p(-q)) / (q * (2 - q))
    scale = q * (2 - q) if infinite else 1.0
    if beta == 0 or steps <= 1:  # no momentum: the EMA input of different steps is independent
        return diagonal, scale
    # Lags: |G(rho)| <= rho <= beta^k (measured G/rho < 1), each lag's weight <= beta3^k * diagonal.
    ratio = beta * beta3
    lags = math.ceil(math.log(_TOLERANCE * (1 - ratio)) / math.log(ratio))
    if not infinite:
        lags = min(lags, int(steps) - 1)
    k = np.arange(1, lags + 1, dtype=np.float64)
    stationary = _interpolate(_input_correlation(beta, np.inf, k, nesterov), ratios)
    # sum_{s=1}^{t-k} beta3^(2(t-s)-k) = beta3^k sum_{j=0}^{t-k-1} beta3^(2j)
    if infinite:  # sum_j beta3^(2j) = 1 / (q (2 - q)) = 1 / w, cancelled by the scale w
        total = float(np.sum(beta3**k * stationary))
        return diagonal + 2 * total, scale
    # Transient: S_s is within TOLERANCE of its limit after `settle` steps; the first ones
    # (s = 1..settle) are summed explicitly, the rest with the stationary G in closed form.
    settle = math.ceil(math.log(_TOLERANCE) / (2 * math.log(beta))) + 1 if beta > 0 else 1
    settle = int(min(settle, steps))
    total = 0.0
    s = np.arange(1, settle + 1, dtype=np.float64)[:, None]
    block = max(1, (1 << 20) // settle)
    for first in range(0, lags, block):
        kk = k[first : first + block][None, :]
        valid = s <= steps - kk
        exponent = np.where(valid, 2 * (steps - s) - kk, 0.0)
        early = _interpolate(_input_correlation(beta, s, kk, nesterov), ratios)
        early_stat = stationary[first : first + block][None, :]
        # Early terms as the difference from the stationary G: the closed form adds the rest.
        total += float(np.sum(np.where(valid, beta3**exponent * (early - early_stat), 0.0)))
    count = np.maximum(steps - k, 0.0)  # s = 1..t-k
    if q == 0:
        geometric = count
    else:
        geometric = -np.expm1(count * 2 * math.log1p(-q)) / (q * (2 - q))
    total += float(np.sum(beta3**k * geometric * stationary))
    return diagonal + 2 * total, scale


def muon_weight_rms(
    lr: Any,
    weight_decay: Any,
    *,
    shape: tuple[int, int],
    momentum: Any = 0.95,
    nesterov: bool = True,
    adjust_lr_fn: str | None = None,
    ns_coefficients: tuple[float, float, float] = _DEFAULT_COEFFICIENTS,
    ns_steps: int = 5,
    eps: float = 1e-7,
    steps: Any = np.inf,
    init_rms: Any = 0.0,
) -> Any:
    r"""The weight RMS of a ``shape`` parameter trained by ``torch.optim.Muon`` after ``steps``.

    Weight-decay convention (torch's Muon): ``theta <- theta (1 - lr weight_decay)`` with the
    unadjusted ``lr``, then ``theta <- theta - lr_adj O`` (:func:`adjusted_lr_ratio`), so
    :math:`\beta_3 = 1 - \eta\lambda`. Gradients: iid N(0, 1) matrices (Muon's update is
    scale-free, so any gradient scale gives the same answer while ``eps`` is negligible).

    .. math::

        \Vert\theta_t\Vert_{\mathrm{RMS}}^2 = \beta_3^{2t}\rho_0 + \eta_{\mathrm{adj}}^2
        C_0\Bigl[\sum_{s=1}^{t}\beta_3^{2(t-s)} + 2\sum_{k=1}^{t-1}\sum_{s=1}^{t-k}
        \beta_3^{2(t-s)-k}G(\rho(s,k))\Bigr]

    with ``C_0`` from :func:`update_mean_square`, ``G`` from :func:`output_correlation` and
    ``rho(s, k)`` from :func:`input_correlation`. At equilibrium the bracket is
    :math:`\frac{1 + 2\sum_k\beta_3^kG(\rho_k)}{1-\beta_3^2}`: the momentum factor is
    :math:`1 + 2\sum_k G(\rho_k)`, neither 1 nor :math:`(1+\beta)/(1-\beta)` (docs/muon.md).

    Accuracy: exact but for ``C_0``'s finite-size error (within 0.7% in the mean square from
    16 x 32 up), ``G``'s Monte Carlo and interpolation error (at most 0.003 in ``G``) and the
    optimizer's bfloat16 rounding (about 0.1%); against the real ``torch.optim.Muon``, within
    0.7% on every row of its study (docs/accuracy.md, section "Muon"; docs/muon.md).

    Cost: the first call per (shape, Newton--Schulz parameters) measures ``G``
    (:func:`output_correlation`, about 1.3 s of CPU at 512 x 512, growing as ``m^2 n``); then
    ``steps = inf`` takes well under a millisecond, and each distinct finite
    (``lr * weight_decay``, ``momentum``, ``steps``) is summed over a grid of about
    ``(400 to 500) / (1 - momentum)^2`` terms (the start-up transient times the lags), so its
    cost grows a hundredfold per factor 10 in ``1 - momentum``: measured at 16 x 16,
    ``steps = 1e5``, about 0.01 s at ``momentum = 0.95``, 0.4 s at 0.99 and 17 s of CPU (25 to
    50 s of wall time on a shared machine) at 0.999.

    Parameters
    ----------
    lr, weight_decay
        ``>= 0`` with ``lr * weight_decay < 1``; ``weight_decay = 0`` grows without bound.
    shape
        ``(rows, cols)`` of the parameter, positive ints (Muon is for 2-D matrices).
    momentum
        ``[0, 1)``.
    nesterov
        Nesterov momentum (torch's default ``True``).
    adjust_lr_fn
        ``None`` (= ``"original"``), ``"original"`` or ``"match_rms_adamw"``.
    ns_coefficients, ns_steps
        Newton--Schulz coefficients ``(a, b, c)`` (finite) and iterations (an int in
        ``[0, 100)``, torch's range).
    eps
        ``>= 0``; an :class:`~adamw_rms.AccuracyWarning` if it is not far below the update's
        Frobenius norm (then the update is not scale-free and the estimate does not apply).
    steps
        A whole number ``>= 0`` or ``inf`` (the equilibrium).
    init_rms
        RMS of the initial weights, ``>= 0``.

    Returns
    -------
    float or ndarray
        A Python float for scalar inputs, otherwise an array of the broadcast shape of ``lr``,
        ``weight_decay``, ``momentum``, ``steps`` and ``init_rms``.

    Examples
    --------
    >>> from adamw_rms.estimators import muon_weight_rms
    >>> round(muon_weight_rms(0.02, 0.1, shape=(64, 64)), 3)
    0.164
    >>> round(muon_weight_rms(0.02, 0.1, shape=(64, 64), momentum=0.0), 4)  # no momentum
    0.0346
    """
    rows, cols = _shape(shape)
    coefficients, ns_count = _ns_parameters(ns_coefficients, ns_steps)
    _check_adjust(adjust_lr_fn)
    nesterov = _check_nesterov(nesterov)
    eps_array = check_range("eps", eps, 0.0)
    if eps_array.ndim:
        raise TypeError(f"eps must be a single real number; got {eps!r}")
    eps_value = float(eps_array)
    lr_a, decay_a, q = _hyper(lr, weight_decay)
    beta_a = check_range("momentum", momentum, 0.0, 1.0, high_open=True)
    steps_a = check_range("steps", steps, 0.0, allow_inf=True, whole=True)
    init_a = check_range("init_rms", init_rms, 0.0)
    # ||U_t||_F ~ sqrt(AB v_t) >= sqrt(AB) a_0 for unit gradients; below eps NS sees a
    # shrunken matrix and the scale-free model fails.
    a0 = np.min(_weights(beta_a, bool(nesterov))[0])
    if eps_value > 1e-3 * math.sqrt(rows * cols) * float(a0):
        warnings.warn(
            f"eps={eps_value:g} is not negligible against the orthogonalised matrix's Frobenius "
            "norm (unit-variance gradients): the estimate assumes eps << ||U||_F",
            AccuracyWarning,
            stacklevel=2,
        )
    mean_square = _mean_square(rows, cols, coefficients, ns_count)
    ratios = _correlation_table(rows, cols, coefficients, ns_count)
    lr_adj = lr_a * adjusted_lr_ratio((rows, cols), adjust_lr_fn)
    shape_out = np.broadcast_shapes(*(v.shape for v in (lr_a, decay_a, beta_a, steps_a, init_a)))
    q_b, beta_b, steps_b = (np.broadcast_to(v, shape_out) for v in (q, beta_a, steps_a))
    factor, scale = np.empty(shape_out), np.empty(shape_out)
    cache: dict[tuple[float, float, float], tuple[float, float]] = {}
    for index in np.ndindex(shape_out):
        key = (float(q_b[index]), float(beta_b[index]), float(steps_b[index]))
        if key not in cache:
            q_v, beta_v, steps_v = key
            if math.isinf(steps_v) and q_v == 0:
                cache[key] = (math.inf, 1.0)
            else:
                cache[key] = _lag_factor(q_v, beta_v, steps_v, nesterov, ratios)
        factor[index], scale[index] = cache[key]
    with np.errstate(over="ignore", invalid="ignore"):
        decay_power = np.where(
            np.isinf(steps_a), 0.0, (1 - q) ** np.where(np.isinf(steps_a), 0, steps_a)
        )
        # The RMS, not its square: lr_adj^2 underflows at lr = 1e-300 and F/w overflows at a
        # subnormal lr * weight_decay, though the RMS itself is an ordinary float. An RMS past
        # float64's range (lr = 1e308, lr * weight_decay = 1e-12) is inf.
        fluctuation = np.where(
            lr_adj > 0, lr_adj * np.sqrt(mean_square * factor) / np.sqrt(scale), 0.0
        )
        result = np.hypot(decay_power * init_a, fluctuation)
    # lr = 0 with no decay forever: nothing moves, the weights keep their initial RMS.
    result = np.where((lr_adj == 0) & np.isinf(steps_a), np.where(q == 0, init_a, 0.0), result)
    return _output(result, lr, weight_decay, momentum, steps, init_rms)

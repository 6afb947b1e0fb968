"""One configuration for every engine: the optimizer, the gradient model and what to record."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np

__all__ = ["DECOUPLED_RULES", "SGD_OPTIONS", "UPDATE_RULES", "SimulationConfig"]

UPDATE_RULES = ("adamw", "sign_sgdm", "lion", "sgd", "adam_l2")
#: The rules whose weight decay is decoupled: ``theta_t = (1 - lr_t wd_t) theta_{t-1} - lr_t u_t``
#: (``"sgd"`` too with ``decoupled=True``); the others add ``wd theta`` to the gradient.
DECOUPLED_RULES = ("adamw", "sign_sgdm", "lion")
#: The rules whose update is a sign (an all-zero gradient makes it 0/0-like: refused).
SIGN_RULES = ("sign_sgdm", "lion")
DTYPES = ("float64", "float32")
#: PyTorch SGD's options, with their defaults: only ``update="sgd"`` takes other values.
SGD_OPTIONS = {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "decoupled": False}


def _schedule(name: str, value: Any, steps: int) -> float | np.ndarray:
    """A positive-definite scalar, or a read-only float64 array of one value per step."""
    if np.ndim(value) == 0:
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{name} must be a real number or one per step; got {value!r}"
            ) from error
        if not (math.isfinite(number) and number >= 0):
            raise ValueError(f"{name} must be in [0, inf); got {number!r}")
        return number
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a real number or one per step; got {value!r}") from error
    if array.ndim != 1 or array.size != steps:
        raise ValueError(
            f"{name} as a schedule must be 1-D with one value per step ({steps}); "
            f"got shape {array.shape}"
        )
    bad = ~(np.isfinite(array) & (array >= 0))
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{name} must be in [0, inf); got {array[index]!r} at step {index + 1}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SimulationConfig:
    r"""AdamW, SignSGDMW, Lion, SGD or Adam with L2 on synthetic iid Gaussian gradients.

    Every coordinate runs the same optimizer on its own gradient stream
    :math:`g_t \sim \mathcal N(\mu, \sigma^2)`, iid over steps and coordinates, so the
    coordinates are independent samples and the weight RMS over them carries a standard error.
    The update rule, in PyTorch's order (``torch.optim.AdamW``)::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t          v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        u_t = (m_t / c1) / (sqrt(v_t) / sqrt(c2) + eps)  with c1 = 1 - beta1^t, c2 = 1 - beta2^t
                                                         (c1 = c2 = 1 without bias correction)
        theta_t = (1 - lr_t weight_decay_t) theta_{t-1} - lr_t u_t

    and for the other rules (``update=``)::

        "sign_sgdm"  u_t = sign(m_t)                      (beta2, eps, bias correction unused)
        "lion"       c_t = beta1 m_{t-1} + (1 - beta1) g_t,   u_t = sign(c_t),
                     m_t = beta2 m_{t-1} + (1 - beta2) g_t    (eps, bias correction unused)
                     theta_t = (1 - lr_t weight_decay_t) theta_{t-1} - lr_t u_t
        "sgd"        torch.optim.SGD (betas, eps, bias correction unused):
                     g'_t = g_t + weight_decay_t theta_{t-1}   (coupled, the default)
                     g'_t = g_t                                 (decoupled=True)
                     b_1 = g'_1,  b_t = momentum b_{t-1} + (1 - dampening) g'_t
                     u_t = g'_t + momentum b_t (nesterov), b_t (momentum > 0), g'_t (momentum 0)
                     theta_t = theta_{t-1} - lr_t u_t                      (coupled)
                     theta_t = (1 - lr_t weight_decay_t) theta_{t-1} - lr_t u_t  (decoupled)
        "adam_l2"    torch.optim.Adam(weight_decay=...): Adam's m, v, bias correction and eps
                     on g'_t = g_t + weight_decay_t theta_{t-1};
                     theta_t = theta_{t-1} - lr_t u_t    (no decoupled decay)

    Weight-decay convention: the decay per step is ``lr_t * weight_decay_t``, as in PyTorch
    and the source (:math:`\beta_3 = 1 - \eta\lambda`), applied to the weights (``"adamw"``,
    ``"sign_sgdm"``, ``"lion"``, decoupled ``"sgd"``) or, coupled (L2), added to the gradient
    as ``weight_decay * theta`` (``"sgd"``, ``"adam_l2"``). The recorded update ``u_t`` is the
    step without the decoupled decay, as written above: for the coupled rules it includes the
    L2 term. ``lr * weight_decay < 1`` keeps the coupled recursions contracting too (SGD's
    heavy ball and Nesterov with ``momentum < 1`` included), so no run diverges; an overflow
    (e.g. from an enormous ``grad_std``) raises ``OverflowError`` instead of returning ``inf``.

    Parameters
    ----------
    lr, weight_decay
        A number, or a schedule: one value per step (``steps`` values, step 1 first).
        ``lr * weight_decay`` must stay in ``[0, 1)`` at every step.
    beta1, beta2
        Momentum and second-moment decay, each in ``[0, 1)``.
    eps
        Added to the denominator, ``>= 0``. ``eps=0`` needs ``grad_std > 0`` or
        ``grad_mean != 0`` (else ``0/0``).
    bias_correction
        Adam's bias correction (PyTorch always applies it; the source's script does not).
    steps
        Number of optimizer steps, ``>= 1``.
    n
        Number of coordinates (independent samples), ``>= 2``.
    grad_mean, grad_std
        :math:`\mu` and :math:`\sigma` of every coordinate's gradient, so
        ``snr = grad_mean**2 / grad_std**2``.
    init_rms
        :math:`\theta_0 = \mathrm{init\_rms}\cdot\mathcal N(0, 1)` per coordinate (the source's
        ``0.1 * randn``), ``>= 0``.
    seed
        Seed of the engine's random numbers, an integer in ``[0, 2**63)``.
    dtype
        ``"float64"`` or ``"float32"`` for the optimizer state.
    record_steps
        Steps at which the weight RMS is recorded, each in ``[0, steps]`` (0 is the
        initialisation); sorted and de-duplicated. Default: the last step only.
    update_window
        The update RMS is averaged over the last ``update_window`` steps (default: the second
        half of the run), each coordinate's mean of :math:`u^2` first.
    update
        ``"adamw"``, ``"sign_sgdm"``, ``"lion"``, ``"sgd"`` or ``"adam_l2"``.
    momentum, dampening, nesterov, decoupled
        ``update="sgd"`` only (PyTorch's SGD options and defaults): ``momentum`` in ``[0, 1)``,
        ``dampening`` in ``[0, 1]``; ``nesterov=True`` needs ``momentum > 0`` and
        ``dampening = 0``, as in PyTorch; ``decoupled=True`` decays the weights by
        ``1 - lr weight_decay`` instead of adding ``weight_decay * theta`` to the gradient.

    Examples
    --------
    >>> from adamw_rms.simulation import SimulationConfig
    >>> config = SimulationConfig(lr=1e-3, weight_decay=0.1, steps=1000, n=100, grad_mean=0.5)
    >>> config.snr
    0.25
    >>> config.record_steps
    (1000,)
    >>> SimulationConfig(lr=1e-3, weight_decay=0.1, beta1=1.0)
    Traceback (most recent call last):
    ...
    ValueError: beta1 must be in [0, 1); got 1.0
    >>> SimulationConfig(update="sgd", momentum=0.9, nesterov=True).decoupled_decay
    False
    >>> SimulationConfig(update="adamw", momentum=0.9)
    Traceback (most recent call last):
    ...
    ValueError: momentum applies to update='sgd' only; got momentum=0.9 with update='adamw'
    """

    lr: float | np.ndarray = 1e-3
    weight_decay: float | np.ndarray = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    bias_correction: bool = True
    steps: int = 1000
    n: int = 10_000
    grad_mean: float = 0.0
    grad_std: float = 1.0
    init_rms: float = 0.0
    seed: int = 0
    dtype: Literal["float64", "float32"] = "float64"
    record_steps: tuple[int, ...] | None = None
    update_window: int | None = None
    update: Literal["adamw", "sign_sgdm", "lion", "sgd", "adam_l2"] = "adamw"
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    decoupled: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("steps", "n", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{name} must be an integer; got {value!r}")
            set_(self, name, int(value))
        if self.steps < 1:
            raise ValueError(f"steps must be in [1, inf); got {self.steps}")
        if self.n < 2:
            raise ValueError(f"n must be in [2, inf) (a standard error needs two); got {self.n}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63); got {self.seed}")
        for name, low, high in (
            ("beta1", 0.0, 1.0),
            ("beta2", 0.0, 1.0),
        ):
            value = self._real(name)
            if not low <= value < high:
                raise ValueError(f"{name} must be in [{low:g}, {high:g}); got {value!r}")
        for name in ("eps", "grad_std", "init_rms"):
            value = self._real(name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be in [0, inf); got {value!r}")
        mean = self._real("grad_mean")
        if not math.isfinite(mean):
            raise ValueError(f"grad_mean must be a finite real number; got {mean!r}")
        if self.update not in UPDATE_RULES:
            raise ValueError(f"update must be one of {UPDATE_RULES}; got {self.update!r}")
        # A sign of an all-zero momentum, and Adam's 0/0 with eps = 0, are meaningless; SGD's
        # update is linear in the gradient and takes zero gradients (pure decay) as they are.
        adam = self.update in ("adamw", "adam_l2")
        meaningless = self.update in SIGN_RULES or (adam and self.eps == 0)
        if self.grad_std == 0 and mean == 0 and meaningless:
            raise ValueError(
                "grad_std and grad_mean are both 0: every gradient is 0"
                + (" and eps = 0 gives u = 0/0" if adam else "")
                + "; give grad_std > 0 or grad_mean != 0"
            )
        for name in ("bias_correction", "nesterov", "decoupled"):
            value = getattr(self, name)
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"{name} must be True or False; got {value!r}")
            set_(self, name, bool(value))
        for name, high in (("momentum", 1.0), ("dampening", 1.0)):
            value = self._real(name)
            # momentum >= 1 never forgets a gradient (the buffer's variance grows without bound).
            inside = value < high if name == "momentum" else value <= high
            if not (value >= 0 and inside):
                closing = ")" if name == "momentum" else "]"
                raise ValueError(f"{name} must be in [0, {high:g}{closing}; got {value!r}")
        if self.update != "sgd":
            for name, default in SGD_OPTIONS.items():
                if getattr(self, name) != default:
                    raise ValueError(
                        f"{name} applies to update='sgd' only; got {name}={getattr(self, name)!r} "
                        f"with update={self.update!r}"
                    )
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0 (as torch.optim.SGD); got "
                f"momentum={self.momentum!r}, dampening={self.dampening!r}"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}; got {self.dtype!r}")
        set_(self, "lr", _schedule("lr", self.lr, self.steps))
        set_(self, "weight_decay", _schedule("weight_decay", self.weight_decay, self.steps))
        decay = self.lr_per_step() * self.weight_decay_per_step()
        if decay.max() >= 1:
            index = int(np.argmax(decay >= 1))
            raise ValueError(
                f"lr * weight_decay must be in [0, 1); got {decay[index]!r} at step {index + 1}"
            )
        # Remember which fields took their default, so that replace(steps=...) recomputes them.
        set_(
            self,
            "_defaulted",
            frozenset(
                name for name in ("record_steps", "update_window") if getattr(self, name) is None
            ),
        )
        set_(self, "record_steps", self._record_steps())
        window = self.steps - self.steps // 2 if self.update_window is None else self.update_window
        if isinstance(window, bool) or not isinstance(window, int | np.integer):
            raise ValueError(f"update_window must be an integer; got {window!r}")
        if not 1 <= window <= self.steps:
            raise ValueError(f"update_window must be in [1, {self.steps}]; got {window}")
        set_(self, "update_window", int(window))

    def _real(self, name: str) -> float:
        value = getattr(self, name)
        if isinstance(value, bool) or np.ndim(value) != 0:
            raise ValueError(f"{name} must be a real number; got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be a real number; got {value!r}") from error
        if math.isnan(number):
            raise ValueError(f"{name} must be a real number; got nan")
        object.__setattr__(self, name, number)
        return number

    def _record_steps(self) -> tuple[int, ...]:
        if self.record_steps is None:
            return (self.steps,)
        try:
            values = [int(s) for s in self.record_steps]
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"record_steps must be integers in [0, {self.steps}]; got {self.record_steps!r}"
            ) from error
        if not values:
            raise ValueError("record_steps must name at least one step")
        for s, raw in zip(values, self.record_steps, strict=True):
            if s != raw or not 0 <= s <= self.steps:
                raise ValueError(f"record_steps must be integers in [0, {self.steps}]; got {raw!r}")
        return tuple(sorted(set(values)))

    # ---- derived quantities -------------------------------------------------------------------

    @property
    def snr(self) -> float:
        """``grad_mean**2 / grad_std**2`` (``inf`` for noiseless gradients)."""
        if self.grad_std == 0:
            return math.inf
        return self.grad_mean**2 / self.grad_std**2

    @property
    def decoupled_decay(self) -> bool:
        """Whether the weights decay by ``1 - lr_t weight_decay_t`` each step (else the decay
        is L2, ``weight_decay * theta`` added to the gradient: coupled ``"sgd"``,
        ``"adam_l2"``)."""
        return self.update in DECOUPLED_RULES or (self.update == "sgd" and self.decoupled)

    @property
    def has_schedule(self) -> bool:
        """Whether ``lr`` or ``weight_decay`` varies per step."""
        return np.ndim(self.lr) == 1 or np.ndim(self.weight_decay) == 1

    def lr_per_step(self) -> np.ndarray:
        """``lr`` at steps ``1..steps`` as a float64 array."""
        return np.broadcast_to(np.asarray(self.lr, dtype=np.float64), (self.steps,))

    def weight_decay_per_step(self) -> np.ndarray:
        """``weight_decay`` at steps ``1..steps`` as a float64 array."""
        return np.broadcast_to(np.asarray(self.weight_decay, dtype=np.float64), (self.steps,))

    def replace(self, **changes: Any) -> SimulationConfig:
        """A copy with ``changes`` applied (and validated again).

        ``record_steps`` and ``update_window`` that took their defaults are recomputed for the
        new ``steps``.
        """
        for name in self._defaulted:
            changes.setdefault(name, None)
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; a schedule is summarised by its first, last, min and max."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = {
                    "schedule": True,
                    "first": float(value[0]),
                    "last": float(value[-1]),
                    "min": float(value.min()),
                    "max": float(value.max()),
                }
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        out["snr"] = self.snr
        return out

    @classmethod
    def source(cls, **changes: Any) -> SimulationConfig:
        """The source's simulation script: 10⁴ coordinates, 10⁵ steps, no bias correction.

        ``beta = (0.9, 0.95)``, ``lr = 1e-3``, ``weight_decay = 0.1``, ``eps = 0``,
        ``theta_0 = 0.1 * randn``, ``g ~ N(0, 1)``; it prints about ``0.0707``.

        Examples
        --------
        >>> from adamw_rms.simulation import SimulationConfig
        >>> config = SimulationConfig.source(steps=2000)
        >>> config.n, config.steps, config.beta2, config.eps, config.bias_correction
        (10000, 2000, 0.95, 0.0, False)
        """
        settings: dict[str, Any] = {
            "lr": 1e-3,
            "weight_decay": 0.1,
            "beta1": 0.9,
            "beta2": 0.95,
            "eps": 0.0,
            "bias_correction": False,
            "steps": 100_000,
            "n": 10_000,
            "grad_mean": 0.0,
            "grad_std": 1.0,
            "init_rms": 0.1,
        }
        settings.update(changes)
        return cls(**settings)

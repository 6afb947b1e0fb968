"""The readable reference update: one optimizer step over all coordinates, in NumPy.

The NumPy engine (:mod:`.numpy_engine`) and the TUC replay (:mod:`.tuc`) both step with these
functions, and the compiled kernels (:mod:`.kernels`) evaluate the very same expressions in the
same order, so in counter mode every engine gives these numbers bit for bit (tested).

The update, in PyTorch's order (``torch.optim.AdamW``)::

    m = beta1 m + (1 - beta1) g        v = beta2 v + (1 - beta2) g^2
    u = (m c1) / (sqrt(v) c2 + eps)    (c1 = 1/(1 - beta1^t), c2 = 1/sqrt(1 - beta2^t),
                                        both 1 without bias correction)
    theta = theta - lr (u + weight_decay theta)

and for SignSGDM ``u = sign(m)``. The other rules of :class:`.SimulationConfig`:

* Lion (:func:`lion_step`): ``u = sign(beta1 m + (1 - beta1) g)``, then
  ``m = beta2 m + (1 - beta2) g``; the weights as AdamW's (:func:`weight_step`).
* SGD (:func:`coupled_gradient`, :func:`sgd_step`): ``b = a_t b + c_t g'`` with
  ``(a_1, c_1) = (0, 1)`` (PyTorch's ``b_1 = g'_1``: exactly ``0 * 0 + 1 * g'``) and
  ``(momentum, 1 - dampening)`` after; ``u = g' + momentum b`` (Nesterov), ``b``, or ``g'``
  without momentum; coupled ``theta - lr u`` (:func:`descent_step`), decoupled
  :func:`weight_step`.
* Adam with L2: :func:`adamw_step` on ``g' = g + weight_decay theta``, then
  :func:`descent_step`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "Betas",
    "adamw_step",
    "coupled_gradient",
    "descent_step",
    "lion_step",
    "moments_step",
    "sgd_buffer_terms",
    "sgd_step",
    "sign_step",
    "weight_step",
]


class Betas(NamedTuple):
    """``beta1``, ``1 - beta1``, ``beta2``, ``1 - beta2`` and 1, each in the state's dtype."""

    beta1: np.floating
    one_minus_beta1: np.floating
    beta2: np.floating
    one_minus_beta2: np.floating
    one: np.floating

    @classmethod
    def of(cls, beta1: float, beta2: float, dtype: np.dtype) -> Betas:
        """The five numbers as every engine forms them: rounded to ``dtype`` first."""
        one = dtype.type(1)
        b1, b2 = dtype.type(beta1), dtype.type(beta2)
        return cls(b1, one - b1, b2, one - b2, one)

    def array(self) -> np.ndarray:
        """The numbers as one array of the state's dtype (what the compiled kernels take)."""
        return np.array(self, dtype=type(self.one))


def moments_step(
    gradient: np.ndarray, momentum: np.ndarray, second: np.ndarray, betas: Betas
) -> tuple[np.ndarray, np.ndarray]:
    """Adam's two moving averages after ``gradient``: ``(m, v)``."""
    momentum = betas.beta1 * momentum + betas.one_minus_beta1 * gradient
    second = betas.beta2 * second + betas.one_minus_beta2 * (gradient * gradient)
    return momentum, second


def adamw_step(
    gradient: np.ndarray,
    momentum: np.ndarray,
    second: np.ndarray,
    betas: Betas,
    inverse_bias1: np.floating,
    inverse_bias2_sqrt: np.floating,
    eps: np.floating,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam's moving averages after ``gradient``, and the update: ``(m, v, u)``."""
    momentum, second = moments_step(gradient, momentum, second, betas)
    update = (momentum * inverse_bias1) / (np.sqrt(second) * inverse_bias2_sqrt + eps)
    return momentum, second, update


def sign_step(
    gradient: np.ndarray, momentum: np.ndarray, betas: Betas
) -> tuple[np.ndarray, np.ndarray]:
    """The momentum after ``gradient`` and the sign update: ``(m, sign(m))``."""
    momentum = betas.beta1 * momentum + betas.one_minus_beta1 * gradient
    return momentum, np.sign(momentum)


def weight_step(
    weights: np.ndarray, update: np.ndarray, lr: np.floating, weight_decay: np.floating
) -> np.ndarray:
    """``theta - lr (u + weight_decay theta)``: decoupled weight decay in PyTorch's order."""
    return weights - lr * (update + weight_decay * weights)


def lion_step(
    gradient: np.ndarray, momentum: np.ndarray, betas: Betas
) -> tuple[np.ndarray, np.ndarray]:
    """Lion's momentum after ``gradient`` and its update: ``(m, sign(c))`` with the
    interpolation ``c = beta1 m + (1 - beta1) g`` taken with the old ``m``."""
    interpolated = betas.beta1 * momentum + betas.one_minus_beta1 * gradient
    momentum = betas.beta2 * momentum + betas.one_minus_beta2 * gradient
    return momentum, np.sign(interpolated)


def coupled_gradient(
    gradient: np.ndarray, weights: np.ndarray, weight_decay: np.floating
) -> np.ndarray:
    """``g + weight_decay theta``: L2 weight decay added to the gradient (PyTorch's
    ``grad.add(param, alpha=weight_decay)``)."""
    return gradient + weight_decay * weights


def sgd_buffer_terms(
    momentum: float, dampening: float, steps: int, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the buffer's decay ``a_t`` and the gradient's gain ``c_t`` in the state's dtype:
    ``(0, 1)`` at step 1 (PyTorch starts the buffer at the gradient), then
    ``(momentum, 1 - dampening)``."""
    one = dtype.type(1)
    decay = np.full(steps, dtype.type(momentum), dtype=dtype)
    gain = np.full(steps, one - dtype.type(dampening), dtype=dtype)
    decay[0], gain[0] = 0, one
    return decay, gain


def sgd_step(
    gradient: np.ndarray,
    buffer: np.ndarray,
    buffer_decay: np.floating,
    gradient_gain: np.floating,
    momentum: np.floating,
    nesterov: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch SGD's momentum buffer after ``gradient`` (already coupled with the decay if it
    is), and the direction: ``(b, g + momentum b)`` with Nesterov, ``(b, b)`` with momentum,
    ``(b, g)`` without (``momentum == 0``: the buffer is not used)."""
    if momentum == 0:
        return buffer, gradient
    buffer = buffer_decay * buffer + gradient_gain * gradient
    return buffer, (gradient + momentum * buffer) if nesterov else buffer


def descent_step(weights: np.ndarray, update: np.ndarray, lr: np.floating) -> np.ndarray:
    """``theta - lr u``: the step of the coupled rules (the decay is inside ``u``)."""
    return weights - lr * update

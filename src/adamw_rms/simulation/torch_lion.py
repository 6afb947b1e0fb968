r"""Lion as a ``torch.optim.Optimizer`` (torch has none): the paper's rule, as the common
packages write it (extra ``torch``).

Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023), Program 1, with the
decoupled weight decay applied first, as in ``lion-pytorch`` and ``optax.lion``::

    theta <- theta (1 - lr weight_decay)
    c     =  beta1 m + (1 - beta1) g
    theta <- theta - lr sign(c)
    m     <- beta2 m + (1 - beta2) g

The decay multiplies the weights before the step; the step does not depend on the weights, so
the order changes nothing but rounding. Weight-decay convention: the decay per step is
``lr * weight_decay`` (PyTorch's, as :class:`torch.optim.AdamW`), so the paper's advice of a
3-10x smaller ``lr`` than AdamW's and a 3-10x larger ``weight_decay`` keeps ``lr *
weight_decay`` the same.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Lion"]


class Lion(torch.optim.Optimizer):
    r"""The Lion optimizer: the sign of an interpolated momentum, decoupled weight decay.

    .. math::

        \theta_t = (1 - \eta\lambda)\theta_{t-1}
                   - \eta\,\mathrm{sign}\bigl(\beta_1 m_{t-1} + (1-\beta_1) g_t\bigr),
        \qquad m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t,

    :math:`m_0 = 0`. Defaults as in ``lion-pytorch``: ``lr=1e-4``, ``betas=(0.9, 0.99)``,
    ``weight_decay=0``.

    Parameters
    ----------
    params
        Parameters or parameter groups, as for any ``torch.optim.Optimizer``.
    lr
        Learning rate :math:`\eta`, ``>= 0``.
    betas
        :math:`(\beta_1, \beta_2)`, each in ``[0, 1]``: the interpolation of the update and the
        decay of the momentum.
    weight_decay
        :math:`\lambda`, ``>= 0``; the weights shrink by ``1 - lr * weight_decay`` per step.

    Examples
    --------
    >>> import torch
    >>> from adamw_rms.simulation.torch_lion import Lion
    >>> p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    >>> opt = Lion([p], lr=0.1, betas=(0.5, 0.75), weight_decay=1.0)
    >>> p.grad = torch.tensor([3.0, 0.0], dtype=torch.float64)
    >>> opt.step()
    >>> p.detach().tolist()                 # (1 - 0.1) p - 0.1 sign(0.5 g)
    [0.8, -1.8]
    >>> opt.state[p]["exp_avg"].tolist()    # 0.25 g
    [0.75, 0.0]
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ) -> None:
        if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be in [0, inf); got {lr!r}")
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError) as error:
            raise ValueError(f"betas must be a pair (beta1, beta2); got {betas!r}") from error
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not (isinstance(beta, numbers.Real) and 0.0 <= beta <= 1.0):
                raise ValueError(f"{name} must be in [0, 1]; got {beta!r}")
        if not (
            isinstance(weight_decay, numbers.Real) and math.isfinite(weight_decay)
            and weight_decay >= 0
        ):  # fmt: skip
            raise ValueError(
                f"weight_decay must be a real number in [0, inf); got {weight_decay!r}"
            )
        defaults = {"lr": lr, "betas": (beta1, beta2), "weight_decay": weight_decay}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One Lion step for every parameter with a gradient; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, weight_decay = group["lr"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad
                if grad.is_sparse:
                    raise RuntimeError("Lion does not support sparse gradients")
                state = self.state[param]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                exp_avg = state["exp_avg"]
                param.mul_(1 - lr * weight_decay)
                update = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1).sign_()
                param.add_(update, alpha=-lr)
                exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)
        return loss

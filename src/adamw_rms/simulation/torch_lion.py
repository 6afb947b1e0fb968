"""Lion as a :class:`torch.optim.Optimizer` (torch has none), written as its paper states it.

Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023, arXiv:2302.06675), program 1,
with the decoupled weight decay applied first, as lucidrains' ``lion-pytorch`` and ``timm`` do::

    theta <- theta * (1 - lr * weight_decay)
    c     <- beta1 * m + (1 - beta1) * g
    theta <- theta - lr * sign(c)
    m     <- beta2 * m + (1 - beta2) * g          (m starts at 0)

``torch.sign`` is 0 at an exact zero, as in those implementations; for continuous gradients that
has probability 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["Lion"]


class Lion(torch.optim.Optimizer):
    """Lion with decoupled weight decay (decay per step ``lr * weight_decay``).

    Parameters
    ----------
    params
        Parameters or parameter groups, as for any :class:`torch.optim.Optimizer`.
    lr
        Learning rate, ``> 0``.
    betas
        ``(beta1, beta2)``: the interpolation rate of the update and the momentum's EMA rate,
        each in ``[0, 1)``.
    weight_decay
        Decoupled weight decay, ``>= 0``: each step multiplies the weights by
        ``1 - lr * weight_decay`` before the sign step.

    Examples
    --------
    >>> import torch
    >>> from adamw_rms.simulation.torch_lion import Lion
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> opt = Lion([w], lr=0.1, weight_decay=0.0)
    >>> w.grad = torch.tensor([1.0, -2.0, 0.5])
    >>> opt.step()
    >>> w.detach().tolist()
    [-0.10000000149011612, 0.10000000149011612, -0.10000000149011612]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ) -> None:
        if not lr > 0.0:
            raise ValueError(f"lr must be > 0; got {lr!r}")
        for name, beta in zip(("beta1", "beta2"), betas, strict=True):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {beta!r}")
        if not weight_decay >= 0.0:
            raise ValueError(f"weight_decay must be >= 0; got {weight_decay!r}")
        if not lr * weight_decay < 1.0:
            raise ValueError(f"lr * weight_decay must be in [0, 1); got {lr * weight_decay!r}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                momentum = state["exp_avg"]
                p.mul_(1 - lr * decay)  # decoupled decay first
                update = momentum.mul(beta1).add_(p.grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-lr)
                momentum.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss

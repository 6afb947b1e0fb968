"""Which update rule a param group follows, read from the optimizer's class and the group.

The monitor writes every step as :math:`\\theta_t = \\beta_{3,t}\\,\\theta_{t-1} - \\eta_t u_t`,
with :math:`\\eta_t` the group's ``lr`` at that step. Where the optimizer decouples the weight
decay (``AdamW``, ``Adam(decoupled_weight_decay=True)``, ``Muon``: the weights are first
multiplied by ``1 - lr * weight_decay``) :math:`\\beta_{3,t} = 1 - \\eta_t\\lambda_t` and
:math:`u_t` is the optimizer's own update. Where the decay is an L2 term added to the gradient
(``Adam`` by default, ``SGD``) it passes through the optimizer's state, so it cannot be split
from the update: :math:`\\beta_{3,t} = 1` and :math:`u_t` contains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["GroupRule", "group_rule"]

#: The optimizer classes the monitor knows, by the name of the rule it reports.
KNOWN = ("adamw", "adam_l2", "sgd", "muon")


@dataclass(frozen=True)
class GroupRule:
    """How one param group updates its weights.

    Attributes
    ----------
    name
        ``"adamw"`` (decoupled Adam, also ``Adam`` with ``weight_decay=0``), ``"adam_l2"``,
        ``"sgd"`` or ``"muon"``.
    decoupled
        Whether :math:`\\beta_3 = 1 - \\eta\\lambda` (the decay applied to the weights directly).
    beta1
        The momentum of the update's EMA (Adam's ``betas[0]``, SGD's and Muon's ``momentum``).
    has_iid_theory
        Whether the package has this rule's iid weight RMS along a schedule (AdamW's mean field,
        eq. theta-rms): the report's iid columns and factors exist only then.
    """

    name: str
    decoupled: bool
    beta1: float
    has_iid_theory: bool

    def decay_factor(self, lr: float, weight_decay: float) -> float:
        """:math:`\\beta_3` of one step."""
        return 1.0 - lr * weight_decay if self.decoupled else 1.0


def _float(value: Any) -> float:
    # A tensor lr (capturable optimizers) is read once per step; float() of a Python number is
    # free.
    return float(value)


def group_rule(optimizer: Any, group: dict[str, Any]) -> GroupRule:
    """The :class:`GroupRule` of ``group`` of ``optimizer``.

    Raises
    ------
    TypeError
        For an optimizer class the monitor does not know (the message lists the known ones).
    """
    import torch

    if isinstance(optimizer, torch.optim.Adam):  # AdamW subclasses Adam in torch >= 2.6
        if group.get("amsgrad"):
            raise TypeError("WeightRMSMonitor: amsgrad is not supported (no iid theory for it)")
        decoupled = bool(group.get("decoupled_weight_decay", False)) or isinstance(
            optimizer, torch.optim.AdamW
        )
        beta1 = _float(group["betas"][0])
        if decoupled:
            return GroupRule("adamw", True, beta1, True)
        if _float(group.get("weight_decay", 0.0)) == 0.0:
            # Without decay the two Adams are the same rule; beta3 = 1 stays right (and exact)
            # should a scheduler raise the decay later, only the iid columns would not apply.
            return GroupRule("adamw", False, beta1, True)
        return GroupRule("adam_l2", False, beta1, False)
    if isinstance(optimizer, torch.optim.AdamW):  # torch < 2.6: AdamW is its own class
        return GroupRule("adamw", True, _float(group["betas"][0]), True)
    if isinstance(optimizer, torch.optim.SGD):
        return GroupRule("sgd", False, _float(group.get("momentum", 0.0)), False)
    muon = getattr(torch.optim, "Muon", None)
    if muon is not None and isinstance(optimizer, muon):
        return GroupRule("muon", True, _float(group.get("momentum", 0.95)), False)
    raise TypeError(
        f"WeightRMSMonitor does not know {type(optimizer).__name__}; it reads the update rule "
        "of torch.optim.AdamW, Adam, SGD and Muon"
    )

"""What the monitor has recorded, on the host, as NumPy arrays: the input of report and forecast.

A :class:`RunHistory` holds, for ``T`` steps and ``n`` tensors: every step's learning rate and
weight decay per param group, which tensors the optimizer skipped (no grad), the sampled steps
and their sums (:data:`~adamw_rms.torch.recorder.STATISTICS`). From them it derives the
per-step quantities of the identity
:math:`\\rho_t = \\beta_{3,t}^2\\rho_{t-1} - 2\\beta_{3,t}\\eta_t\\langle\\theta_{t-1},u_t\\rangle
+ \\eta_t^2\\langle u_t^2\\rangle` (:math:`\\rho` the mean square of a tensor, :math:`\\langle\\cdot
\\rangle` a mean over its elements).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .rules import GroupRule

__all__ = ["RunHistory"]


@dataclass
class RunHistory:
    """The recorded run (all arrays float64 unless stated).

    Attributes
    ----------
    names
        The tensors' names (``model.named_parameters()``), the columns of every array.
    sizes
        Elements per tensor.
    shapes
        Each tensor's shape.
    group
        The param group of each tensor (int).
    rules
        One :class:`~adamw_rms.torch.rules.GroupRule` per param group.
    lr, weight_decay
        ``(T, groups)``: the values each step ran with.
    skipped
        ``(T, n)`` bool: the tensor had no grad at that step (the optimizer left it alone).
    sampled
        The sampled steps (1-based, increasing); ``every`` the sampling period.
    sums
        ``(len(sampled), 4, n)``: the sums of :data:`~adamw_rms.torch.recorder.STATISTICS`.
    first_step
        Adam's step count of each tensor before the first monitored step, for the iid bias of
        the EMA; left out: 0 for every tensor (a fresh optimizer).
    """

    names: list[str]
    sizes: np.ndarray
    shapes: list[tuple[int, ...]]
    group: np.ndarray
    rules: list[GroupRule]
    lr: np.ndarray
    weight_decay: np.ndarray
    skipped: np.ndarray
    sampled: np.ndarray
    sums: np.ndarray
    every: int
    first_step: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        # The empty default stands for a fresh optimizer; it is widened to one count per tensor
        # so that the iid terms broadcast against the (T, n) arrays.
        if np.size(self.first_step) == 0:
            self.first_step = np.zeros(len(self.names))

    @property
    def steps(self) -> int:
        """Steps recorded."""
        return int(self.lr.shape[0])

    def per_tensor(self, values: np.ndarray) -> np.ndarray:
        """A ``(T, groups)`` array spread to ``(T, n)`` by each tensor's group."""
        return values[:, self.group]

    def per_rule(self, attribute: str) -> np.ndarray:
        """``(n,)``: each tensor's group rule's ``attribute`` (``"decoupled"``, ``"beta1"``)."""
        return np.array([getattr(rule, attribute) for rule in self.rules])[self.group]

    def step_lr(self) -> np.ndarray:
        """``(T, n)``: :math:`\\eta_t` per tensor, 0 where the tensor was skipped."""
        return np.where(self.skipped, 0.0, self.per_tensor(self.lr))

    def decay_factor(self) -> np.ndarray:
        """``(T, n)``: :math:`\\beta_{3,t}` per tensor (1 where skipped or the decay is L2)."""
        decoupled = self.per_rule("decoupled")
        product = self.per_tensor(self.lr) * self.per_tensor(self.weight_decay)
        return np.where(self.skipped | ~decoupled, 1.0, 1.0 - product)

    def sample_means(self) -> dict[str, np.ndarray]:
        """Per sampled step ``(S, n)``: the means :math:`\\rho_{t-1}`, :math:`\\rho_t`,
        :math:`\\eta_t^2\\langle u_t^2\\rangle` and
        :math:`\\eta_t\\langle\\theta_{t-1},u_t\\rangle`."""
        means = self.sums / self.sizes
        return {
            "rho_before": means[:, 0],
            "rho_after": means[:, 3],
            "drive_sq": means[:, 2],
            "theta_dot_step": means[:, 1],
        }

    def held_per_step(self, values: np.ndarray) -> np.ndarray:
        """``(S, n)`` sampled values held over the steps each sample stands for: ``(T, n)``."""
        index = np.searchsorted(self.sampled, np.arange(1, self.steps + 1), side="right") - 1
        return values[np.maximum(index, 0)]

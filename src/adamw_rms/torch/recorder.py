"""The per-step statistics, computed on the parameters' device without a host synchronisation.

At a sampled step the pre-step hook copies the weights :math:`\\theta_{t-1}` (one snapshot buffer
per tensor, reused: no history is kept on the device), and the post-step hook forms
:math:`d = \\beta_3\\theta_{t-1} - \\theta_t = \\eta_t u_t` and four sums per tensor:
:math:`\\sum\\theta_{t-1}^2`, :math:`\\sum\\theta_{t-1} d`, :math:`\\sum d^2`,
:math:`\\sum\\theta_t^2`.
They are stacked into one small tensor per device and step and moved to the host in chunks
(one copy per :data:`CHUNK` sampled steps), so a CUDA run never waits on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["CHUNK", "STATISTICS", "StepRecorder"]

#: The sums recorded per tensor and sampled step, in this order.
STATISTICS = ("theta_sq", "theta_dot_d", "d_sq", "next_theta_sq")
#: Sampled steps kept on the device before one copy to the host.
CHUNK = 256


class _Bucket:
    """The tensors of one device and working dtype, with their snapshot buffers."""

    def __init__(self, tensors: list[Any], columns: list[int]) -> None:
        import torch

        self.columns = np.asarray(columns, dtype=np.int64)
        self.tensors = tensors
        # Half precision cannot hold beta3 * theta (1 - 1e-4 rounds to 1 in bfloat16): those
        # tensors are compared in float32.
        self.upcast = tensors[0].dtype in (torch.float16, torch.bfloat16)
        work = torch.float32 if self.upcast else tensors[0].dtype
        self.snapshots = [torch.empty(p.shape, dtype=work, device=p.device) for p in tensors]

    def current(self) -> list[Any]:
        if self.upcast:
            return [p.detach().float() for p in self.tensors]
        return [p.detach() for p in self.tensors]

    def save(self, active: np.ndarray | None) -> None:
        import torch

        if active is None:
            torch._foreach_copy_(self.snapshots, [p.detach() for p in self.tensors])
        else:
            for index in np.flatnonzero(active):
                self.snapshots[index].copy_(self.tensors[index].detach())

    def sums(self, decay: list[float], active: np.ndarray | None) -> Any:
        """A ``(4, len(tensors))`` tensor of the sums (inactive tensors: unchanged weights)."""
        import torch

        current = self.current()
        if active is None:
            before = self.snapshots
        else:
            # A tensor the optimizer skipped (no grad) kept its weights: compare it with itself.
            before = [
                s if a else c for s, c, a in zip(self.snapshots, current, active, strict=True)
            ]
            decay = [b if a else 1.0 for b, a in zip(decay, active, strict=True)]
        d = torch._foreach_mul(before, decay)
        torch._foreach_sub_(d, current)
        theta_dot_d = [
            torch.dot(s.reshape(-1), x.reshape(-1)) for s, x in zip(before, d, strict=True)
        ]
        rows = (
            torch._foreach_norm(before),
            theta_dot_d,
            torch._foreach_norm(d),
            torch._foreach_norm(current),
        )
        stacked = torch.stack([value for row in rows for value in row])
        return stacked.reshape(4, len(self.tensors))


class StepRecorder:
    """Records the sums of :data:`STATISTICS` for a fixed list of tensors.

    Parameters
    ----------
    tensors
        The monitored parameters, in the monitor's column order.
    """

    def __init__(self, tensors: list[Any]) -> None:
        groups: dict[tuple[Any, Any], list[int]] = {}
        for column, tensor in enumerate(tensors):
            groups.setdefault((tensor.device, tensor.dtype), []).append(column)
        self.width = len(tensors)
        self._buckets = [_Bucket([tensors[c] for c in cols], cols) for cols in groups.values()]
        self._pending: list[list[Any]] = [[] for _ in self._buckets]
        self._host: list[np.ndarray] = []

    def save(self, active: np.ndarray | None) -> None:
        """Copy the weights before the step (``active``: mask of tensors that have a grad)."""
        for bucket in self._buckets:
            bucket.save(None if active is None else active[bucket.columns])

    def record(self, decay: np.ndarray, active: np.ndarray | None) -> None:
        """Form the sums after the step; ``decay`` is :math:`\\beta_3` per tensor."""
        for bucket, pending in zip(self._buckets, self._pending, strict=True):
            mask = None if active is None else active[bucket.columns]
            pending.append(bucket.sums(decay[bucket.columns].tolist(), mask))
        if len(self._pending[0]) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Move the pending sums to the host (one copy per bucket)."""
        import torch

        if not self._pending[0]:
            return
        block = np.empty((len(self._pending[0]), 4, self.width))
        for bucket, pending in zip(self._buckets, self._pending, strict=True):
            values = torch.stack(pending).to("cpu", torch.float64).numpy()
            block[:, :, bucket.columns] = values
            pending.clear()
        # The norms were stored (one reduction each); the sums of squares are their squares.
        for row in (0, 2, 3):
            block[:, row] **= 2
        self._host.append(block)

    def sums(self) -> np.ndarray:
        """All sums so far, ``(sampled steps, 4, tensors)``, float64."""
        self.flush()
        if not self._host:
            return np.empty((0, 4, self.width))
        if len(self._host) > 1:
            self._host = [np.concatenate(self._host)]
        return self._host[0]

    def load(self, sums: np.ndarray) -> None:
        """Restore the sums of a saved run (:meth:`WeightRMSMonitor.load_state_dict`)."""
        for pending in self._pending:
            pending.clear()
        self._host = [np.array(sums, dtype=np.float64).reshape(-1, 4, self.width)]

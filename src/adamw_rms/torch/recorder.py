"""The per-step statistics, computed next to the parameters without a host synchronisation.

At a sampled step the pre-step hook copies the weights :math:`\\theta_{t-1}` (one snapshot buffer
per tensor, reused: no history is kept on the device) — or, when every step is sampled, the
previous step left them there (the post-step pass writes the weights into the snapshot as it
reads them, so no copy runs before the step, and a change made to the weights between steps
is counted in the next update) — and the post-step hook forms
:math:`d = \\beta_3\\theta_{t-1} - \\theta_t = \\eta_t u_t` and four sums per tensor:
:math:`\\sum\\theta_{t-1}^2`, :math:`\\sum\\theta_{t-1} d`, :math:`\\sum d^2`,
:math:`\\sum\\theta_t^2`. :math:`d` is formed in the weights' dtype exactly as the optimizer
formed the decayed weights (:math:`\\beta_3` rounded to that dtype, one product, one
difference), so for a decoupled decay it is the applied step itself.

Two ways, chosen per device and dtype:

* contiguous CPU float32/float64 tensors, when numba is installed: one compiled call copies
  the snapshot (summing its squares on the way), one forms :math:`d` and the other three sums
  (partial sums in the weights' dtype, totals in float64), written straight into a host
  array. Inside a training step every separate operation pays for code and data that the
  forward, backward and optimizer passes have pushed out of the caches: on the benchmark's
  MLP (``benchmarks/_monitor.py``) each PyTorch or NumPy call measured 15-70 us there against
  1-15 us outside a step, so two passes is what keeps the monitor near 5% of the step.
* Anywhere else (GPUs, half precision, non-contiguous weights, no numba): PyTorch's fused
  ``_foreach`` operations in the working dtype (float32 for half precision), the sums stacked
  into one small tensor per device and step and moved to the host in chunks (one copy per
  :data:`CHUNK` sampled steps), so a CUDA run never waits on them.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

__all__ = ["CHUNK", "STATISTICS", "StepRecorder"]

#: The sums recorded per tensor and sampled step, in this order.
STATISTICS = ("theta_sq", "theta_dot_d", "d_sq", "next_theta_sq")
#: Sampled steps kept on the device before one copy to the host.
CHUNK = 256

_KERNELS: list[Any] = []


def _save(snapshots, currents, out, row):  # pragma: no cover (run compiled by numba)
    """``snapshots[k][:] = currents[k]`` for every tensor, and ``out[row, 0, k]`` its sum of
    squares (float64), in the same pass: the copy is what costs."""
    for k in range(len(snapshots)):
        before = snapshots[k]
        weights = currents[k]
        theta_sq = 0.0
        for i in range(before.size):
            x = weights[i]
            before[i] = x
            x = np.float64(x)
            theta_sq += x * x
        out[row, 0, k] = theta_sq


#: Elements advanced in lock-step by the compiled pass (one partial sum each, in the weights'
#: dtype) and the blocks of them summed before the partials go into float64.
LANES = 16
FLUSH = 32


def _step_sums(
    snapshots, currents, betas, scale, out, row, carry_sq, carried, keep
):  # pragma: no cover (numba)
    """``out[row, 1:, k]``: the last three sums of tensor ``k`` from its snapshot, its weights
    now and its :math:`\\beta_3` (``betas[k]``, rounded to the weights' dtype through
    ``scale``).

    ``carried``: the snapshot is the weights after the previous (recorded) step, kept by it,
    so ``out[row, 0, k]`` is that step's last sum, ``carry_sq[k]``. ``keep``: copy the weights
    into the snapshot on the way, and their sum of squares into ``carry_sq``, for the next
    step (every step sampled: the copy costs one write in this pass instead of a pass of its
    own before the step).

    Each of :data:`LANES` partial sums takes :data:`FLUSH` terms in the weights' dtype before
    it is added into a float64 total: float64 throughout took 60 us of the benchmark's step
    where this takes 43, and the partials' rounding (measured at most 0.65 float32 roundings
    of the sum of the terms' magnitudes, ``tests/test_monitor_recorder.py``) is below that of
    the PyTorch path's float32 reductions (2.1).
    """
    lane = np.zeros((3, LANES), dtype=scale.dtype)
    for k in range(len(snapshots)):
        before = snapshots[k]
        after = currents[k]
        if carried:
            out[row, 0, k] = carry_sq[k]
        scale[k] = betas[k]
        beta = scale[k]
        theta_dot_d = 0.0
        d_sq = 0.0
        next_sq = 0.0
        size = before.size
        whole = size - size % LANES
        count = 0
        for start in range(0, whole, LANES):
            for j in range(LANES):
                s = before[start + j]
                c = after[start + j]
                d = s * beta - c  # in the weights' dtype: the optimizer's own rounding
                lane[0, j] += s * d
                lane[1, j] += d * d
                lane[2, j] += c * c
                if keep:
                    before[start + j] = c
            count += 1
            if count == FLUSH or start + LANES == whole:
                for j in range(LANES):
                    theta_dot_d += lane[0, j]
                    d_sq += lane[1, j]
                    next_sq += lane[2, j]
                    lane[0, j] = 0
                    lane[1, j] = 0
                    lane[2, j] = 0
                count = 0
        for i in range(whole, size):
            s = before[i]
            c = after[i]
            d = np.float64(s * beta - c)
            theta_dot_d += np.float64(s) * d
            d_sq += d * d
            next_sq += np.float64(c) * np.float64(c)
            if keep:
                before[i] = c
        out[row, 1, k] = theta_dot_d
        out[row, 2, k] = d_sq
        out[row, 3, k] = next_sq
        if keep:
            carry_sq[k] = next_sq


def _typed_list(arrays: Any) -> Any:
    from numba.typed import List

    return List(arrays)


def _kernels() -> tuple[Any, Any] | None:
    """``(save, step_sums)`` compiled by numba, or ``None`` without numba (compiled once)."""
    if not _KERNELS:
        try:
            import numba
        except ImportError:
            _KERNELS.append(None)
        else:
            options = {"cache": True, "boundscheck": False, "error_model": "numpy",
                       "nogil": True}  # fmt: skip
            # Reassociation lets the sums vectorise (their order does not matter at the
            # inputs' precision); no contraction, so d keeps its two roundings.
            fast = numba.njit(fastmath={"reassoc"}, **options)
            _KERNELS.append((fast(_save), fast(_step_sums)))
    return _KERNELS[0]


class _CompiledBucket:
    """CPU tensors of one float dtype, all contiguous: snapshots and sums as NumPy arrays.

    Per step one compiled call copies, one forms the sums; nothing else crosses into NumPy.
    """

    def __init__(self, tensors: list[Any], kernels: tuple[Any, Any]) -> None:
        self.tensors = tensors
        self.save_kernel, self.step_sums = kernels
        self.kind = tensors[0].dtype
        self.dtype = tensors[0].detach().numpy().dtype
        sizes = [p.numel() for p in tensors]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.buffer = np.empty(int(offsets[-1]), dtype=self.dtype)
        # Typed lists, not tuples: numba compiles a tuple's kernel anew for every tensor count
        # (minutes for a model with hundreds of tensors), a typed list's once for all.
        self.snapshots = _typed_list(self.buffer[a:b] for a, b in itertools.pairwise(offsets))
        self.sizes = sizes
        self.betas = np.ones(len(tensors))
        self.scale = np.empty(len(tensors), dtype=self.dtype)
        self.chunk = np.empty((CHUNK, 4, len(tensors)))
        self.filled = 0
        self.carry_sq = np.zeros(len(tensors))
        self.carried = False
        self._bind()
        # Compile (or load from numba's cache) now, for these tensors' dtype and count, rather
        # than inside the first training step; the row written is overwritten by the first step.
        self.save_kernel(self.snapshots, self.currents, self.chunk, 0)
        for keep in (False, True):
            self.step_sums(self.snapshots, self.currents, self.betas, self.scale,
                           self.chunk, 0, self.carry_sq, False, keep)  # fmt: skip

    def _bind(self) -> None:
        # Views of the weights, rebuilt should a tensor's storage be replaced (``p.data = ...``).
        if not _compilable(self.tensors) or any(p.dtype != self.kind for p in self.tensors):
            raise RuntimeError(
                "WeightRMSMonitor: a monitored tensor changed device, dtype or layout after the "
                "monitor was created; create the monitor after moving or casting the model"
            )
        if [p.numel() for p in self.tensors] != self.sizes:
            raise RuntimeError(
                "WeightRMSMonitor: a monitored tensor changed size after the monitor was "
                "created; create the monitor after the model's shapes are final"
            )
        self.pointers = [p.data_ptr() for p in self.tensors]
        self.currents = _typed_list(p.detach().numpy().reshape(-1) for p in self.tensors)

    def save(self) -> None:
        # Only between steps can user code replace a tensor's storage; the step itself updates
        # the weights in place, so the views bound here still hold them in record().
        if [p.data_ptr() for p in self.tensors] != self.pointers:
            self._bind()
            self.carried = False
        if not self.carried:
            self.save_kernel(self.snapshots, self.currents, self.chunk, self.filled)

    def record(self, betas: list[float], skipped: list[int], keep: bool) -> None:
        values = self.betas
        for k, beta in enumerate(betas):  # element by element: no NumPy call inside the step
            values[k] = beta
        self.step_sums(self.snapshots, self.currents, values, self.scale, self.chunk,
                       self.filled, self.carry_sq, self.carried, keep)  # fmt: skip
        for k in skipped:
            # Left alone by the optimizer: the same weights, so the same sum of squares (the
            # two kernels sum in different orders, which would differ in the last bits).
            self.chunk[self.filled, 3, k] = self.chunk[self.filled, 0, k]
            self.carry_sq[k] = self.chunk[self.filled, 0, k]
        self.carried = keep
        self.filled += 1

    def take(self) -> np.ndarray:
        block = self.chunk[: self.filled].copy()
        self.filled = 0
        return block

    def forget(self) -> None:
        self.carried = False


class _TorchBucket:
    """The tensors of one device and working dtype, with their snapshot buffers."""

    def __init__(self, tensors: list[Any]) -> None:
        import torch

        self.tensors = tensors
        # Half precision cannot hold beta3 * theta (1 - 1e-4 rounds to 1 in bfloat16): those
        # tensors are compared in float32.
        self.upcast = tensors[0].dtype in (torch.float16, torch.bfloat16)
        work = torch.float32 if self.upcast else tensors[0].dtype
        self.snapshots = [torch.empty(p.shape, dtype=work, device=p.device) for p in tensors]
        self.pending: list[Any] = []
        self.filled = 0
        self.carried = False
        self.pointers = [p.data_ptr() for p in tensors]

    def current(self) -> list[Any]:
        if self.upcast:
            return [p.detach().float() for p in self.tensors]
        return [p.detach() for p in self.tensors]

    def save(self) -> None:
        import torch

        # A tensor whose storage was replaced between steps (p.data = ...) starts a fresh
        # snapshot, as on the compiled path (host-side integers: no synchronisation).
        pointers = [p.data_ptr() for p in self.tensors]
        if pointers != self.pointers:
            if [p.numel() for p in self.tensors] != [s.numel() for s in self.snapshots]:
                raise RuntimeError(
                    "WeightRMSMonitor: a monitored tensor changed size after the monitor was "
                    "created; create the monitor after the model's shapes are final"
                )
            self.pointers = pointers
            self.carried = False
        if not self.carried:
            torch._foreach_copy_(self.snapshots, [p.detach() for p in self.tensors])

    def forget(self) -> None:
        self.carried = False

    def record(self, betas: list[float], skipped: list[int], keep: bool) -> None:
        """Append a ``(4, len(tensors))`` tensor of the sums (norms for rows 0, 2, 3); the
        ``skipped`` tensors' weights are the snapshot's, summed the same way (nothing to do)."""
        import torch

        current = self.current()
        d = torch._foreach_mul(self.snapshots, betas)
        torch._foreach_sub_(d, current)
        theta_dot_d = [
            torch.dot(s.reshape(-1), x.reshape(-1)) for s, x in zip(self.snapshots, d, strict=True)
        ]
        rows = (
            torch._foreach_norm(self.snapshots),
            theta_dot_d,
            torch._foreach_norm(d),
            torch._foreach_norm(current),
        )
        stacked = torch.stack([value for row in rows for value in row])
        self.pending.append(stacked.reshape(4, len(self.tensors)))
        if keep:  # the next step's snapshot: the weights now
            torch._foreach_copy_(self.snapshots, current)
        self.carried = keep
        self.filled += 1

    def take(self) -> np.ndarray:
        import torch

        if not self.pending:
            return np.empty((0, 4, len(self.tensors)))
        values = torch.stack(self.pending).to("cpu", torch.float64).numpy()
        self.pending.clear()
        self.filled = 0
        # The norms were stored (one reduction each); the sums of squares are their squares.
        for row in (0, 2, 3):
            values[:, row] **= 2
        return values


def _compilable(tensors: list[Any]) -> bool:
    import torch

    first = tensors[0]
    return (
        first.device.type == "cpu"
        and first.dtype in (torch.float32, torch.float64)
        and all(p.is_contiguous() for p in tensors)
    )


class StepRecorder:
    """Records the sums of :data:`STATISTICS` for a fixed list of tensors.

    Parameters
    ----------
    tensors
        The monitored parameters, in the monitor's column order.
    groups
        The param group of each tensor (its :math:`\\beta_3` at a step is its group's).
    carry
        Every step is sampled: each step's weights after it become the next step's snapshot
        (no copy before the step). A change made to the weights between two steps is then
        counted in the next step's update, and the record's identity stays unbroken;
        replacing a tensor's storage (``p.data = ...``) starts a fresh snapshot.
    """

    def __init__(self, tensors: list[Any], groups: list[int], *, carry: bool = False) -> None:
        if len(groups) != len(tensors):
            raise ValueError(f"groups: one per tensor ({len(tensors)}); got {len(groups)}")
        by_kind: dict[tuple[Any, Any], list[int]] = {}
        for column, tensor in enumerate(tensors):
            by_kind.setdefault((tensor.device, tensor.dtype), []).append(column)
        self.width = len(tensors)
        self.carry = bool(carry)
        kernels = _kernels()
        self._buckets: list[Any] = []
        self._columns: list[list[int]] = []
        self._groups: list[list[int]] = []
        for columns in by_kind.values():
            members = [tensors[c] for c in columns]
            if kernels is not None and _compilable(members):
                self._buckets.append(_CompiledBucket(members, kernels))
            else:
                self._buckets.append(_TorchBucket(members))
            self._columns.append(columns)
            self._groups.append([groups[c] for c in columns])
        self._host: list[np.ndarray] = []

    @property
    def compiled(self) -> list[bool]:
        """Per bucket (device and dtype), whether the numba pass records it."""
        return [isinstance(bucket, _CompiledBucket) for bucket in self._buckets]

    def save(self) -> None:
        """Copy the weights before the step (all of them: one the optimizer skips keeps its
        weights, so its snapshot equals them after the step and its ``d`` is 0)."""
        for bucket in self._buckets:
            bucket.save()

    def record(self, factors: list[float], skipped: list[bool] | None) -> None:
        """Form the sums after the step.

        Parameters
        ----------
        factors
            :math:`\\beta_3` of each param group at this step.
        skipped
            Per tensor, whether the optimizer left it alone (no grad): its :math:`\\beta_3` is
            1. ``None``: none was.
        """
        for bucket, columns, groups in zip(self._buckets, self._columns, self._groups,
                                           strict=True):  # fmt: skip
            betas = [factors[g] for g in groups]
            left = []
            if skipped is not None:
                left = [k for k, c in enumerate(columns) if skipped[c]]
                for k in left:
                    betas[k] = 1.0
            bucket.record(betas, left, self.carry)
        if self._buckets[0].filled >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Move the pending sums to the host (one copy per bucket)."""
        count = self._buckets[0].filled
        if not count:
            return
        block = np.empty((count, 4, self.width))
        for bucket, columns in zip(self._buckets, self._columns, strict=True):
            block[:, :, columns] = bucket.take()
        self._host.append(block)

    def last(self) -> np.ndarray | None:
        """The last sampled step's sums ``(4, tensors)`` (None before any), without joining the
        record: its cost does not grow with the run."""
        self.flush()
        return self._host[-1][-1].copy() if self._host else None

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
        for bucket in self._buckets:
            bucket.take()
            bucket.forget()
        self._host = [np.array(sums, dtype=np.float64).reshape(-1, 4, self.width)]

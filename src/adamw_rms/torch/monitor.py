"""``WeightRMSMonitor``: hooks on ``optimizer.step`` that measure why each weight RMS is where
it is.

Single-process training only: under DDP every rank would measure its own replica (identical
weights, so the numbers agree, but nothing is reduced), and under FSDP each rank sees only its
shard of every tensor, so the per-tensor sums would be partial. Neither is supported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .history import RunHistory
from .recorder import StepRecorder
from .rules import GroupRule, group_rule

__all__ = ["WeightRMSMonitor"]

_STATE_VERSION = 1


class WeightRMSMonitor:
    r"""Measure, per parameter tensor, the terms of the weight RMS's exact per-step identity.

    With :math:`\rho_t` the mean square of a tensor after step ``t``, and the step written as
    :math:`\theta_t = \beta_{3,t}\theta_{t-1} - \eta_t u_t` (:math:`\eta_t` the group's ``lr``,
    :math:`\beta_{3,t} = 1 - \eta_t\lambda_t` for AdamW and Muon, 1 where the decay is L2:
    :mod:`adamw_rms.torch.rules`), whatever the gradients are,

    .. math:: \rho_t = \beta_{3,t}^2\rho_{t-1} - 2\beta_{3,t}\eta_t\langle\theta_{t-1},u_t\rangle
              + \eta_t^2\langle u_t^2\rangle .

    The monitor recovers the applied update :math:`u_t` exactly from the weights before and
    after the step (with ``every=1`` "before" is the weights the previous step left: a change
    made to them between steps — a clamp, a projection, a reload — is counted in the next
    update, and the identity stays exact; with ``every > 1`` a copy is taken just before each
    sampled step, and such changes fall between the samples). Weight-decay convention of
    PyTorch: ``theta <- theta - lr * (u + weight_decay * theta)`` for AdamW. It records the
    three terms per tensor; the report (:meth:`report`) sums them along the run into the
    measured drive, the correlation of the updates and the initialisation still remembered,
    and compares each with AdamW's iid mean field; :meth:`forecast` continues the identity
    along the learning rates still to come.

    Parameters
    ----------
    model
        The ``torch.nn.Module`` whose ``named_parameters()`` name the tensors.
    optimizer
        A ``torch.optim.AdamW``, ``Adam``, ``SGD`` or ``Muon`` over (some of) the model's
        parameters, any number of param groups. Schedulers may change ``lr`` and
        ``weight_decay`` at every step: the monitor reads them at each step.
    every
        Sample the statistics every ``every``-th step (steps 1, 1 + every, ...); the learning
        rates and weight decays are still read at every step, and a sample stands for the
        steps up to the next one.

    Notes
    -----
    Cost: one snapshot of the monitored weights (in their dtype; float32 for half precision).
    With every step sampled, one pass over the weights after each step forms the sums and
    keeps the weights as the next snapshot; otherwise a copy before each sampled step and that
    pass after it. With numba installed (the ``torch`` extra brings it), contiguous
    float32/float64 weights on the CPU run a compiled pass (compiled when the monitor is made:
    about 1 s the first time, then from numba's disk cache); elsewhere a handful of PyTorch's
    fused reductions run. On the benchmark's MLP (``make bench``: 86k parameters, 2-2.7 ms a
    step on one CPU thread) that measured +3.7% to +5.4% at ``every=1`` (medians of paired
    rounds over four runs), +18% to +20% without numba, and within the noise at ``every=10``.
    Four numbers per tensor and sampled step are kept (on the host,
    copied in chunks). Tensors without ``requires_grad`` when the monitor is made, and param
    groups added to the optimizer later, are not monitored; a tensor without a grad at a step
    is left alone by the optimizer and counted as unchanged. With ``every > 1`` all tensors
    share the sampled steps: a tensor that has a grad only between them (a branch used on
    other steps) is never measured, and its record says nothing. Single process only (no
    DDP/FSDP).

    Examples
    --------
    >>> import torch
    >>> from adamw_rms.torch import WeightRMSMonitor
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(8, 4)
    >>> optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    >>> monitor = WeightRMSMonitor(model, optimizer)
    >>> for _ in range(3):
    ...     optimizer.zero_grad()
    ...     model(torch.randn(16, 8)).square().mean().backward()
    ...     optimizer.step()
    >>> monitor.steps
    3
    >>> sorted(monitor.metrics())[-2:]
    ['weight_rms/bias', 'weight_rms/weight']
    """

    def __init__(self, model: Any, optimizer: Any, *, every: int = 1) -> None:
        try:
            import torch
        except ImportError as error:
            raise ImportError(
                "WeightRMSMonitor needs PyTorch: pip install 'adamw-rms[torch]'"
            ) from error

        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an integer >= 1; got {every!r}")
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}"
            )
        self.every = int(every)
        self.optimizer = optimizer
        names = {id(p): name for name, p in model.named_parameters()}
        self.rules: list[GroupRule] = [group_rule(optimizer, g) for g in optimizer.param_groups]
        self._decoupled = [rule.decoupled for rule in self.rules]
        self.names: list[str] = []
        self._tensors: list[Any] = []
        group_of: list[int] = []
        for index, param_group in enumerate(optimizer.param_groups):
            for param in param_group["params"]:
                if not param.requires_grad or param.numel() == 0:
                    continue  # nothing to measure (an empty tensor has no RMS)
                if id(param) not in names:
                    raise ValueError(
                        "every parameter the optimizer updates must belong to the model (the "
                        "monitor names tensors by model.named_parameters()); one of shape "
                        f"{tuple(param.shape)} in param group {index} does not"
                    )
                self.names.append(names[id(param)])
                self._tensors.append(param)
                group_of.append(index)
        if not self._tensors:
            raise ValueError("the optimizer has no parameter that requires grad to monitor")
        self._group = np.asarray(group_of, dtype=np.int64)
        self._sizes = np.array([p.numel() for p in self._tensors], dtype=np.float64)
        self._first_step = np.array([_state_step(optimizer, p) for p in self._tensors])
        self._recorder = StepRecorder(self._tensors, group_of, carry=self.every == 1)
        self._lr: list[list[float]] = []
        self._weight_decay: list[list[float]] = []
        self._skipped: dict[int, np.ndarray] = {}
        self._sampled: list[int] = []
        self._pending: tuple[bool, list[float], list[float]] | None = None
        self._handles = [
            optimizer.register_step_pre_hook(self._before_step),
            optimizer.register_step_post_hook(self._after_step),
        ]

    # ---- hooks -------------------------------------------------------------------------------

    @property
    def steps(self) -> int:
        """Optimizer steps recorded so far."""
        return len(self._lr)

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        # Plain Python on the way (no NumPy): inside a training step each call into another
        # library pays for code the step pushed out of the caches (benchmarks/_monitor.py).
        # The rates are read before the step: a post-step hook registered earlier (a scheduler
        # stepped from one) could change them before this monitor's. Groups added later
        # (add_param_group appends) hold no monitored tensor: not read.
        groups = optimizer.param_groups[: len(self._decoupled)]
        lr = [float(g["lr"]) for g in groups]
        decay = [float(g.get("weight_decay", 0.0)) for g in groups]
        sampled = self.steps % self.every == 0
        if sampled:
            # Every tensor: which ones have a grad is known only after the step, since
            # optimizer.step(closure) computes the gradients inside the step. With every step
            # sampled the previous step left the snapshot (nothing to copy).
            self._recorder.save()
        self._pending = (sampled, lr, decay)

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._pending is None:  # the pre-step hook did not run (registered mid-step)
            return
        sampled, lr, decay = self._pending
        self._pending = None
        step = self.steps + 1
        found_inf = getattr(optimizer, "found_inf", None)
        if found_inf is not None and bool(found_inf):
            # GradScaler hands a fused optimizer its overflow flag (optimizer.found_inf, set
            # for the duration of step()) and the optimizer skips the update inside step():
            # nothing moved. Reading the flag synchronises once per step, only in that setting
            # (without fusion GradScaler skips step() altogether).
            self._skipped[step] = np.ones(self._sizes.size, dtype=bool)
            self._lr.append(lr)
            self._weight_decay.append(decay)
            return
        # The optimizer skipped exactly the tensors that had no grad when it ran; nothing
        # removes a grad during the step, so they are the ones without one now.
        skipped = [p.grad is None for p in self._tensors]
        mask = skipped if True in skipped else None
        if sampled:
            # GroupRule.decay_factor written out: a method call per group costs as much here.
            factors = [1.0 - a * b if decoupled else 1.0 for decoupled, a, b in
                       zip(self._decoupled, lr, decay, strict=True)]  # fmt: skip
            self._recorder.record(factors, mask)
            self._sampled.append(step)
        if mask is not None:
            self._skipped[step] = np.array(mask, dtype=bool)
        self._lr.append(lr)
        self._weight_decay.append(decay)

    def remove(self) -> None:
        """Detach the hooks (the recorded history stays available)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # ---- the record --------------------------------------------------------------------------

    def history(self) -> RunHistory:
        """The recorded run as NumPy arrays (:class:`~adamw_rms.torch.history.RunHistory`)."""
        skipped = np.zeros((self.steps, self._sizes.size), dtype=bool)
        for step, mask in self._skipped.items():
            skipped[step - 1] = mask
        return self._record(
            self._lr, self._weight_decay, skipped, self._sampled, self._recorder.sums().copy()
        )

    def _record(self, lr, weight_decay, skipped, sampled, sums) -> RunHistory:
        shape = (len(lr), len(self.rules))
        return RunHistory(
            names=list(self.names),
            sizes=self._sizes.copy(),
            shapes=[tuple(p.shape) for p in self._tensors],
            group=self._group.copy(),
            rules=list(self.rules),
            lr=np.asarray(lr, dtype=np.float64).reshape(shape),
            weight_decay=np.asarray(weight_decay, dtype=np.float64).reshape(shape),
            skipped=np.asarray(skipped, dtype=bool).reshape(shape[0], self._sizes.size),
            sampled=np.asarray(sampled, dtype=np.int64),
            sums=sums,
            every=self.every,
            first_step=self._first_step.copy(),
        )

    def state_dict(self) -> dict[str, Any]:
        """Everything recorded, as plain Python values and CPU tensors.

        No NumPy arrays: a checkpoint holding it loads with ``torch.load``'s default
        ``weights_only=True``.
        """
        import torch

        return {
            "version": _STATE_VERSION,
            "names": list(self.names),
            "every": self.every,
            "lr": [list(row) for row in self._lr],
            "weight_decay": [list(row) for row in self._weight_decay],
            "skipped": {step: torch.from_numpy(m.copy()) for step, m in self._skipped.items()},
            "sampled": list(self._sampled),
            "sums": torch.from_numpy(self._recorder.sums().copy()),
            "first_step": torch.from_numpy(self._first_step.copy()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue a saved run: the model and optimizer must have the same monitored tensors."""
        if state.get("version") != _STATE_VERSION:
            raise ValueError(f"unknown monitor state version {state.get('version')!r}")
        if list(state["names"]) != self.names:
            raise ValueError(
                "the saved monitor watched other tensors: saved "
                f"{list(state['names'])[:4]}..., this one {self.names[:4]}..."
            )
        if int(state["every"]) != self.every:
            raise ValueError(f"the saved monitor sampled every {state['every']}; this one "
                             f"every {self.every}")  # fmt: skip
        self._lr = [list(map(float, row)) for row in state["lr"]]
        self._weight_decay = [list(map(float, row)) for row in state["weight_decay"]]
        self._skipped = {int(k): np.asarray(v, dtype=bool) for k, v in state["skipped"].items()}
        self._sampled = [int(s) for s in state["sampled"]]
        self._first_step = np.asarray(state["first_step"], dtype=np.float64)
        self._recorder.load(np.asarray(state["sums"]))

    # ---- what users ask ----------------------------------------------------------------------

    def report(self) -> Any:
        """Per tensor: the measured RMS, the iid theory and the factors between them.

        See :class:`~adamw_rms.torch.report.Report`.
        """
        from .report import build_report

        return build_report(self.history())

    def forecast(self, lr: Any, weight_decay: Any = None) -> dict[str, np.ndarray]:
        """The weight RMS after each of the steps still to come.

        See :func:`adamw_rms.torch.forecast.forecast`.
        """
        from .forecast import forecast

        return forecast(self.history(), lr, weight_decay)

    def metrics(self) -> dict[str, float]:
        """Scalars for a logger (``add_scalars``, ``wandb.log``, ``log_dict``), per tensor.

        Keys ``"<quantity>/<tensor name>"``: ``weight_rms``, ``update_rms`` (of :math:`u`),
        ``relative_update`` (:math:`\\|\\theta_t-\\theta_{t-1}\\|/\\|\\theta_{t-1}\\|`) and
        ``angular_update`` (radians) at the last sampled step; a value that does not exist
        there (the relative update of a tensor that was all zeros before the step) is left
        out. Reads only the last sample, so logging it at every step costs the same at step
        10 and at step 10⁶.
        """
        from .report import last_metrics

        row = self._recorder.last()
        if row is None:
            return {}
        step = self._sampled[-1]
        skipped = self._skipped.get(step, np.zeros(self._sizes.size, dtype=bool))
        # A one-step record of the last sample: what the metrics need, at a cost that does not
        # grow with the run.
        last = self._record(
            [self._lr[step - 1]], [self._weight_decay[step - 1]], skipped, [1], row[None]
        )
        return last_metrics(last)

    def plot(self, names: Any = None, *, axes: Any = None) -> Any:
        """Measured RMS against the iid theory per tensor (see :func:`~.report.plot_report`)."""
        from .report import plot_report

        return plot_report(self.report(), names=names, axes=axes)


def _state_step(optimizer: Any, param: Any) -> float:
    # Adam's bias correction counts from the optimizer's own step: a monitor attached to a
    # resumed optimizer starts from there (read once, at construction).
    step = optimizer.state.get(param, {}).get("step", 0)
    return float(step)

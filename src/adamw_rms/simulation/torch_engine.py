"""The PyTorch engine: the real ``torch.optim.AdamW`` on synthetic gradients (extra ``torch``).

This is the optimizer users train with, so the formulas are checked against it as well as
against our own engines. One parameter tensor holds the ``n`` coordinates; each step its
``.grad`` is set to ``grad_mean + grad_std * randn`` (a ``torch.Generator`` seeded with
``config.seed``), then ``optimizer.step()`` runs, then the scheduler if one was given. Runs on
CUDA when available (or the ``device`` asked for), else on the CPU.

The update RMS is measured from what the optimizer actually did:
``u_t = ((1 - lr_t weight_decay_t) theta_{t-1} - theta_t) / lr_t``.

``torch.optim.AdamW`` always applies Adam's bias correction, so ``bias_correction=False`` is
refused rather than silently ignored. The other update rules:

* ``"sign_sgdm"``: :class:`SignSGDMW`, a minimal ``torch.optim.Optimizer`` with the same decay
  convention;
* ``"lion"``: :class:`.torch_lion.Lion` (torch has no Lion);
* ``"sgd"``: the real ``torch.optim.SGD(momentum=, dampening=, nesterov=)``, with
  ``weight_decay=`` (coupled, PyTorch's L2) or, with ``decoupled=True``, ``weight_decay=0`` and
  the weights multiplied by ``1 - lr weight_decay`` before each ``step()`` (SGDW);
* ``"adam_l2"``: the real ``torch.optim.Adam(weight_decay=...)`` (bias correction always on).

For the coupled rules the measured update is ``(theta_{t-1} - theta_t) / lr_t`` (the L2 term
included), as :class:`.SimulationConfig` defines it.

``random_source="counter"`` draws ``theta_0`` and the gradients from the counter-based normals
of :mod:`.random` (on the CPU, then moved to the device) instead of a ``torch.Generator``: the
very numbers of the NumPy engine with ``random_source="counter"`` and of the numba engine, so
that the real PyTorch optimizers can be compared with the reference to rounding.

``fused`` is passed to ``torch.optim.AdamW(..., fused=fused)``; the default ``None`` leaves the
choice to PyTorch, so the path validated here is the one a training script gets by default. In
PyTorch 2.13 ``fused=None`` never picks the fused kernel: it takes the ``foreach`` (multi-tensor)
implementation where every parameter is on a device with foreach kernels (CUDA, XPU, ...), else
the single-tensor for-loop -- on the CPU, the for-loop. ``fused=True`` runs the fused kernel
(CPU, CUDA, MPS, XPU, ...; floating-point parameters), ``fused=False`` the for-loop everywhere
(``foreach`` is left unset). ``info["implementation"]`` records which one ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

try:
    import torch
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the torch engine needs PyTorch: pip install 'adamw-rms[torch]' (or use engine='numba')"
    ) from error

from .config import SimulationConfig
from .progress import progress_bar
from .random import coordinate_keys, normals
from .result import SimulationResult
from .torch_lion import Lion

__all__ = ["SignSGDMW", "run"]


class SignSGDMW(torch.optim.Optimizer):
    """SignSGD with momentum and decoupled weight decay.

    ``theta <- theta - lr (sign(m) + weight_decay theta)`` with
    ``m <- beta1 m + (1 - beta1) g`` (``betas[0]``; ``betas[1]`` is accepted and unused so that
    the same parameter groups serve AdamW).
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        for group in self.param_groups:
            beta1 = group["betas"][0]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(param)
                momentum = state["momentum"]
                momentum.mul_(beta1).add_(param.grad, alpha=1 - beta1)
                param.mul_(1 - group["lr"] * group["weight_decay"])
                param.add_(torch.sign(momentum), alpha=-group["lr"])


def _device(device: str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must name a torch device; got {device!r}") from error
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    return chosen


def _implementation(param: torch.Tensor, fused: bool | None) -> str:
    """Which ``torch.optim.AdamW`` implementation ``fused`` selects for ``param``."""
    if fused:
        return "fused"
    if fused is False:
        return "for-loop"
    try:  # PyTorch's own default rule (a private helper; its absence is not an error)
        from torch.optim.optimizer import _default_to_fused_or_foreach

        _, foreach = _default_to_fused_or_foreach([param], differentiable=False, use_fused=False)
    except (ImportError, TypeError):  # pragma: no cover - another PyTorch
        return "PyTorch's default"
    return "foreach" if foreach else "for-loop"


def _check_fused(fused: bool | None, update: str, device: torch.device, dtype: torch.dtype) -> None:
    """Refuse ``fused`` where it cannot apply, with the reason, before the run starts."""
    if fused is None:
        return
    if not isinstance(fused, bool):
        raise ValueError(f"fused must be True, False or None; got {fused!r}")
    if update != "adamw":
        raise ValueError(
            f"fused applies to torch.optim.AdamW only; update={update!r} runs "
            f"{OPTIMIZERS[update]} here, which this engine runs unfused (leave fused unset)"
        )
    if not fused:
        return
    # Let PyTorch say whether it has the fused kernel here: one step on a one-element tensor.
    try:
        probe = torch.nn.Parameter(torch.zeros(1, device=device, dtype=dtype))
        probe.grad = torch.ones_like(probe)
        torch.optim.AdamW([probe], fused=True).step()
    except (RuntimeError, TypeError) as error:  # TypeError: e.g. float64 on MPS
        raise ValueError(
            f"fused=True: torch {torch.__version__} has no fused AdamW for {dtype} on "
            f"{device.type} ({error})"
        ) from error


#: The optimizer each update rule runs.
OPTIMIZERS = {
    "adamw": "torch.optim.AdamW",
    "sign_sgdm": "SignSGDMW",
    "lion": "Lion",
    "sgd": "torch.optim.SGD",
    "adam_l2": "torch.optim.Adam",
}
RANDOM_SOURCES = ("torch", "counter")


def _optimizer(
    config: SimulationConfig, param: torch.Tensor, lr: float, decay: float, fused: bool | None
) -> torch.optim.Optimizer:
    """The optimizer of ``config.update`` over ``param`` (for decoupled SGD the decay is left to
    the caller: ``weight_decay=0`` here)."""
    betas = (config.beta1, config.beta2)
    if config.update == "adamw":
        return torch.optim.AdamW(
            [param], lr=lr, betas=betas, eps=config.eps, weight_decay=decay, fused=fused
        )
    if config.update == "adam_l2":
        return torch.optim.Adam([param], lr=lr, betas=betas, eps=config.eps, weight_decay=decay)
    if config.update == "sgd":
        return torch.optim.SGD(
            [param], lr=lr, momentum=config.momentum, dampening=config.dampening,
            weight_decay=0.0 if config.decoupled else decay, nesterov=config.nesterov,
        )  # fmt: skip
    if config.update == "lion":
        return Lion([param], lr=lr, betas=betas, weight_decay=decay)
    return SignSGDMW([param], lr=lr, betas=betas, weight_decay=decay)


def _sum_squares(tensor: torch.Tensor) -> tuple[float, float]:
    squares = tensor.to(torch.float64).square()
    return float(squares.sum()), float(squares.square().sum())


def run(
    config: SimulationConfig,
    *,
    device: str | None = None,
    scheduler: Callable[[torch.optim.Optimizer], Any] | None = None,
    fused: bool | None = None,
    random_source: str = "torch",
    progress: bool | None = None,
) -> SimulationResult:
    """Simulate ``config`` with ``torch.optim.AdamW`` (or the optimizer of ``config.update``:
    :class:`SignSGDMW`, :class:`.torch_lion.Lion`, ``torch.optim.SGD``, ``torch.optim.Adam``).

    Parameters
    ----------
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; default CUDA when available.
    scheduler
        ``optimizer -> LR scheduler`` (e.g. ``lambda opt: CosineAnnealingLR(opt, T_max=...)``),
        stepped after every optimizer step; ``config.lr`` is then its base learning rate and
        must be a number. The learning rates it set are returned in ``info["lr"]``.
    fused
        ``torch.optim.AdamW(fused=...)``: ``None`` (default) lets PyTorch choose, as in a
        training script that does not set it (the for-loop on the CPU, ``foreach`` on CUDA);
        ``True`` the fused kernel, ``False`` the for-loop. AdamW only: refused with the other
        update rules, and ``True`` is refused where PyTorch has no fused kernel for the device
        and dtype.
    random_source
        ``"torch"`` (default): a ``torch.Generator`` seeded with ``config.seed``, on the
        device; ``"counter"``: the counter-based normals shared with the NumPy and numba
        engines (drawn on the CPU), for comparisons to rounding.
    progress
        Show a progress bar over steps (tqdm); ``None``: on long runs in a terminal.
    """
    if config.update in ("adamw", "adam_l2") and not config.bias_correction:
        raise ValueError(
            f"bias_correction=False: {OPTIMIZERS[config.update]} always applies bias "
            "correction; use engine='numpy' or engine='numba' for the uncorrected update"
        )
    if random_source not in RANDOM_SOURCES:
        raise ValueError(f"random_source must be one of {RANDOM_SOURCES}; got {random_source!r}")
    if scheduler is not None and np.ndim(config.lr) != 0:
        raise ValueError("scheduler: give config.lr as a number (the base rate), not a schedule")
    chosen = _device(device)
    dtype = {"float64": torch.float64, "float32": torch.float32}[config.dtype]
    _check_fused(fused, config.update, chosen, dtype)
    n = config.n
    if random_source == "torch":
        generator = torch.Generator(device=chosen).manual_seed(config.seed)

        def standard_normal(step: int) -> torch.Tensor:
            return torch.randn(n, generator=generator, device=chosen, dtype=dtype)
    else:
        keys = coordinate_keys(config.seed, np.arange(n))

        def standard_normal(step: int) -> torch.Tensor:
            # float64, rounded to dtype only once scaled, as the NumPy engine rounds them.
            return torch.from_numpy(normals(keys, step)).to(device=chosen)

    lr_steps = config.lr_per_step()
    decay_steps = config.weight_decay_per_step()
    scheduled = np.ndim(config.lr) == 1 or np.ndim(config.weight_decay) == 1
    start = time.perf_counter()
    param = torch.nn.Parameter((standard_normal(0) * config.init_rms).to(dtype))
    optimizer = _optimizer(config, param, float(lr_steps[0]), float(decay_steps[0]), fused)
    # SGDW: torch.optim.SGD has no decoupled decay; the engine applies it before each step.
    own_decay = config.update == "sgd" and config.decoupled
    decay_now = float(decay_steps[0])
    lr_scheduler = scheduler(optimizer) if scheduler is not None else None
    group = optimizer.param_groups[0]
    record = set(config.record_steps)
    recorded = []
    if 0 in record:
        recorded.append(_sum_squares(param.detach()))
    window_start = config.steps - config.update_window + 1
    update_sq_sum = torch.zeros(n, dtype=torch.float64, device=chosen)
    used_lr = np.empty(config.steps)
    previous = torch.empty_like(param)
    with progress_bar(config, progress, f"torch engine ({chosen})") as bar:
        for step in range(1, config.steps + 1):
            if scheduled:
                group["lr"] = float(lr_steps[step - 1])
                decay_now = float(decay_steps[step - 1])
                if not own_decay:
                    group["weight_decay"] = decay_now
            lr = group["lr"]
            # The decay the weights take outside the update (0 for the coupled rules).
            decay = decay_now if config.decoupled_decay else 0.0
            used_lr[step - 1] = lr
            param.grad = (config.grad_mean + config.grad_std * standard_normal(step)).to(dtype)
            in_window = step >= window_start
            if in_window:
                previous.copy_(param.detach())
            if own_decay:
                with torch.no_grad():
                    param.mul_(1 - lr * decay)
            optimizer.step()
            if lr_scheduler is not None:
                lr_scheduler.step()
            if in_window:
                update = (previous.to(torch.float64) * (1 - lr * decay)
                          - param.detach().to(torch.float64)) / lr  # fmt: skip
                update_sq_sum += update.square()
            if step in record:
                recorded.append(_sum_squares(param.detach()))
            bar.update(1)
    if chosen.type == "cuda":
        torch.cuda.synchronize(chosen)
    elapsed = time.perf_counter() - start
    per_coordinate = update_sq_sum / config.update_window
    update_sums = (float(per_coordinate.sum()), float(per_coordinate.square().sum()))
    info: dict[str, Any] = {
        "device": str(chosen),
        "torch": torch.__version__,
        "optimizer": type(optimizer).__name__,
    }
    info["random_source"] = random_source
    if config.update == "adamw":
        info["fused"] = fused
        info["implementation"] = _implementation(param, fused)
    if lr_scheduler is not None:
        info["scheduler"] = type(lr_scheduler).__name__
        info["lr"] = used_lr
    return SimulationResult.from_sums(config, "torch", recorded, update_sums, elapsed, info)

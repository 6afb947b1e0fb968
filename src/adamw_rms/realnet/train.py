r"""One benchmark run: a problem, a schedule and a seed, trained with ``torch.optim.AdamW``.

The matrices (every parameter with two or more dimensions) form param group 0 with the
problem's weight decay; biases and LayerNorm gains form group 1 without decay, as GPT-style
training scripts do. A ``LambdaLR`` with the run's :class:`.Schedule` drives both groups. A
:class:`adamw_rms.torch.WeightRMSMonitor` (``every=1``) is attached to the optimizer, and
independently of it the run records every tensor's RMS before the first and after every step.

At each forecast point ``f`` (30% and 50% by default), after ``k = round(f * steps)`` steps the
run calls ``monitor.forecast(lr=...)`` with the rates of param group 0 for steps ``k + 1 ..
steps`` exactly as the ``LambdaLR`` will set them, ``peak * schedule(j)`` for ``j = k ..
steps - 1``, and keeps every predicted trajectory. At the end it keeps
``monitor.report().to_dict()`` and ``monitor.metrics()``. Warnings raised during the run (the
monitor's warning that a schedule will collapse a norm, for one) are recorded, not raised.

Everything is seeded: ``torch.manual_seed(seed)`` before the network is built fixes the
initialisation, and a separate ``torch.Generator`` seeded with ``seed + DATA_SEED_OFFSET``
draws the batches. The run sets ``torch.set_num_threads(1)``, so its numbers do not depend on
the process it runs in.

Examples
--------
>>> from adamw_rms.realnet.train import train_run
>>> run = train_run("mlp", "cosine", seed=0, size="small", steps=20, monitor=False)
>>> run["measured"].shape[0], len(run["lr"]), run["names"][0]
(21, 20, 'layers.0.weight')
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..artifacts import replace_file_atomically
from .problems import PROBLEMS, SIZES
from .schedules import SCHEDULE_KINDS, make_schedule

__all__ = ["DATA_SEED_OFFSET", "FORECAST_POINTS", "SERIES", "save_history", "train_run"]

#: Fractions of the run after which the forecast is made.
FORECAST_POINTS = (0.3, 0.5)
#: The data generator's seed is the run's seed plus this (not the initialisation's stream).
DATA_SEED_OFFSET = 7919


def _rms(parameters: list[torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return torch.stack([p.detach().double().pow(2).mean().sqrt() for p in parameters])


def train_run(
    problem: str,
    schedule: str,
    seed: int,
    *,
    size: str = "full",
    steps: int | None = None,
    forecast_at: tuple[float, ...] = FORECAST_POINTS,
    monitor: bool = True,
    history: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train one run and return what the study reports (plain Python, NumPy and dicts).

    Parameters
    ----------
    problem
        A key of :data:`.PROBLEMS`.
    schedule
        One of :data:`.SCHEDULE_KINDS`.
    seed
        Initialisation and data seed, ``>= 0``.
    size
        ``"small"`` or ``"full"`` (the problem's network and run length).
    steps
        Override of the problem's run length for ``size`` (``>= 2``).
    forecast_at
        Fractions of the run, each in ``(0, 1)``, after which to forecast the rest.
    monitor
        Attach a ``WeightRMSMonitor`` (needs :mod:`adamw_rms.torch`). Without it the run has no
        forecasts, report or metrics: a plain training run with the same recorded RMS.
    history
        A folder: save the run's history there with :func:`save_history`.

    Returns
    -------
    dict
        ``problem, schedule, seed, size, steps, peak_lr, weight_decay``; ``names``,
        ``shapes``, ``decayed`` (per tensor); ``measured`` ``(steps + 1, tensors)``, the RMS
        before the first step and after each; ``lr`` ``(steps,)``, group 0's rate of each step
        as the optimizer used it; ``loss`` ``(steps,)``; ``forecasts``: ``{fraction: {"step":
        k, "lr": rates given, "rms": {name: (steps - k,) predicted RMS after steps k+1..},
        "models": {model: {name: final RMS}}}}`` (``rms`` from ``monitor.forecast``, ``models``
        from each drive model of :mod:`adamw_rms.torch.forecast`, to compare them);
        ``report``, ``metrics``, ``warnings`` (``"Category: message"``, each once);
        ``seconds`` and ``forecast_seconds`` (wall time, not part of any committed output).
    """
    if problem not in PROBLEMS:
        raise ValueError(f"problem must be one of {tuple(PROBLEMS)}; got {problem!r}")
    if schedule not in SCHEDULE_KINDS:
        raise ValueError(f"schedule must be one of {SCHEDULE_KINDS}; got {schedule!r}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0; got {seed!r}")
    if not all(0.0 < f < 1.0 for f in forecast_at):
        raise ValueError(f"forecast_at must hold fractions in (0, 1); got {forecast_at!r}")
    spec = PROBLEMS[problem]
    steps = spec.steps[size] if steps is None else steps
    shape = make_schedule(schedule, steps)  # validates steps
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    task = spec.build(size)
    model = task.model
    generator = torch.Generator().manual_seed(seed + DATA_SEED_OFFSET)
    named = list(model.named_parameters())
    names = [name for name, _ in named]
    parameters = [p for _, p in named]
    decayed = [p.ndim >= 2 for p in parameters]
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p, d in zip(parameters, decayed, strict=True) if d]},
            {"params": [p for p, d in zip(parameters, decayed, strict=True) if not d],
             "weight_decay": 0.0},
        ],
        lr=spec.lr,
        weight_decay=spec.weight_decay,
    )  # fmt: skip
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, shape)
    watcher = None
    if monitor:
        from ..torch import WeightRMSMonitor

        watcher = WeightRMSMonitor(model, optimizer, every=1)
    forecast_steps = {f: round(f * steps) for f in forecast_at}
    if not all(1 <= at < steps for at in forecast_steps.values()):
        raise ValueError(
            f"forecast_at must leave at least one step before and after each forecast point "
            f"in a run of {steps} steps; got {forecast_at!r}"
        )
    measured = torch.empty(steps + 1, len(parameters), dtype=torch.float64)
    measured[0] = _rms(parameters)
    rates = np.empty(steps)
    losses = torch.empty(steps, dtype=torch.float64)
    forecasts: dict[float, dict[str, Any]] = {}
    forecast_seconds = 0.0
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(steps):
            inputs, targets = task.batch(generator)
            loss = task.loss(model(inputs), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            rates[k] = optimizer.param_groups[0]["lr"]
            optimizer.step()
            scheduler.step()
            losses[k] = loss.detach()
            measured[k + 1] = _rms(parameters)
            for fraction, at in forecast_steps.items():
                if k + 1 == at and watcher is not None:
                    future = spec.lr * shape.multipliers(at)
                    moment = time.perf_counter()
                    predicted = watcher.forecast(lr=future)
                    forecast_seconds += time.perf_counter() - moment
                    forecasts[fraction] = {
                        "step": at,
                        "lr": future,
                        "rms": {n: np.asarray(v, dtype=float) for n, v in predicted.items()},
                        "models": _every_model(watcher, future),
                        "balance": _balance(watcher),
                    }
        report = watcher.report().to_dict() if watcher is not None else None
        metrics = dict(watcher.metrics()) if watcher is not None else None
    series = _series(report, names)
    final = None if report is None else {"step": report.get("step"), "rows": report.get("rows")}
    seconds = time.perf_counter() - started
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    run = {
        "problem": problem,
        "schedule": schedule,
        "seed": seed,
        "size": size,
        "steps": steps,
        "peak_lr": spec.lr,
        "weight_decay": spec.weight_decay,
        "names": names,
        "shapes": [tuple(p.shape) for p in parameters],
        "decayed": decayed,
        "measured": measured.numpy(),
        "lr": rates,
        "loss": losses.numpy(),
        "forecasts": forecasts,
        "report": final,
        "report_steps": np.asarray((report or {}).get("steps", []), dtype=int),
        "report_series": series,
        "metrics": metrics,
        "warnings": messages,
        "seconds": seconds,
        "forecast_seconds": forecast_seconds,
    }
    if history is not None:
        save_history(run, watcher.state_dict() if watcher is not None else None, history)
    return run


def _balance(watcher: Any) -> dict[str, float]:
    """Each tensor's balance at this step (what its updates add over what its decay removes,
    recently; NaN where nothing is decayed), which the forecast's warning reads."""
    from ..torch.decomposition import balance

    history = watcher.history()
    return {n: float(v) for n, v in zip(history.names, balance(history)[-1], strict=True)}


def _every_model(watcher: Any, future: np.ndarray) -> dict[str, dict[str, float]]:
    """The final RMS forecast by every drive model the monitor's forecast module has
    (``{model: {name: value}}``; empty where it has no choice of model)."""
    try:
        from ..torch.forecast import MODELS, forecast
    except ImportError:  # a monitor without a choice of model
        return {}
    history = watcher.history()
    return {
        model: {
            n: float(np.asarray(v)[-1]) for n, v in forecast(history, future, model=model).items()
        }
        for model in MODELS
    }


#: The report's per-step series the run keeps (as ``(sampled steps, tensors)`` arrays).
SERIES = ("measured_rms", "iid_rms", "update_factor", "correlation_factor", "init_factor")


def _series(report: dict[str, Any] | None, names: list[str]) -> dict[str, np.ndarray]:
    """``report["series"][key][name]`` lists as ``(S, tensors)`` arrays, None as NaN."""
    out: dict[str, np.ndarray] = {}
    for key in SERIES:
        by_name = ((report or {}).get("series") or {}).get(key)
        if not by_name:
            continue
        columns = [
            np.array([np.nan if v is None else v for v in by_name.get(name, [])], dtype=float)
            for name in names
        ]
        length = max(len(c) for c in columns)
        out[key] = np.column_stack(
            [c if len(c) == length else np.full(length, np.nan) for c in columns]
        )
    return out


def save_history(
    run: dict[str, Any], monitor_state: dict[str, Any] | None, folder: str | os.PathLike[str]
) -> Path:
    """Save ``run`` and the monitor's ``state_dict()`` with ``torch.save``, atomically.

    The file is ``<folder>/<problem>-<schedule>-seed<seed>.pt``; it holds ``run`` (as returned
    by :func:`train_run`, arrays as NumPy) under its keys plus ``"monitor_state"``. Load it with
    ``torch.load(path, weights_only=False)``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{run['problem']}-{run['schedule']}-seed{run['seed']}.pt"
    state = {**run, "monitor_state": monitor_state}
    replace_file_atomically(target, lambda temporary: torch.save(state, temporary))
    return target

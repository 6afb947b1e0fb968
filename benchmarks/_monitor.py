"""The training-time monitor's cost (issue 18) for ``benchmarks/run.py``.

overhead: the step time (``zero_grad``, forward, backward, ``optimizer.step``) of a small MLP
on the CPU (:data:`MODEL`: one thread, ``torch.optim.AdamW``) without the monitor, with
``WeightRMSMonitor(every=1)``, with ``every=10``, and with ``every=1`` recorded as without
numba (the PyTorch path). One seeded model trains throughout; after a warm-up, every round
runs each configuration for :data:`STEPS` steps back to back (a fresh monitor attached for
the block, removed after it), the order alternating between rounds, and the report gives the
median step time, its spread (min-max over rounds) and the median and spread of the
per-round ratios monitored/plain. The bar of the issue: at most 5% overhead at ``every=1``.

record: ``report()``, ``forecast()`` (the rest of a cosine schedule, as many steps again) and
``metrics()`` on a monitor that recorded :data:`HISTORY_STEPS` steps of the same model at
``every=1``; the median of three calls each. Missed bars are reported, never raised.

Run alone: ``python benchmarks/_monitor.py``.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from typing import Any, NamedTuple


class MLPSpec(NamedTuple):
    """The benchmark's model and batch."""

    inputs: int
    hidden: int
    layers: int
    classes: int
    batch: int


#: Input 64, two hidden layers of 256 each followed by LayerNorm and ReLU, 10 classes, batch
#: 128: 86k parameters in 10 tensors.
MODEL = MLPSpec(inputs=64, hidden=256, layers=2, classes=10, batch=128)
LR = 1e-3
WEIGHT_DECAY = 0.1
#: Distinct batches, cycled (drawn once: the data's cost is not what is measured).
BATCHES = 16
#: Paired rounds; one round's ratio moves by a few percent on a shared machine.
ROUNDS = 15
STEPS = 200
WARMUP = 100
HISTORY_STEPS = 10_000
OVERHEAD_BAR = 0.05
SEED = 20261130
#: The configurations, by label: the monitor's ``every`` (None: no monitor).
CONFIGURATIONS = {"no monitor": None, "every=1": 1, "every=10": 10, "every=1, no numba": 1}
#: Configurations recorded by the PyTorch path (what runs where numba is not installed).
WITHOUT_NUMBA = ("every=1, no numba",)


def _model(seed: int) -> Any:
    import torch

    torch.manual_seed(seed)
    layers: list[Any] = []
    width = MODEL.inputs
    for _ in range(MODEL.layers):
        layers += [
            torch.nn.Linear(width, MODEL.hidden),
            torch.nn.LayerNorm(MODEL.hidden),
            torch.nn.ReLU(),
        ]
        width = MODEL.hidden
    layers.append(torch.nn.Linear(width, MODEL.classes))
    return torch.nn.Sequential(*layers)


def _batches(seed: int) -> list[tuple[Any, Any]]:
    """A teacher task: the labels are the argmax of a fixed random linear map of the inputs."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    teacher = torch.randn(MODEL.inputs, MODEL.classes, generator=generator)
    inputs = [torch.randn(MODEL.batch, MODEL.inputs, generator=generator) for _ in range(BATCHES)]
    return [(x, (x @ teacher).argmax(dim=1)) for x in inputs]


class _Trainer:
    """One seeded model, its AdamW (optionally a scheduler) and, if ``every``, a monitor."""

    def __init__(self, every: int | None, schedule: Any = None) -> None:
        import torch

        from adamw_rms.torch import WeightRMSMonitor

        self.model = _model(SEED)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY
        )
        self.scheduler = None
        if schedule is not None:
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.monitor = None
        if every is not None:
            self.monitor = WeightRMSMonitor(self.model, self.optimizer, every=every)
        self.batches = _batches(SEED)
        self.done = 0

    def run(self, steps: int) -> float:
        """Train ``steps`` steps; the wall time per step (s)."""
        import torch

        start = time.perf_counter()
        for _ in range(steps):
            inputs, labels = self.batches[self.done % BATCHES]
            self.optimizer.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(self.model(inputs), labels).backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
            self.done += 1
        return (time.perf_counter() - start) / steps


def _cosine(total: int) -> Any:
    """``LambdaLR``'s factor: cosine from 1 to 0.1 over ``total`` steps."""
    return lambda step: 0.1 + 0.45 * (1 + math.cos(math.pi * min(step, total) / total))


def overhead(rounds: int = ROUNDS, steps: int = STEPS, warmup: int = WARMUP) -> dict[str, Any]:
    """Step times per configuration and round (s), and the per-round ratios to no monitor.

    One model and optimizer for all configurations: a monitor is attached for its block of
    steps and removed after it. (Separate copies of the same model differ by up to 2.5% in
    step time here, with no monitor on either: where their tensors sit in memory.)
    """
    from adamw_rms.torch import WeightRMSMonitor, recorder

    trainer = _Trainer(None)

    def block(label: str, count: int) -> float:
        every = CONFIGURATIONS[label]
        monitor = None
        if every is not None:
            kernels = recorder._kernels
            if label in WITHOUT_NUMBA:
                recorder._kernels = lambda: None  # as if numba were not installed
            try:
                monitor = WeightRMSMonitor(trainer.model, trainer.optimizer, every=every)
            finally:
                recorder._kernels = kernels
        try:
            return trainer.run(count)
        finally:
            if monitor is not None:
                monitor.remove()

    for label in CONFIGURATIONS:  # numba's compile (or cache load) falls in here
        block(label, warmup)
    times: dict[str, list[float]] = {label: [] for label in CONFIGURATIONS}
    labels = list(CONFIGURATIONS)
    for round_ in range(rounds):
        for label in labels if round_ % 2 == 0 else labels[::-1]:
            times[label].append(block(label, steps))
    baseline = times["no monitor"]
    ratios = {
        label: [t / b for t, b in zip(values, baseline, strict=True)]
        for label, values in times.items()
    }
    parameters = list(trainer.model.parameters())
    return {
        "times": times,
        "ratios": ratios,
        "parameters": sum(p.numel() for p in parameters),
        "tensors": len(parameters),
    }


def record_costs(history_steps: int = HISTORY_STEPS, calls: int = 3) -> dict[str, Any]:
    """Median seconds of ``report()``, ``forecast()`` and ``metrics()`` after ``history_steps``
    monitored steps, and the warnings they raised."""
    total = 2 * history_steps
    trainer = _Trainer(1, schedule=_cosine(total))
    trainer.run(history_steps)
    monitor = trainer.monitor
    future = [LR * _cosine(total)(step) for step in range(history_steps, total)]
    calls_by_label = {
        "report()": monitor.report,
        f"forecast({len(future)} steps)": lambda: monitor.forecast(future),
        "metrics()": monitor.metrics,
    }
    seconds: dict[str, float] = {}
    raised: list[str] = []
    for label, call in calls_by_label.items():
        samples = []
        for _ in range(calls):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                call()
                samples.append(time.perf_counter() - start)
            raised += [f"{label}: {w.category.__name__}: {w.message}" for w in caught]
        seconds[label] = statistics.median(samples)
    return {"steps": monitor.steps, "seconds": seconds, "warnings": sorted(set(raised))}


def monitor_report(
    rounds: int = ROUNDS,
    steps: int = STEPS,
    warmup: int = WARMUP,
    history_steps: int = HISTORY_STEPS,
) -> str:
    """The section's text (one thread for torch while it runs; the previous count restored)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        measured = overhead(rounds, steps, warmup)
        costs = record_costs(history_steps)
    finally:
        torch.set_num_threads(threads)
    spec = MODEL
    lines = [
        f"monitor overhead: MLP {spec.inputs}-{spec.hidden}x{spec.layers} (LayerNorm)-"
        f"{spec.classes}, batch {spec.batch}, {measured['parameters']} parameters in "
        f"{measured['tensors']} tensors, AdamW, CPU, 1 thread",
        f"{'step time (paired rounds)':<28} {'median ms':>9} {'min-max ms':>13} "
        f"{'x plain':>8} {'min-max':>13}   ({rounds} rounds of {steps} steps)",
    ]
    for label, values in measured["times"].items():
        ms = [1e3 * v for v in values]
        ratios = measured["ratios"][label]
        lines.append(
            f"{label:<28} {statistics.median(ms):>9.3f} {min(ms):>6.3f}-{max(ms):<6.3f} "
            f"{statistics.median(ratios):>8.4f} {min(ratios):>6.3f}-{max(ratios):.3f}"
        )
    every1 = statistics.median(measured["ratios"]["every=1"]) - 1
    lines += [
        "",
        f"bar: overhead at every=1 <= {OVERHEAD_BAR:.0%} -> "
        f"{'met' if every1 <= OVERHEAD_BAR else 'MISSED'} ({every1:+.1%}, median of "
        "per-round ratios)",
        "",
        f"on a {costs['steps']}-step history (every=1): "
        + ", ".join(f"{label} {1e3 * s:.1f} ms" for label, s in costs["seconds"].items()),
    ]
    lines += [f"warning: {w}" for w in costs["warnings"]]
    return "\n".join(lines)


if __name__ == "__main__":
    print(monitor_report())

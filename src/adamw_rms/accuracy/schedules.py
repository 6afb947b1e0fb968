"""Part 2's trajectory formulas against the numba sweep on cosine, WSD and linear schedules.

One task carrying every run of ``SCHEDULE_RUNS``, at the source's settings (weight decay 0.1,
betas 0.9/0.95, eps 0, no bias correction, init_rms 0.1), recorded at ``SCHEDULE_RECORD``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data import FILES, SCHEDULE_COLUMNS, settings, z_score
from ..formulas import FORMULAS
from .precision import precise_sweep, trajectory
from .report import pct
from .tasks import Task, freeze

__all__ = [
    "COLUMNS",
    "FILE",
    "NAME",
    "SEED",
    "VERSION",
    "report",
    "rows",
    "run",
    "run_learning_rates",
    "tasks",
]  # fmt: skip

NAME = "schedules"
FILE = FILES[NAME]
COLUMNS = SCHEDULE_COLUMNS
#: Part of every task's key in the task store (see :data:`adamw_rms.accuracy.grid.VERSION`).
VERSION = 1
#: The seed of the study's one sweep (every schedule advances on the same gradients).
SEED = 7000

Rows = list[dict[str, Any]]


def tasks(size: str = "full") -> list[Task]:
    """One task carrying every schedule run of ``size``."""
    s = settings(size)
    parameters = {
        "runs": s.schedule_runs,
        "peak": s.schedule_peak,
        "steps": s.schedule_steps,
        "record_steps": s.schedule_record,
    }
    return [Task(NAME, 0, freeze(parameters), SEED, s.schedule_n, s.target_rel_se)]


def run_learning_rates(run: dict[str, Any], peak: float, steps: int) -> np.ndarray:
    """The per-step learning rate of one entry of ``SCHEDULE_RUNS``."""
    from .. import schedules

    if run["shape"] == "wsd":
        return schedules.wsd(peak, steps, warmup=run["warmup"], decay=run["decay"])
    shape = schedules.SCHEDULES[run["shape"]]
    return shape(peak, run["final"], steps, warmup=run["warmup"])


def _configs(task: Task, n: int) -> list[Any]:
    from ..simulation import SimulationConfig

    return [
        SimulationConfig.source(
            steps=task["steps"],
            lr=run_learning_rates(dict(spec), task["peak"], task["steps"]),
            n=n,
            seed=task.seed,
            record_steps=task["record_steps"],
        )
        for _, spec in task["runs"]
    ]


def run(task: Task) -> Rows:
    """The rows of ``task``: per run, formula and recorded step. Every schedule advances on
    the same gradients (one sweep; the source's settings, see :func:`_configs`)."""
    from ..simulation.sweep import Variant

    source = _configs(task, 2)[0]
    variants = [
        Variant(config.lr, config.weight_decay, config.bias_correction, config.init_rms, config.eps)
        for config in _configs(task, 2)
    ]
    result = precise_sweep(
        variants, n_start=task.n_start, target_rel_se=task.target_rel_se,
        estimator=task.estimator, beta1=source.beta1,
        beta2=source.beta2, steps=task["steps"], record_steps=task["record_steps"],
        seed=task.seed,
    )  # fmt: skip
    measured = [trajectory(result, k, task.estimator) for k in range(len(variants))]
    return rows(task, measured, result.n)


def rows(task: Task, results: list[Any], n: int) -> Rows:
    """The rows of ``task`` from one result per run (``steps``, ``weight_rms``,
    ``weight_rms_se``, as :class:`~adamw_rms.simulation.SimulationResult`)."""
    out: Rows = []
    for (name, _), config, result in zip(task["runs"], _configs(task, n), results, strict=True):
        for formula in FORMULAS:
            if formula.target != "weight_rms" or formula.applies(config) is not None:
                continue
            predicted = formula.predictions(config, result.steps)
            for step, value, simulated, se in zip(
                result.steps, predicted, result.weight_rms, result.weight_rms_se, strict=True
            ):
                value, simulated, se = float(value), float(simulated), float(se)
                out.append(
                    {
                        "schedule": name, "method": formula.name.removeprefix("schedule_"),
                        "step": int(step), "n": n, "predicted": value, "simulated": simulated,
                        "se": se, "rel_se": se / simulated, "rel_error": value / simulated - 1.0,
                        "z": z_score(value, simulated, se),
                    }
                )  # fmt: skip
    return out


def report(rows: Rows, size: str = "full") -> str:
    """The schedules section of ``accuracy.md``: each part-2 formula's error along each run."""
    from ..estimators.schedules import METHODS

    s = settings(size)
    steps = sorted({int(r["step"]) for r in rows})
    lines = [
        "## Schedules (part 2): the trajectory formulas",
        "",
        f"`weight_rms_trajectory(lr, 0.1, beta1=0.9, init_rms=0.1, method=...)` against the "
        "numba sweep (one sweep carries every schedule on the same gradients) over "
        f"{s.schedule_steps} steps (weight decay 0.1, betas 0.9/0.95, eps 0, "
        f"no bias correction, θ₀ = 0.1·N(0, 1), {int(rows[0]['n'])} coordinates; relative "
        f"error ± SE at each step).",
        "",
    ]
    for name in s.schedule_runs:
        lines += [f"**{name}**", "", "| method | " + " | ".join(f"t = {t}" for t in steps) + " |"]
        lines.append("|---|" + "---|" * len(steps))
        for method in METHODS:
            cells = [
                f"{pct(r['rel_error'])} ± {r['rel_se']:.2%}"
                for r in rows
                if r["schedule"] == name and r["method"] == method
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)

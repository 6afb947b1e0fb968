"""eq:theta-rms and the update RMS, derived for eps -> 0, at eps comparable to the noise.

One task: for each eps of ``EPS_STUDY`` a sweep at SNR = 0 with bias correction off and on,
recorded at each ``t * lr * weight_decay`` of the study.
"""

from __future__ import annotations

import math
from typing import Any

from ..data import EPS_COLUMNS, FILES, point_row, settings
from ..formulas import FORMULAS
from .precision import precise_sweep, variants_of
from .report import pct
from .tasks import Task, freeze

__all__ = ["COLUMNS", "FILE", "MEASURED", "NAME", "SEED", "VERSION", "report", "rows", "run",
           "tasks"]  # fmt: skip

NAME = "eps"
FILE = FILES[NAME]
COLUMNS = EPS_COLUMNS
#: Part of every task's key in the task store (see :data:`adamw_rms.accuracy.grid.VERSION`).
VERSION = 1
#: The formulas this study is about (of those the registry says apply).
MEASURED = ("theta_rms", "update_rms")
#: The seed of the study's one sweep (every eps advances on the same gradients).
SEED = 5000

Rows = list[dict[str, Any]]


def tasks(size: str = "full") -> list[Task]:
    """One task carrying every eps of the study of ``size``."""
    s = settings(size)
    study = s.eps_study
    decay = study["decay"]
    lr = decay / s.weight_decay
    parameters = {
        "beta1": study["beta1"],
        "beta2": study["beta2"],
        "decay": decay,
        "eps": study["eps"],
        "record_steps": tuple(round(t / decay) for t in study["t_decay"]),
        "variants": [(lr, s.weight_decay, bias, 0.0) for bias in (False, True)],
    }
    return [Task(NAME, 0, freeze(parameters), SEED, s.n_noise, s.target_rel_se)]


def run(task: Task) -> Rows:
    """The rows of ``task``: per eps, eq:theta-rms per bias setting and step, then the update
    RMS per bias setting. Every eps runs on the same gradients (one sweep, one update family
    per eps and bias setting)."""
    from ..simulation.sweep import Variant

    record = task["record_steps"]
    variants = [
        Variant(lr, weight_decay, bias, init, eps=eps)
        for eps in task["eps"]
        for lr, weight_decay, bias, init in task["variants"]
    ]
    result = precise_sweep(
        variants, n_start=task.n_start, target_rel_se=task.target_rel_se,
        estimator=task.estimator, beta1=task["beta1"],
        beta2=task["beta2"], steps=record[-1], record_steps=record, seed=task.seed,
    )  # fmt: skip
    per_eps = len(task["variants"])
    views = [
        variants_of(
            result, range(j * per_eps, (j + 1) * per_eps), eps=eps, estimator=task.estimator
        )
        for j, eps in enumerate(task["eps"])
    ]
    return rows(task, views, result.n)


def _config(task: Task, eps: float, variant: tuple, n: int) -> Any:
    from ..simulation import SimulationConfig

    lr, weight_decay, bias, init = variant
    record = task["record_steps"]
    return SimulationConfig(
        lr=lr, weight_decay=weight_decay, beta1=task["beta1"], beta2=task["beta2"], eps=eps,
        bias_correction=bias, steps=record[-1], n=n, init_rms=init,
    )  # fmt: skip


def rows(task: Task, results: list[Any], n: int) -> Rows:
    """The rows of ``task`` from one sweep result per eps (see :func:`.grid.rows`)."""
    beta1, beta2 = task["beta1"], task["beta2"]
    chosen = [f for f in FORMULAS if f.name in MEASURED]
    out: Rows = []
    for eps, result in zip(task["eps"], results, strict=True):
        for k, variant in enumerate(task["variants"]):
            lr, weight_decay, bias, init = variant
            config = _config(task, eps, variant, n)
            for position, step in enumerate(result.steps):
                step = int(step)
                simulated = float(result.weight_rms[k, position])
                se = float(result.weight_rms_se[k, position])
                for formula in chosen:
                    if formula.target != "weight_rms" or formula.applies(config) is not None:
                        continue
                    out.append(
                        point_row(
                            formula.name,
                            beta1,
                            beta2,
                            0.0,
                            n,
                            float(formula.predict(config, step)),
                            simulated,
                            se,
                            eps=eps,
                            decay=task["decay"],
                            t_decay=step * task["decay"],
                            step=step,
                            bias_correction=float(bias),
                            init_rms=init,
                            lr=lr,
                            weight_decay=weight_decay,
                        )
                    )
        lr, weight_decay, _, init = task["variants"][0]
        for bias, (rms, se) in result.update_rms.items():
            config = _config(task, eps, (lr, weight_decay, bool(bias), init), n)
            step = int(result.steps[-1])
            for formula in chosen:
                if formula.target != "update_rms" or formula.applies(config) is not None:
                    continue
                out.append(
                    point_row(
                        formula.name,
                        beta1,
                        beta2,
                        0.0,
                        n,
                        float(formula.predict(config, step)),
                        float(rms),
                        float(se),
                        eps=eps,
                        decay=math.nan,
                        t_decay=math.nan,
                        step=step,
                        bias_correction=float(bias),
                        init_rms=math.nan,
                        lr=math.nan,
                        weight_decay=math.nan,
                    )
                )
    return out


def report(rows: Rows, size: str = "full") -> str:
    """The eps section of ``accuracy.md``."""
    study = settings(size).eps_study
    lines = [
        "## eps comparable to the gradient noise",
        "",
        "The formulas are derived for eps → 0. With gradient std σ = 1, "
        f"beta1 = {study['beta1']:g}, beta2 = {study['beta2']:g}, SNR = 0, "
        f"lr·wd = {study['decay']:g}, init_rms = 0 (relative error, ± SE):",
        "",
        "| eps / σ | quantity | bias correction | error |",
        "|---|---|---|---|",
    ]
    for row in rows:
        quantity = (
            f"weight RMS at t·lr·wd = {row['t_decay']:g}"
            if row["formula"] == "theta_rms"
            else "update RMS"
        )
        lines.append(
            f"| {row['eps']:g} | {quantity} | {'on' if row['bias_correction'] else 'off'} | "
            f"{pct(row['rel_error'])} ± {row['rel_se']:.2%} |"
        )
    return "\n".join(lines) + "\n"

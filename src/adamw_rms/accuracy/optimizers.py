"""Lion, SGD with momentum and Adam with L2 against their own simulations (issue 17).

One task per run of :data:`adamw_rms.data.OPTIMIZER_STUDY` and SNR: the numba engine runs the
optimizer (``SimulationConfig(update=...)``) and records the weight RMS at each ``t_decay``;
every registry formula that applies to the configuration (:mod:`adamw_rms.formulas`: the
package's formula and REQ's) predicts each recorded step. Muon, whose coordinates are not
independent (an orthogonalised matrix), is measured on the real optimizer by its own study,
:mod:`adamw_rms.accuracy.muon`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..data import FILES, OPTIMIZER_COLUMNS, settings, z_score
from ..formulas import FORMULAS
from .report import error_range, pct
from .tasks import Task, freeze

__all__ = ["COLUMNS", "FILE", "NAME", "OPTIMIZERS", "SEED", "VERSION", "report", "rows", "run",
           "tasks"]  # fmt: skip

NAME = "optimizers"
FILE = FILES[NAME]
COLUMNS = OPTIMIZER_COLUMNS
#: Part of every task's key in the task store (see :data:`adamw_rms.accuracy.grid.VERSION`).
VERSION = 1
#: Seeds: 12000 + the task's index.
SEED = 12000
#: The optimizers of the study, as ``SimulationConfig.update`` names them, with their bars.
OPTIMIZERS = {
    "lion": "Lion",
    "sgd": "SGD with momentum",
    "adam_l2": "Adam with L2",
}

Rows = list[dict[str, Any]]


def timescale(
    optimizer: str, lr: float, weight_decay: float, grad_std: float, beta2: float = 0.999
) -> float:
    """Steps per timescale: ``1 / (lr * wd)``; for Adam with L2 ``grad_std / (lr * wd)`` (its
    decay is divided by ``sqrt(v)``, about ``grad_std``) or, where that is shorter, v's memory
    ``1 / (1 - beta2)`` (at a large ``lr * wd / grad_std`` the weights settle within a few steps
    and v's average is the slower part)."""
    if optimizer == "adam_l2":
        return max(grad_std / (lr * weight_decay), 1 / (1 - beta2))
    return 1 / (lr * weight_decay)


def _beta2(options: dict[str, Any]) -> float:
    return float(options.get("beta2", 0.999))


def setting(optimizer: str, options: dict[str, Any]) -> str:
    """A short label of the run's options (``"beta1=0.9 beta2=0.99"``, ``"plain"``)."""
    if not options:
        return "plain"
    return " ".join(f"{key}={value:g}" if not isinstance(value, bool) else key
                    for key, value in options.items())  # fmt: skip


def tasks(size: str = "full") -> list[Task]:
    """One task per (run, SNR) of the study of ``size``."""
    study = settings(size).optimizer_study
    out = []
    index = 0
    for optimizer, options, lr, weight_decay, grad_std in study["runs"]:
        steps_per = timescale(optimizer, lr, weight_decay, grad_std, _beta2(dict(options)))
        record = tuple(max(1, round(t * steps_per)) for t in study["t_decay"])
        for snr in study["snr"]:
            parameters = {
                "optimizer": optimizer,
                "options": dict(options),
                "lr": lr,
                "weight_decay": weight_decay,
                "grad_std": grad_std,
                "snr": snr,
                "record_steps": record,
                "t_decay": study["t_decay"],
            }
            target = settings(size).target_rel_se
            out.append(Task(NAME, index, freeze(parameters), SEED + index, study["n"], target))
            index += 1
    return out


def _options(task: Task) -> dict[str, Any]:
    return dict(task["options"])


def _config(task: Task, n: int) -> Any:
    from ..simulation import SimulationConfig

    options = _options(task)
    return SimulationConfig(
        lr=task["lr"], weight_decay=task["weight_decay"], steps=task["record_steps"][-1], n=n,
        grad_mean=math.sqrt(task["snr"]) * task["grad_std"], grad_std=task["grad_std"],
        record_steps=task["record_steps"], update=task["optimizer"], seed=task.seed, **options,
    )  # fmt: skip


def run(task: Task) -> Rows:
    """The rows of ``task``: one numba run of ``task.n_start`` coordinates, every applicable
    registry formula at every recorded step."""
    from ..simulation import simulate

    config = _config(task, task.n_start)
    result = simulate(config, engine="numba", progress=False)
    return rows(task, result, config.n)


def rows(task: Task, result: Any, n: int) -> Rows:
    """The rows of ``task`` from its simulation ``result`` over ``n`` coordinates (``steps``,
    ``weight_rms``, ``weight_rms_se``, as :class:`~adamw_rms.simulation.SimulationResult`)."""
    config = _config(task, n)
    measured = [f for f in FORMULAS if f.target == "weight_rms" and f.applies(config) is None]
    steps_per = timescale(task["optimizer"], task["lr"], task["weight_decay"], task["grad_std"],
                          _beta2(_options(task)))  # fmt: skip
    label = setting(task["optimizer"], _options(task))
    out: Rows = []
    for step, simulated, se in zip(
        result.steps, result.weight_rms, result.weight_rms_se, strict=True
    ):
        step, simulated, se = int(step), float(simulated), float(se)
        for formula in measured:
            predicted = float(formula.predict(config, step))
            row = {
                "optimizer": task["optimizer"], "setting": label, "formula": formula.name,
                "snr": task["snr"], "grad_std": task["grad_std"], "lr": task["lr"],
                "weight_decay": task["weight_decay"], "t_decay": step / steps_per, "step": step,
                "n": config.n, "predicted": predicted, "simulated": simulated, "se": se,
                "rel_se": se / simulated, "rel_error": predicted / simulated - 1.0,
                "z": z_score(predicted, simulated, se),
            }  # fmt: skip
            out.append(row)
    return out


def report(rows: Rows, size: str = "full") -> str:
    """The section of ``accuracy.md`` on the other optimizers."""
    study = settings(size).optimizer_study
    final = max(study["t_decay"])
    lines = [
        "## Other optimizers: Lion, SGD with momentum, Adam with L2",
        "",
        "Each optimizer simulated by the numba engine (`SimulationConfig(update=...)`, "
        f"n = {study['n']} coordinates, iid Gaussian gradients, SNR ∈ "
        f"{{{', '.join(f'{v:g}' for v in study['snr'])}}}), recorded at t ∈ "
        f"{{{', '.join(f'{v:g}' for v in study['t_decay'])}}} timescales (1/(lr·wd); "
        "for Adam with L2 σ/(lr·wd), or 1/(1−β2) where that is longer). The package's "
        "formulas: `lion_weight_rms` (exact: the arcsine and orthant laws), `sgd_weight_rms` "
        "(exact: linear and Gaussian), "
        "`adam_l2_weight_rms` (mean field); `*_req` are REQ's equilibrium formulas (Kosson et "
        "al., ICML 2024) at SNR = 0. The Adam with L2 runs at lr·wd/σ = 100 and 300 (β2 = 0.95) "
        "are where `adam_l2_weight_rms` issues its `AccuracyWarning` ((1−β2)·√E[v]/σ above "
        "0.12, its dropped fluctuation of v): they show the mean field beyond 3%, and the "
        "ranges below include them. Relative error of each formula (SE in the last column):",
        "",
        "| optimizer | options | lr | wd | σ | SNR | formula | "
        + " | ".join(f"t = {t:g}" for t in study["t_decay"])
        + " | SE at the end |",
        "|---|---|---|---|---|---|---|" + "---|" * len(study["t_decay"]) + "---|",
    ]
    keyed: dict[tuple, dict[float, dict[str, Any]]] = {}
    for r in rows:
        key = (r["optimizer"], r["setting"], r["lr"], r["weight_decay"], r["grad_std"],
               r["snr"], r["formula"])  # fmt: skip
        keyed.setdefault(key, {})[round(r["t_decay"], 6)] = r
    for key, by_t in keyed.items():
        optimizer, label, lr, weight_decay, grad_std, snr, name = key
        cells = []
        for t in study["t_decay"]:
            r = by_t.get(round(t, 6))
            cells.append(pct(r["rel_error"]) if r else "-")
        last = by_t[max(by_t)]
        lines.append(
            f"| {OPTIMIZERS[optimizer]} | {label} | {lr:g} | {weight_decay:g} | {grad_std:g} | "
            f"{snr:g} | `{name}` | " + " | ".join(cells) + f" | {last['rel_se']:.2%} |"
        )
    lines += [
        "",
        f"Range of the relative error per formula, every point, and at t = {final:g}:",
        "",
        "| formula | every point | at the end | worst \\|error\\| − 2 SE |",
        "|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["formula"] for r in rows):
        chosen = [r for r in rows if r["formula"] == name]
        errors = np.array([r["rel_error"] for r in chosen])
        ends = np.array([r["rel_error"] for r in chosen if math.isclose(r["t_decay"], final)])
        beyond = max(abs(r["rel_error"]) - 2 * r["rel_se"] for r in chosen)
        lines.append(
            f"| `{name}` | {error_range(errors)} | {error_range(ends)} | {pct(max(beyond, 0.0))} |"
        )
    return "\n".join(lines) + "\n"

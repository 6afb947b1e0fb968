"""SignSGDMW (``update="sign_sgdm"``): the source's formula and the arcsine-law correction.

One task per ``(beta1, SNR)`` of ``SIGN_GRID``: one sign sweep carries every
``(lr * weight_decay, init_rms)`` on the same gradients and records every
``t * lr * weight_decay``. ``beta2``, eps
and bias correction do not enter a sign update.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..data import COLUMNS, FILES, point_row, settings
from ..formulas import FORMULAS, sign_update
from .precision import precise_sweep, trajectory
from .report import error_range, pct, scientific
from .tasks import Task, freeze

__all__ = ["COLUMNS", "FILE", "NAME", "SEED", "SIGN_FORMULAS", "VERSION", "report", "rows",
           "run", "tasks"]  # fmt: skip

NAME = "sign"
FILE = FILES[NAME]
#: Part of every task's key in the task store (see :data:`adamw_rms.accuracy.grid.VERSION`).
VERSION = 1
#: The SignSGDMW formulas of the registry: the corrected (arcsine law) and the source's.
SIGN_FORMULAS = tuple(f.name for f in FORMULAS if sign_update in f.requires)
#: Seeds: 9000 + the task's index (its runs share the gradients).
SEED = 9000

Rows = list[dict[str, Any]]


def tasks(size: str = "full") -> list[Task]:
    """One task per ``(beta1, SNR)`` of the sign grid of ``size``, each carrying every
    ``(lr * weight_decay, init_rms)``."""
    s = settings(size)
    grid = s.sign_grid
    runs = list(itertools.product(grid["decay"], grid["init_rms"]))
    out = []
    for index, (beta1, snr) in enumerate(itertools.product(grid["beta1"], grid["snr"])):
        parameters = {
            "beta1": beta1,
            "snr": snr,
            "weight_decay": s.weight_decay,
            "runs": runs,
            "t_decay": grid["t_decay"],
        }
        out.append(
            Task(
                NAME,
                index,
                freeze(parameters),
                seed=SEED + index,
                n_start=s.n_noise if snr == 0 else s.n_drift,
                target_rel_se=s.target_rel_se,
            )
        )
    return out


def _config(task: Task, k: int, n: int) -> Any:
    from ..simulation import SimulationConfig

    decay, init = task["runs"][k]
    record = _record(task, decay)
    return SimulationConfig(
        lr=decay / task["weight_decay"], weight_decay=task["weight_decay"], beta1=task["beta1"],
        steps=record[-1], n=n, grad_mean=math.sqrt(task["snr"]), grad_std=1.0, init_rms=init,
        record_steps=record, update="sign_sgdm", seed=task.seed,
    )  # fmt: skip


def run(task: Task) -> Rows:
    """The rows of ``task``: per run, recorded step and SignSGDMW formula. Every run of the
    task -- each ``(lr * weight_decay, init_rms)`` -- advances on the same gradients (one
    sign sweep)."""
    from ..simulation.sweep import Variant

    records = [_record(task, decay) for decay, _ in task["runs"]]
    variants = [
        Variant(
            decay / task["weight_decay"], task["weight_decay"], init_rms=init, record_steps=record
        )
        for (decay, init), record in zip(task["runs"], records, strict=True)
    ]
    result = precise_sweep(
        variants, n_start=task.n_start, target_rel_se=task.target_rel_se,
        estimator=task.estimator, beta1=task["beta1"],
        steps=max(r[-1] for r in records), grad_mean=math.sqrt(task["snr"]),
        record_steps=sorted({s for r in records for s in r}), seed=task.seed,
        update="sign_sgdm",
    )  # fmt: skip
    measured = [trajectory(result, k, task.estimator) for k in range(len(variants))]
    return rows(task, measured, result.n)


def _record(task: Task, decay: float) -> tuple[int, ...]:
    return tuple(round(t / decay) for t in task["t_decay"])


def rows(task: Task, results: list[Any], n: int) -> Rows:
    """The rows of ``task`` from one result per run (``steps``, ``weight_rms``,
    ``weight_rms_se``, as :class:`~adamw_rms.simulation.SimulationResult`)."""
    out: Rows = []
    for k, result in enumerate(results):
        config = _config(task, k, n)
        decay, init = task["runs"][k]
        measured = [f for f in FORMULAS if f.target == "weight_rms" and f.applies(config) is None]
        for step, simulated, se in zip(
            result.steps, result.weight_rms, result.weight_rms_se, strict=True
        ):
            step = int(step)
            for formula in measured:
                out.append(
                    point_row(
                        formula.name,
                        task["beta1"],
                        math.nan,
                        task["snr"],
                        n,
                        float(formula.predict(config, step)),
                        float(simulated),
                        float(se),
                        decay=decay,
                        t_decay=step * decay,
                        step=step,
                        bias_correction=math.nan,
                        init_rms=init,
                        lr=decay / task["weight_decay"],
                        weight_decay=task["weight_decay"],
                    )
                )
    return out


def _rare_flips(rows: Rows) -> list[str]:
    """A note on the points whose spread comes from a few rare sign flips, if any."""
    arcsine = [r for r in rows if r["formula"] == SIGN_FORMULAS[0]]
    rare = [r for r in arcsine if r["rel_se"] < 1e-6]
    if not rare:
        return []
    snrs = ", ".join(f"{v:g}" for v in sorted({r["snr"] for r in rare}))
    return [
        f"At {len(rare)} of {len(arcsine)} points (SNR ∈ {{{snrs}}}) the momentum almost never "
        "changes sign: their spread over coordinates comes from a handful of flips, or none "
        "(SE 0), so the stated SE (relative SE below 1e-6) understates the uncertainty "
        "there; the rare flips' effect on the RMS is still orders of magnitude below the "
        "target SE.",
        "",
    ]


def report(rows: Rows, size: str = "full") -> str:
    """The SignSGDMW section of ``accuracy.md``: both formulas against simulation."""
    s = settings(size)
    grid = s.sign_grid
    final = max(grid["t_decay"])

    def values(key: str, form: Any = lambda v: f"{v:g}") -> str:
        return "{" + ", ".join(form(v) for v in grid[key]) + "}"

    lines = [
        "## SignSGDMW: the source's formula and the arcsine-law correction",
        "",
        "`u = sign(m)` with decoupled weight decay, simulated by the numba sweep (one per β1 "
        "and SNR, every lr·wd and init_rms on the same gradients) on the grid "
        f"β1 ∈ {values('beta1')}, SNR ∈ {values('snr')}, lr·wd ∈ "
        f"{values('decay', scientific)}, t·lr·wd ∈ {values('t_decay')}, init_rms ∈ "
        f"{values('init_rms')} (SE ≤ {s.target_rel_se:.1%} per point). "
        '`sign_arcsine` is `sign_sgdm_weight_rms(..., formula="arcsine")` (the lag sum of '
        "the arcsine-law autocovariances, derived in `derivations/sign_sgdm.md`); "
        "`sign_source` is the source's mean-field formula.",
        "",
        *_rare_flips(rows),
        f"Steady state (t·lr·wd = {final:g}), SNR = 0, init_rms = 0 (relative error ± SE):",
        "",
        "| β1 | lr·wd | arcsine | source |",
        "|---|---|---|---|",
    ]
    steady = [r for r in rows if r["t_decay"] == final and r["snr"] == 0.0 and r["init_rms"] == 0.0]
    keyed = {(r["formula"], r["beta1"], r["decay"]): r for r in steady}
    for beta1 in grid["beta1"]:
        for decay in grid["decay"]:
            arcsine = keyed.get(("sign_arcsine", beta1, decay))
            source = keyed.get(("sign_source", beta1, decay))
            if arcsine is None or source is None:
                lines.append(f"| {beta1:g} | {decay:g} | - | - |")
                continue
            lines.append(
                f"| {beta1:g} | {decay:g} | {pct(arcsine['rel_error'])} ± "
                f"{arcsine['rel_se']:.2%} | {pct(source['rel_error'])} |"
            )
    lines += [
        "",
        "Range of the relative error over every grid point, by β1:",
        "",
        "| β1 | arcsine | source |",
        "|---|---|---|",
    ]
    for beta1 in grid["beta1"]:
        ranges = []
        for name in SIGN_FORMULAS:
            errors = np.array(
                [r["rel_error"] for r in rows if r["formula"] == name and r["beta1"] == beta1]
            )
            ranges.append(error_range(errors))
        lines.append(f"| {beta1:g} | {ranges[0]} | {ranges[1]} |")
    return "\n".join(lines) + "\n"

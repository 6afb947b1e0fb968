"""eps at and above the gradient noise: the source's formula and the corrected one against
simulation, from eps / sigma = 10 down to 1e-8.

PyTorch's eps = 1e-8 is fixed and the gradient std sigma (``grad_std``) varies, from 1e-9 to 1
(``EPS_STUDY``). One task per sigma: a sweep at SNR = 0, ``grad_std = sigma``, with bias
correction off and on, recorded at each ``t * lr * weight_decay`` of the study. Every task
has the same seed, so every sigma advances on the same normal draws (the gradients are
``sigma`` times them): the points differ by eps / sigma alone.

Only eps / sigma enters: the update is unchanged by ``g -> c g, eps -> c eps``. The sweep
runs at the study's actual sigma (down to 1e-9, where v ~ 1e-18, far above float64's
underflow): on the same draws it agrees with the sweep at sigma = 1 and eps = eps / sigma to
rounding (the weight RMS to 1e-15, its standard error to 1e-11;
``tests/test_accuracy_pipeline.py``), so nothing is rescaled.
"""

from __future__ import annotations

import math
from typing import Any

from ..data import EPS_COLUMNS, FILES, point_row, settings
from ..formulas import FORMULAS
from .precision import precise_sweep, variants_of
from .report import pct, scientific
from .tasks import Task, freeze

__all__ = ["COLUMNS", "FILE", "MEASURED", "NAME", "PAIRS", "SEED", "VERSION", "report", "rows",
           "run", "tasks"]  # fmt: skip

NAME = "eps"
FILE = FILES[NAME]
COLUMNS = EPS_COLUMNS
#: Part of every task's key in the task store (see :data:`adamw_rms.accuracy.grid.VERSION`).
VERSION = 2
#: The formulas this study is about (of those the registry says apply): the source's weight and
#: update RMS (derived for eps -> 0) and the corrected ones (eps / sigma included).
MEASURED = ("theta_rms", "theta_rms_corrected", "update_rms", "update_rms_corrected")
#: (source's formula, corrected formula) per quantity, as the report pairs them.
PAIRS = (("theta_rms", "theta_rms_corrected"), ("update_rms", "update_rms_corrected"))
#: The seed of every task (each sigma advances on the same normal draws).
SEED = 5000

Rows = list[dict[str, Any]]


def tasks(size: str = "full") -> list[Task]:
    """One task per gradient std ``sigma`` of the study of ``size``, in the study's order."""
    s = settings(size)
    study = s.eps_study
    decay = study["decay"]
    lr = decay / s.weight_decay
    out = []
    for index, grad_std in enumerate(study["grad_std"]):
        parameters = {
            "beta1": study["beta1"],
            "beta2": study["beta2"],
            "decay": decay,
            "eps": study["eps"],
            "grad_std": grad_std,
            "record_steps": tuple(round(t / decay) for t in study["t_decay"]),
            "variants": [(lr, s.weight_decay, bias, 0.0) for bias in (False, True)],
        }
        out.append(Task(NAME, index, freeze(parameters), SEED, s.n_noise, s.target_rel_se))
    return out


def run(task: Task) -> Rows:
    """The rows of ``task``: per bias setting and recorded step the weight RMS formulas, then
    the update RMS formulas per bias setting (one sweep, one update family per bias setting)."""
    from ..simulation.sweep import Variant

    record = task["record_steps"]
    variants = [
        Variant(lr, weight_decay, bias, init, eps=task["eps"])
        for lr, weight_decay, bias, init in task["variants"]
    ]
    result = precise_sweep(
        variants, n_start=task.n_start, target_rel_se=task.target_rel_se,
        estimator=task.estimator, beta1=task["beta1"], beta2=task["beta2"], steps=record[-1],
        grad_std=task["grad_std"], record_steps=record, seed=task.seed,
    )  # fmt: skip
    view = variants_of(result, range(len(variants)), eps=task["eps"], estimator=task.estimator)
    return rows(task, view, result.n)


def _config(task: Task, variant: tuple, n: int) -> Any:
    from ..simulation import SimulationConfig

    lr, weight_decay, bias, init = variant
    record = task["record_steps"]
    return SimulationConfig(
        lr=lr, weight_decay=weight_decay, beta1=task["beta1"], beta2=task["beta2"],
        eps=task["eps"], bias_correction=bias, steps=record[-1], n=n, grad_std=task["grad_std"],
        init_rms=init,
    )  # fmt: skip


def rows(task: Task, result: Any, n: int) -> Rows:
    """The rows of ``task`` from its sweep ``result`` over ``n`` coordinates (see
    :func:`.grid.rows`)."""
    beta1, beta2, eps, grad_std = task["beta1"], task["beta2"], task["eps"], task["grad_std"]
    chosen = [f for f in FORMULAS if f.name in MEASURED]
    study = {"eps": eps, "grad_std": grad_std, "eps_over_sigma": eps / grad_std}

    def row(name: str, predicted: float, simulated: float, se: float, **where: Any) -> dict:
        point = point_row(name, beta1, beta2, 0.0, n, predicted, simulated, se, **where)
        return {**study, **point}

    out: Rows = []
    for k, variant in enumerate(task["variants"]):
        lr, weight_decay, bias, init = variant
        config = _config(task, variant, n)
        for position, step in enumerate(result.steps):
            step = int(step)
            simulated = float(result.weight_rms[k, position])
            se = float(result.weight_rms_se[k, position])
            for formula in chosen:
                if formula.target != "weight_rms" or formula.applies(config) is not None:
                    continue
                out.append(
                    row(
                        formula.name,
                        float(formula.predict(config, step)),
                        simulated,
                        se,
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
        config = _config(task, (lr, weight_decay, bool(bias), init), n)
        step = int(result.steps[-1])
        for formula in chosen:
            if formula.target != "update_rms" or formula.applies(config) is not None:
                continue
            out.append(
                row(
                    formula.name,
                    float(formula.predict(config, step)),
                    float(rms),
                    float(se),
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


def _number(value: float) -> str:
    """``1/3`` as ``0.333``, ``1e-08`` as ``1e-8``."""
    return f"{value:.3g}" if value >= 1e-3 else scientific(value)


def report(rows: Rows, size: str = "full") -> str:
    """The eps section of ``accuracy.md``: the source's formula and the corrected one side by
    side, per eps / sigma, quantity and bias setting."""
    study = settings(size).eps_study
    lines = [
        "## eps comparable to the gradient noise",
        "",
        "The source's formulas are derived for eps → 0; the corrected ones carry eps / σ. "
        f"eps = {_number(study['eps'])} (PyTorch's default) and the gradient std σ from "
        f"{_number(min(study['grad_std']))} to {_number(max(study['grad_std']))}; "
        f"beta1 = {study['beta1']:g}, beta2 = {study['beta2']:g}, SNR = 0, "
        f"lr·wd = {study['decay']:g}, init_rms = 0. Relative error of each formula, and the "
        "simulation's relative standard error:",
        "",
        "| eps / σ | quantity | bias correction | source's formula | corrected | SE |",
        "|---|---|---|---|---|---|",
    ]
    keyed = {
        (r["formula"], r["grad_std"], r["bias_correction"], r["step"]): r for r in rows
    }  # fmt: skip
    for source, corrected in PAIRS:
        for r in rows:
            if r["formula"] != source:
                continue
            other = keyed.get((corrected, r["grad_std"], r["bias_correction"], r["step"]))
            quantity = (
                f"weight RMS at t·lr·wd = {r['t_decay']:g}"
                if source == "theta_rms"
                else "update RMS"
            )
            lines.append(
                f"| {_number(r['eps_over_sigma'])} | {quantity} | "
                f"{'on' if r['bias_correction'] else 'off'} | {pct(r['rel_error'])} | "
                f"{pct(other['rel_error']) if other else '-'} | {r['rel_se']:.2%} |"
            )
    return "\n".join(lines) + "\n"

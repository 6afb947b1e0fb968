"""Muon: :func:`muon_weight_rms` and the two momentum models against ``torch.optim.Muon``.

One task per row of :data:`adamw_rms.data.MUON_STUDY`: :func:`simulate_muon` runs the real
optimizer (extra ``torch``) on ``matrices`` independent parameters to the end of ``steps``
(several timescales ``1/(lr wd)``, so near equilibrium), and three predictions of the weight
RMS there are compared with it:

* ``estimate``: :func:`muon_weight_rms` (this package: the exact lag sum, the derived update
  mean square ``C_0`` and the measured output correlation ``G``);
* ``kappa_one``: the model ``kappa = 1`` (orthogonalised updates uncorrelated across steps),
  ``lr_adj sqrt(C_0 (1 - beta3^(2t)) / (1 - beta3^2))``;
* ``kappa_linear``: the same times ``sqrt(kappa)`` with linear momentum's factor
  ``kappa = (1 + beta)/(1 - beta)``.

Both models get the derived ``C_0``, so the study tests only their momentum factor;
``effective_kappa`` is the estimate's factor, ``(estimate / kappa_one)^2``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..data import FILES, MUON_COLUMNS, settings, z_score
from ..estimators.muon import adjusted_lr_ratio, muon_weight_rms, update_mean_square
from .report import error_range, pct
from .tasks import Task, freeze

__all__ = ["COLUMNS", "FILE", "NAME", "SEED", "VERSION", "missing", "model", "report", "rows",
           "run", "tasks"]  # fmt: skip

NAME = "muon"
FILE = FILES[NAME]
COLUMNS = MUON_COLUMNS
#: Part of every task's key in the task store (see :data:`adamw_rms.accuracy.grid.VERSION`).
VERSION = 1
#: Seeds: 13000 + the task's index.
SEED = 13000

Rows = list[dict[str, Any]]


def missing() -> str | None:
    """Why the study cannot run here (no PyTorch, or one without ``torch.optim.Muon``), or
    None: ``adamw-rms accuracy`` skips the study with this message instead of failing."""
    try:
        import torch
    except ImportError:
        return "Muon's study needs PyTorch: pip install 'adamw-rms[torch]'"
    if not hasattr(torch.optim, "Muon"):
        return f"Muon's study needs torch.optim.Muon (PyTorch {torch.__version__} has none)"
    return None


def tasks(size: str = "full") -> list[Task]:
    """One task per row of the Muon study of ``size``: ``n_start`` is its number of matrices,
    fixed (the study has no precision loop, so the size's ``target_rel_se`` is carried only
    because every task has one; the report quotes each row's own SE)."""
    target = settings(size).target_rel_se
    out = []
    for index, row in enumerate(settings(size).muon_study):
        shape, adjust, momentum, nesterov, lr, weight_decay, steps, matrices = row
        parameters = {
            "shape": tuple(shape), "adjust_lr_fn": adjust, "momentum": momentum,
            "nesterov": nesterov, "lr": lr, "weight_decay": weight_decay, "steps": steps,
        }  # fmt: skip
        out.append(Task(NAME, index, freeze(parameters), SEED + index, matrices, target))
    return out


def model(
    lr: float,
    weight_decay: float,
    *,
    shape: tuple[int, int],
    adjust_lr_fn: str | None,
    steps: int,
    kappa: float,
) -> float:
    r"""The weight RMS of a model with momentum factor ``kappa`` from zero weights:

    .. math::

        \eta_{\mathrm{adj}} \sqrt{C_0\,\kappa\,(1 - \beta_3^{2t}) / (1 - \beta_3^2)},
        \qquad \beta_3 = 1 - \eta\lambda

    (torch's Muon decays with the unadjusted ``lr``; ``C_0`` is :func:`update_mean_square`).

    Examples
    --------
    >>> from adamw_rms.accuracy.muon import model
    >>> from adamw_rms import muon_weight_rms
    >>> args = dict(shape=(32, 16), adjust_lr_fn=None, steps=100)
    >>> one = model(0.05, 1.0, kappa=1.0, **args)
    >>> round(muon_weight_rms(0.05, 1.0, momentum=0.0, **args) / one, 12)
    1.0
    """
    q = lr * weight_decay
    lr_adj = lr * adjusted_lr_ratio(shape, adjust_lr_fn)
    transient = -math.expm1(2 * steps * math.log1p(-q))  # 1 - beta3^(2t)
    return lr_adj * math.sqrt(update_mean_square(shape) * kappa * transient / (q * (2 - q)))


def run(task: Task) -> Rows:
    """The row of ``task``: one run of ``torch.optim.Muon`` (one thread, seeded by the task,
    so the same bits in any executor) and the three predictions at its last step."""
    import torch

    from ..simulation.muon import simulate_muon

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = simulate_muon(
            task["lr"], task["weight_decay"], shape=task["shape"], steps=task["steps"],
            matrices=task.n_start, momentum=task["momentum"], nesterov=task["nesterov"],
            adjust_lr_fn=task["adjust_lr_fn"], seed=task.seed, record_every=task["steps"],
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    return rows(task, result)


def rows(task: Task, result: Any) -> Rows:
    """The row of ``task`` from its simulation ``result`` (``weight_rms`` and ``weight_rms_se``
    at the last step, as :class:`~adamw_rms.simulation.muon.MuonSimulation`)."""
    shape, adjust = tuple(task["shape"]), task["adjust_lr_fn"]
    lr, weight_decay, steps = task["lr"], task["weight_decay"], task["steps"]
    momentum = task["momentum"]
    simulated, se = float(result.weight_rms[-1]), float(result.weight_rms_se[-1])
    common = {"shape": shape, "adjust_lr_fn": adjust, "steps": steps}
    estimate = float(
        muon_weight_rms(lr, weight_decay, momentum=momentum, nesterov=task["nesterov"], **common)
    )
    one = model(lr, weight_decay, kappa=1.0, **common)
    linear = model(lr, weight_decay, kappa=(1 + momentum) / (1 - momentum), **common)
    row = {
        "rows": shape[0], "cols": shape[1], "adjust_lr_fn": str(adjust), "momentum": momentum,
        "nesterov": task["nesterov"], "lr": lr, "weight_decay": weight_decay, "steps": steps,
        "timescales": steps * lr * weight_decay, "matrices": task.n_start,
        "simulated": simulated, "se": se, "rel_se": se / simulated, "estimate": estimate,
        "kappa_one": one, "kappa_linear": linear,
        "rel_error_estimate": estimate / simulated - 1,
        "rel_error_kappa_one": one / simulated - 1,
        "rel_error_kappa_linear": linear / simulated - 1,
        "z_estimate": z_score(estimate, simulated, se), "effective_kappa": (estimate / one) ** 2,
    }  # fmt: skip
    return [row]


def report(rows: Rows, size: str = "full") -> str:
    """The section of ``accuracy.md`` on Muon."""
    lines = [
        "## Muon: the real torch.optim.Muon",
        "",
        "`torch.optim.Muon` itself (`adamw_rms.simulation.muon.simulate_muon`: float32 "
        "parameters, the optimizer's bfloat16 Newton–Schulz, one thread) on iid N(0, 1) gradient "
        "matrices, `matrices` independent parameters per row, the weight RMS at the last step "
        "(several timescales 1/(lr·wd) in; the SE is over the matrices). Three predictions of it, "
        "all with the same derived update mean square C₀ (`update_mean_square`), so the last two "
        "test only the momentum factor κ: `muon_weight_rms` (the exact lag sum with the measured "
        "output correlation G), κ = 1 (orthogonalised updates uncorrelated across steps) and "
        "κ = (1+β)/(1−β) (linear momentum's factor). *Effective κ*: the estimate's factor "
        "relative to κ = 1 at these lr·wd and steps. Relative error of each prediction:",
        "",
        "| shape | adjust_lr_fn | momentum | nesterov | lr, wd | steps (timescales) | matrices "
        "| simulated RMS (SE) | `muon_weight_rms` | κ = 1 | κ = (1+β)/(1−β) | effective κ |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:.0f}×{r['cols']:.0f} | {r['adjust_lr_fn']} | {r['momentum']:g} "
            f"| {r['nesterov']} | {r['lr']:g}, {r['weight_decay']:g} "
            f"| {r['steps']:.0f} ({r['timescales']:g}) | {r['matrices']:.0f} "
            f"| {r['simulated']:.5f} ({r['se']:.5f}) | {pct(r['rel_error_estimate'])} "
            f"| {pct(r['rel_error_kappa_one'])} | {pct(r['rel_error_kappa_linear'])} "
            f"| {r['effective_kappa']:.2f} |"
        )
    moving = [r for r in rows if r["momentum"] > 0]
    lines += [
        "",
        "Range of the relative error per prediction (with momentum: momentum > 0; at momentum 0 "
        "the three coincide):",
        "",
        "| prediction | every row | with momentum | worst \\|error\\| − 2 SE |",
        "|---|---|---|---|",
    ]
    for label, column in (
        ("`muon_weight_rms`", "rel_error_estimate"),
        ("κ = 1", "rel_error_kappa_one"),
        ("κ = (1+β)/(1−β)", "rel_error_kappa_linear"),
    ):
        every = _errors(rows, column)
        worst = max(abs(r[column]) - 2 * r["rel_se"] for r in rows)
        lines.append(
            f"| {label} | {error_range(every)} | {error_range(_errors(moving, column))} "
            f"| {pct(max(worst, 0.0))} |"
        )
    if size != "full":
        lines += ["", f"(`--size {size}`: tiny matrices and short runs, a check of the pipeline.)"]
    return "\n".join(lines) + "\n"


def _errors(rows: Rows, column: str) -> np.ndarray:
    return np.array([r[column] for r in rows])

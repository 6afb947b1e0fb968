"""The AdamW grid: every constant-schedule AdamW formula on the settings of ``GRID``.

One task per ``(beta1, beta2, SNR)``: one sweep (:mod:`adamw_rms.simulation.sweep`) carries,
on common random numbers, the weight trajectories for every ``lr * weight_decay`` of the grid
(``weight_decay`` fixed), bias correction on and off, every ``init_rms``, plus two trajectories
without weight decay. The weight RMS is read at every ``t * lr * weight_decay`` of the grid and
the update RMS over the last half of the run; the number of coordinates is raised until every
point's relative standard error meets the target (:func:`.precision.until_precise`).

Which formulas a trajectory measures is the registry's answer (:data:`adamw_rms.formulas.FORMULAS`)
for that trajectory's configuration.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..data import COLUMNS, FILES, point_row, settings
from ..formulas import FORMULAS
from .precision import precise_sweep, variants_of
from .report import error_range, pct, power_of_ten
from .tasks import Task, freeze

__all__ = [
    "COLUMNS", "EARLY_WEIGHT_BAR", "FILE", "NAME", "NO_DECAY_INIT_RMS", "PAIRS", "SEED",
    "UPDATE_BAR", "VERSION", "WEIGHT_BAR", "WEIGHT_BAR_FROM", "report", "rows", "run", "tasks",
]  # fmt: skip

NAME = "grid"
FILE = FILES[NAME]
#: Part of every task's key in the task store: raise it to invalidate stored results when the
#: numbers change for a reason outside this package's source.
VERSION = 1
#: The initial RMS of the trajectories without weight decay (their RMS grows from it).
NO_DECAY_INIT_RMS = 0.1
#: Seeds: 1000 + the task's index.
SEED = 1000
#: The bars the report holds the source's and the corrected formulas to (issue 16), each plus
#: 2 standard errors of the point: the weight RMS from 0.3 timescales (``t * lr * wd``), the
#: weight RMS earlier (the grid's 0.1 timescales), and the update RMS.
WEIGHT_BAR, EARLY_WEIGHT_BAR, UPDATE_BAR = 0.005, 0.015, 0.003
#: From this many timescales the weight RMS is held to :data:`WEIGHT_BAR`.
WEIGHT_BAR_FROM = 0.3
#: (the source's formula, the corrected one) for the weight RMS with and without weight decay
#: and for the update RMS, as the report pairs them.
PAIRS = (
    ("theta_rms", "theta_rms_corrected"),
    ("no_decay", "theta_rms_corrected"),
    ("update_rms", "update_rms_corrected"),
)

Rows = list[dict[str, Any]]


def tasks(size: str = "full") -> list[Task]:
    """One task per ``(beta1, beta2, SNR)`` of the grid of ``size``, in grid order."""
    s = settings(size)
    grid = s.grid
    variants = [
        (decay / s.weight_decay, s.weight_decay, bool(bias), init)
        for decay in grid["decay"]
        for bias in grid["bias_correction"]
        for init in grid["init_rms"]
    ]
    variants += [
        (s.no_decay_lr, 0.0, bool(bias), NO_DECAY_INIT_RMS) for bias in grid["bias_correction"]
    ]
    record = tuple(sorted({round(t / decay) for decay in grid["decay"] for t in grid["t_decay"]}))
    out = []
    combos = itertools.product(grid["beta1"], grid["beta2"], grid["snr"])
    for index, (beta1, beta2, snr) in enumerate(combos):
        parameters = {
            "beta1": beta1,
            "beta2": beta2,
            "snr": snr,
            "steps": record[-1],
            "record_steps": record,
            "variants": variants,
            "t_decay": grid["t_decay"],
            # The rows without weight decay give t_decay in units of the smallest grid decay.
            "no_decay_unit": min(grid["decay"]),
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


def run(task: Task) -> Rows:
    """The rows of ``task``: one per (formula, trajectory, recorded step), then the update RMS.

    Each trajectory is advanced only up to the last step it is read at (``t * lr * wd`` of the
    grid; every recorded step for the trajectories without decay).
    """
    from ..simulation.sweep import Variant

    variants = [
        Variant(lr, weight_decay, bias, init, record_steps=_read_at(task, lr * weight_decay))
        for lr, weight_decay, bias, init in task["variants"]
    ]
    result = precise_sweep(
        variants, n_start=task.n_start, target_rel_se=task.target_rel_se,
        estimator=task.estimator, beta1=task["beta1"],
        beta2=task["beta2"], steps=task["steps"], grad_mean=math.sqrt(task["snr"]),
        record_steps=task["record_steps"], seed=task.seed,
    )  # fmt: skip
    return rows(task, variants_of(result, range(len(variants)), estimator=task.estimator), result.n)


def _read_at(task: Task, decay: float) -> tuple[int, ...]:
    """The recorded steps at which a trajectory of ``lr * weight_decay = decay`` is read."""
    if decay == 0:
        return tuple(task["record_steps"])
    return tuple(s for s in task["record_steps"]
                 if any(math.isclose(s * decay, t) for t in task["t_decay"]))  # fmt: skip


def _config(task: Task, variant: tuple, n: int) -> Any:
    from ..simulation import SimulationConfig

    lr, weight_decay, bias, init = variant
    return SimulationConfig(
        lr=lr, weight_decay=weight_decay, beta1=task["beta1"], beta2=task["beta2"], eps=0.0,
        bias_correction=bias, steps=task["steps"], n=n, grad_mean=math.sqrt(task["snr"]),
        grad_std=1.0, init_rms=init,
    )  # fmt: skip


def rows(task: Task, result: Any, n: int) -> Rows:
    """The rows of ``task`` from a sweep ``result`` over ``n`` coordinates.

    ``result`` has ``steps``, ``weight_rms`` and ``weight_rms_se`` (variants x steps) and
    ``update_rms`` (bias correction -> (RMS, SE)), as :class:`~adamw_rms.simulation.sweep.
    SweepResult`.
    """
    beta1, beta2, snr = task["beta1"], task["beta2"], task["snr"]
    out: Rows = []
    for k, variant in enumerate(task["variants"]):
        lr, weight_decay, bias, init = variant
        config = _config(task, variant, n)
        measured = [f for f in FORMULAS if f.target == "weight_rms" and f.applies(config) is None]
        decay = lr * weight_decay
        for position, step in enumerate(result.steps):
            step = int(step)
            t_decay = step * decay
            if decay > 0 and not any(math.isclose(t_decay, t) for t in task["t_decay"]):
                continue
            simulated = float(result.weight_rms[k, position])
            se = float(result.weight_rms_se[k, position])
            where = {
                "decay": decay,
                "t_decay": t_decay if decay > 0 else step * task["no_decay_unit"],
                "step": step,
                "bias_correction": float(bias),
                "init_rms": init,
                "lr": lr,
                "weight_decay": weight_decay,
            }
            for formula in measured:
                predicted = float(formula.predict(config, step))
                out.append(point_row(formula.name, beta1, beta2, snr, n, predicted, simulated,
                                     se, **where))  # fmt: skip
    lr, weight_decay, _, _ = task["variants"][0]
    for bias, (rms, se) in result.update_rms.items():
        config = _config(task, (lr, weight_decay, bool(bias), 0.0), n)
        where = {
            "decay": math.nan, "t_decay": math.nan, "step": int(result.steps[-1]),
            "bias_correction": float(bias), "init_rms": math.nan, "lr": math.nan,
            "weight_decay": math.nan,
        }  # fmt: skip
        for formula in FORMULAS:
            if formula.target == "update_rms" and formula.applies(config) is None:
                predicted = float(formula.predict(config, int(result.steps[-1])))
                out.append(point_row(formula.name, beta1, beta2, snr, n, predicted, float(rms),
                                     float(se), **where))  # fmt: skip
    return out


# ---- the report ---------------------------------------------------------------------------------

_GENERATED = {
    "full": "Generated by `make accuracy` (`adamw-rms accuracy --size full`, about 7 minutes on "
    "2 cores, 5 of them for AdamW's studies) from a simulation of AdamW on iid Gaussian "
    "gradients (the numba sweep: common random numbers, eps = 0, the weight RMS estimated with "
    "the sweep's control variate, `adamw_rms.simulation.sweep`); every point is in "
    "`src/adamw_rms/data/accuracy.csv`.",
    "small": "Generated by `adamw-rms accuracy --size small` (a reduced grid with short runs that "
    "checks the pipeline; `--size full` is the committed measurement) from a simulation of AdamW "
    "on iid Gaussian gradients (the numba sweep: common random numbers, eps = 0); every point is "
    "in `accuracy.csv` next to this file.",
}


def _bar(table: dict[str, np.ndarray]) -> np.ndarray:
    """Each point's bar: :data:`UPDATE_BAR` for the update RMS, else :data:`WEIGHT_BAR` from
    :data:`WEIGHT_BAR_FROM` timescales and :data:`EARLY_WEIGHT_BAR` before. Runs without
    weight decay have no timescale (their t_decay column is lr * t): :data:`WEIGHT_BAR`."""
    t_decay = table["t_decay"].astype(float)
    later = (t_decay >= WEIGHT_BAR_FROM - 1e-12) | (table["weight_decay"].astype(float) == 0)
    weight = np.where(later, WEIGHT_BAR, EARLY_WEIGHT_BAR)
    return np.where(np.isnan(t_decay), UPDATE_BAR, weight)


def _side_by_side(table: dict[str, np.ndarray], s: Any) -> list[str]:
    """The source's formulas and the corrected ones on the same points: per bias correction,
    beta2 and t·lr·wd, the worst error and the share of points within the bar."""
    grid = s.grid
    formula = table["formula"]
    err = table["rel_error"].astype(float)
    within = np.abs(err) <= _bar(table) + 2 * table["rel_se"].astype(float)
    decayed = table["weight_decay"].astype(float) > 0

    def cells(mask: np.ndarray) -> list[str]:
        if not mask.any():
            return ["-", "-"]
        worst = err[mask][int(np.argmax(np.abs(err[mask])))]
        return [pct(float(worst)), f"{int(within[mask].sum())}/{int(mask.sum())}"]

    def pair(k: int, select: np.ndarray) -> list[str]:
        source, corrected = PAIRS[k]
        return cells((formula == source) & select) + cells((formula == corrected) & select)

    columns = "source: worst | within | corrected: worst | within |"
    head, rule = f"| bias correction | beta2 | {columns}", "|---" * 6 + "|"
    bias_values = sorted(grid["bias_correction"], reverse=True)
    on_off = {1.0: "on", 0.0: "off"}
    lines = [
        "## The source's formula and the corrected one",
        "",
        "Both on the same simulated points. *worst*: the relative error of largest magnitude; "
        "*within*: the points with |error| ≤ bar + 2 SE, where the bar is "
        f"{WEIGHT_BAR:.1%} for the weight RMS from t·lr·wd = {WEIGHT_BAR_FROM:g}, "
        f"{EARLY_WEIGHT_BAR:.1%} before, and {UPDATE_BAR:.1%} for the update RMS. "
        "The source's formula is eq:theta-rms (`theta_rms`; `no_decay` without weight decay, "
        '`update_rms` for the update); the corrected one is `formula="corrected"` '
        "(`theta_rms_corrected`, `update_rms_corrected`), which carries β₂, bias correction and "
        "eps.",
        "",
        "### Weight RMS, by t·lr·wd (all β1, SNR, lr·wd and init_rms)",
        "",
        f"| bias correction | beta2 | t·lr·wd | {columns}",
        "|---" * 7 + "|",
    ]
    for bias in bias_values:
        for beta2 in grid["beta2"]:
            for t_decay in grid["t_decay"]:
                select = decayed & (table["bias_correction"] == bias) & (table["beta2"] == beta2)
                select &= np.isclose(table["t_decay"].astype(float), t_decay)
                lines.append(
                    f"| {on_off[bias]} | {beta2:g} | {t_decay:g} | "
                    + " | ".join(pair(0, select)) + " |"
                )  # fmt: skip
    lines += [
        "",
        f"### Weight RMS without weight decay (lr = {s.no_decay_lr:g}, "
        f"init_rms = {NO_DECAY_INIT_RMS:g}, every recorded step; all β1 and SNR)",
        "",
        head,
        rule,
    ]
    for bias in bias_values:
        for beta2 in grid["beta2"]:
            select = ~decayed & (table["bias_correction"] == bias) & (table["beta2"] == beta2)
            lines.append(
                f"| {on_off[bias]} | {beta2:g} | " + " | ".join(pair(1, select)) + " |"
            )  # fmt: skip
    lines += ["", "### Update RMS (steady state; all β1 and SNR)", "", head, rule]
    for bias in bias_values:
        for beta2 in grid["beta2"]:
            select = (table["bias_correction"] == bias) & (table["beta2"] == beta2)
            lines.append(
                f"| {on_off[bias]} | {beta2:g} | " + " | ".join(pair(2, select)) + " |"
            )  # fmt: skip
    return [*lines, ""]


def report(rows: Rows, size: str = "full") -> str:
    """The head of ``accuracy.md`` and the grid's sections: every number comes from ``rows``."""
    s = settings(size)
    grid = s.grid
    table = {key: np.array([row[key] for row in rows]) for key in COLUMNS}
    formula = table["formula"]
    err = table["rel_error"].astype(float)
    lines = [
        "# Measured accuracy of the formulas",
        "",
        _GENERATED[s.size] + " Relative error = predicted / simulated − 1. Each point's standard "
        f"error is at most {s.target_rel_se:.1%} (largest here: "
        f"{float(table['rel_se'].astype(float).max()):.2%}).",
        "",
        "Grid: "
        + "; ".join(f"{k} ∈ {{{', '.join(f'{v:g}' for v in vs)}}}" for k, vs in grid.items())
        + f"; weight_decay = {s.weight_decay:g} (so lr = decay / {s.weight_decay:g}); no-decay "
        f"rows: lr = {s.no_decay_lr:g}, weight_decay = 0, init_rms = {NO_DECAY_INIT_RMS:g}.",
        "",
    ]
    lines += _side_by_side(table, s)
    lines += [
        "## Where each formula is within 1%, 3%, 10%",
        "",
        "| formula | points | within 1% | within 3% | within 10% | range of the error |",
        "|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(formula):
        chosen = err[formula == name]
        share = [f"{np.mean(np.abs(chosen) <= b):.0%}" for b in (0.01, 0.03, 0.10)]
        lines.append(
            f"| `{name}` | {chosen.size} | " + " | ".join(share) + f" | {error_range(chosen)} |"
        )
    lines += [""]

    def grid_table(
        name: str, title: str, select: np.ndarray, columns: str, column_values: tuple[float, ...]
    ) -> None:
        lines.extend([f"### {title}", ""])
        header = " | ".join(f"{columns} = {v:g}" for v in column_values)
        lines.append(f"| beta1 \\ | {header} |")
        lines.append("|---" * (len(column_values) + 1) + "|")
        for beta1 in grid["beta1"]:
            cells = []
            for value in column_values:
                mask = (formula == name) & select & (table["beta1"] == beta1)
                mask &= table[columns] == value
                cells.append(error_range(err[mask]))
            lines.append(f"| beta1 = {beta1:g} | " + " | ".join(cells) + " |")
        lines.append("")

    steady = table["t_decay"].astype(float) >= 3
    transient = table["t_decay"].astype(float) < 3
    for bias, bias_text in ((1.0, "with bias correction"), (0.0, "without bias correction")):
        on = table["bias_correction"] == bias
        zero = table["snr"] == 0.0
        lines += [f"## eq:theta-rms, {bias_text}", ""]
        grid_table(
            "theta_rms", "Steady state (t·lr·wd ≥ 3), SNR = 0, range over lr·wd and init_rms",
            on & steady & zero, "beta2", grid["beta2"],
        )  # fmt: skip
        grid_table(
            "theta_rms", "Transient (t·lr·wd < 3), SNR = 0", on & transient & zero, "beta2",
            grid["beta2"],
        )  # fmt: skip
        grid_table(
            "theta_rms", "All times, by SNR (all beta2)", on, "snr", grid["snr"],
        )  # fmt: skip
    lines += ["## Update RMS", ""]
    updates = formula == "update_rms"
    on = updates & (table["bias_correction"] == 1.0)
    off = updates & (table["bias_correction"] == 0.0)
    gap = float(np.max(np.abs(err[on] - err[off]))) if on.any() and off.any() else math.nan
    steps = round(max(grid["t_decay"]) / min(grid["decay"]))
    lines += [
        f"Averaged over the second half of {power_of_ten(steps)} steps, where the bias "
        "corrections are 1 to double precision (largest difference between on and off: "
        f"{gap:.1e}); the tables show the runs with bias correction.",
        "",
    ]
    grid_table("update_rms", "By beta2 (all SNR)", on, "beta2", grid["beta2"])
    grid_table("update_rms", "By SNR (all beta2)", on, "snr", grid["snr"])
    lines += ["## The other formulas", ""]
    for name, title in (
        ("equilibrium", "eq:theta-rms-simple (sqrt(lr / 2 wd)), SNR = 0, by t·lr·wd"),
        ("quick", "The quick estimate, SNR = 0, by t·lr·wd"),
        ("large_snr", "Large-SNR formula, by SNR (all times)"),
        ("no_decay", f"No weight decay (λ → 0), init_rms = {NO_DECAY_INIT_RMS:g}, by beta2"),
    ):
        column, values = {
            "equilibrium": ("t_decay", grid["t_decay"]),
            "quick": ("t_decay", grid["t_decay"]),
            "large_snr": ("snr", tuple(v for v in grid["snr"] if v > 0)),
            "no_decay": ("beta2", grid["beta2"]),
        }[name]
        grid_table(name, title, np.ones(err.size, dtype=bool), column, values)
    return "\n".join(lines).rstrip() + "\n"

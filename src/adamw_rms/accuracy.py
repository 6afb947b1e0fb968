"""Measure every formula's accuracy on a grid of settings (``make accuracy``).

For each ``(beta1, beta2, SNR)`` of the grid one sweep (:mod:`adamw_rms.simulation.sweep`) runs
``10 / 1e-4 = 10**5`` steps and carries, on common random numbers, the weight trajectories for
``lr * weight_decay`` in {1e-4, 1e-3} (``weight_decay = 0.1``), bias correction on and off,
``init_rms`` in {0, 0.1}, plus two trajectories without weight decay. The weight RMS is read at
``t * lr * weight_decay`` in {0.3, 1, 3, 10} and the update RMS over the last half of the run.
The number of coordinates is raised until every point's standard error is at most 0.2%.

Writes ``src/adamw_rms/data/accuracy.csv`` (every point; read by :mod:`adamw_rms.comparison` for
the accuracy bands) and ``docs/accuracy.md`` (tables). Both are committed; the run is
deterministic (counter-based random numbers), so it reproduces bit for bit on the same
platform and within the standard errors anywhere.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GRID", "main", "measure"]

GRID: dict[str, tuple[float, ...]] = {
    "beta1": (0.0, 0.5, 0.9, 0.95),
    "beta2": (0.95, 0.99, 0.999),
    "snr": (0.0, 0.1, 1.0, 10.0),
    "decay": (1e-4, 1e-3),
    "t_decay": (0.3, 1.0, 3.0, 10.0),
    "bias_correction": (0.0, 1.0),
    "init_rms": (0.0, 0.1),
}
WEIGHT_DECAY = 0.1
NO_DECAY_LR = 1e-3
TARGET_REL_SE = 0.002
COLUMNS = (
    "formula", "beta1", "beta2", "snr", "decay", "t_decay", "step", "bias_correction",
    "init_rms", "lr", "weight_decay", "n", "predicted", "simulated", "se", "rel_se",
    "rel_error", "z",
)  # fmt: skip


def _variants() -> list[Any]:
    from .simulation.sweep import Variant

    out = [
        Variant(decay / WEIGHT_DECAY, WEIGHT_DECAY, bool(bias), init)
        for decay in GRID["decay"]
        for bias in GRID["bias_correction"]
        for init in GRID["init_rms"]
    ]
    out += [Variant(NO_DECAY_LR, 0.0, bool(bias), 0.1) for bias in GRID["bias_correction"]]
    return out


def _record_steps() -> tuple[int, ...]:
    return tuple(sorted({round(t / decay) for decay in GRID["decay"] for t in GRID["t_decay"]}))


def _rows_for(beta1: float, beta2: float, snr: float, result: Any) -> list[dict[str, Any]]:
    from . import estimators

    rows = []

    def add(name: str, predicted: float, simulated: float, se: float, **where: Any) -> None:
        rows.append(_row(name, beta1, beta2, snr, result.n, predicted, simulated, se, **where))

    for k, variant in enumerate(result.variants):
        decay = variant.lr * variant.weight_decay
        for position, step in enumerate(result.steps):
            step = int(step)
            t_decay = step * decay
            if decay > 0 and not any(math.isclose(t_decay, t) for t in GRID["t_decay"]):
                continue
            simulated = float(result.weight_rms[k, position])
            se = float(result.weight_rms_se[k, position])
            where = {
                "decay": decay,
                "t_decay": t_decay if decay > 0 else step * 1e-4,
                "step": step,
                "bias_correction": float(variant.bias_correction),
                "init_rms": variant.init_rms,
                "lr": variant.lr,
                "weight_decay": variant.weight_decay,
            }
            common = (variant.lr, variant.weight_decay)
            general = estimators.weight_rms(
                *common, beta1, steps=step, snr=snr, init_rms=variant.init_rms
            )
            if decay == 0:
                add("no_decay", general, simulated, se, **where)
                continue
            add("theta_rms", general, simulated, se, **where)
            if snr == 0:
                add("theta_rms_mu0", general, simulated, se, **where)
                add(
                    "equilibrium",
                    estimators.equilibrium_weight_rms(*common),
                    simulated,
                    se,
                    **where,
                )
                add("quick", estimators.weight_rms_quick(*common, beta1), simulated, se, **where)
            else:
                large = estimators.weight_rms_large_snr(
                    *common, steps=step, snr=snr, init_rms=variant.init_rms
                )
                add("large_snr", large, simulated, se, **where)
    for bias, (rms, se) in result.update_rms.items():
        where = {
            "decay": math.nan, "t_decay": math.nan, "step": int(result.steps[-1]),
            "bias_correction": float(bias), "init_rms": math.nan, "lr": math.nan,
            "weight_decay": math.nan,
        }  # fmt: skip
        add("update_rms", estimators.update_rms(beta1, snr), rms, se, **where)
    return rows


def measure(
    *,
    n_noise: int = 2**17,
    n_drift: int = 2**14,
    steps: int | None = None,
    target_rel_se: float = TARGET_REL_SE,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run the grid; return one row per (formula, grid point). See the module docstring.

    ``n_noise`` coordinates are used at SNR = 0 (where the weights are pure noise),
    ``n_drift`` otherwise (the mean's drift makes them far less spread); either is raised and
    the sweep rerun if a point's relative standard error exceeds ``target_rel_se``.
    """
    from .simulation.sweep import sweep

    record = _record_steps()
    steps = steps or record[-1]
    record = tuple(s for s in record if s <= steps)
    rows: list[dict[str, Any]] = []
    combos = list(itertools.product(GRID["beta1"], GRID["beta2"], GRID["snr"]))
    for index, (beta1, beta2, snr) in enumerate(combos):
        n = n_noise if snr == 0 else n_drift
        while True:
            started = time.perf_counter()
            result = sweep(
                _variants(),
                beta1=beta1,
                beta2=beta2,
                steps=steps,
                n=n,
                grad_mean=math.sqrt(snr),
                grad_std=1.0,
                record_steps=record,
                seed=1000 + index,
            )
            worst = float(np.max(result.weight_rms_se / result.weight_rms))
            if worst <= target_rel_se:
                break
            n = int(math.ceil(n * (worst / target_rel_se) ** 2 * 1.05 / 512) * 512)
        if progress:
            print(
                f"[{index + 1}/{len(combos)}] beta1={beta1} beta2={beta2} snr={snr}: n={n}, "
                f"max rel SE {worst:.2%}, {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        rows += _rows_for(beta1, beta2, snr, result)
    return rows


def write_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


# ---- the report ---------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value:+.2%}" if math.isfinite(value) else "n/a"


def _range(errors: np.ndarray) -> str:
    if not errors.size:
        return "-"
    return f"{_pct(float(errors.min()))} … {_pct(float(errors.max()))}"


def report(rows: list[dict[str, Any]]) -> str:
    """``docs/accuracy.md``: every number below is computed from ``rows``."""
    table = {key: np.array([row[key] for row in rows]) for key in COLUMNS}
    formula = table["formula"]
    err = table["rel_error"].astype(float)
    lines = [
        "# Measured accuracy of the formulas",
        "",
        "Generated by `make accuracy` (`python -m adamw_rms.accuracy`) from a simulation of "
        "AdamW on iid Gaussian gradients (numba engine, common random numbers, eps = 0); "
        "every point is in `src/adamw_rms/data/accuracy.csv`. Relative error = "
        "predicted / simulated − 1. Each point's standard error is at most "
        f"{TARGET_REL_SE:.1%} (largest here: {float(table['rel_se'].astype(float).max()):.2%}).",
        "",
        "Grid: "
        + "; ".join(f"{k} ∈ {{{', '.join(f'{v:g}' for v in vs)}}}" for k, vs in GRID.items())
        + f"; weight_decay = {WEIGHT_DECAY:g} (so lr = decay / {WEIGHT_DECAY:g}); no-decay rows: "
        f"lr = {NO_DECAY_LR:g}, weight_decay = 0, init_rms = 0.1.",
        "",
    ]
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
            f"| `{name}` | {chosen.size} | " + " | ".join(share) + f" | {_range(chosen)} |"
        )
    lines += [""]

    def grid_table(
        name: str, title: str, select: np.ndarray, columns: str, column_values: tuple[float, ...]
    ) -> None:
        lines.extend([f"### {title}", ""])
        header = " | ".join(f"{columns} = {v:g}" for v in column_values)
        lines.append(f"| beta1 \\ | {header} |")
        lines.append("|---" * (len(column_values) + 1) + "|")
        for beta1 in GRID["beta1"]:
            cells = []
            for value in column_values:
                mask = (formula == name) & select & (table["beta1"] == beta1)
                mask &= table[columns] == value
                cells.append(_range(err[mask]))
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
            on & steady & zero, "beta2", GRID["beta2"],
        )  # fmt: skip
        grid_table(
            "theta_rms", "Transient (t·lr·wd < 3), SNR = 0", on & transient & zero, "beta2",
            GRID["beta2"],
        )  # fmt: skip
        grid_table(
            "theta_rms", "All times, by SNR (all beta2)", on, "snr", GRID["snr"],
        )  # fmt: skip
    lines += ["## Update RMS", ""]
    updates = formula == "update_rms"
    on = updates & (table["bias_correction"] == 1.0)
    off = updates & (table["bias_correction"] == 0.0)
    gap = float(np.max(np.abs(err[on] - err[off]))) if on.any() and off.any() else math.nan
    lines += [
        "Averaged over the second half of 10⁵ steps, where the bias corrections are 1 to "
        f"double precision (largest difference between on and off: {gap:.1e}); the tables "
        "show the runs with bias correction.",
        "",
    ]
    grid_table("update_rms", "By beta2 (all SNR)", on, "beta2", GRID["beta2"])
    grid_table("update_rms", "By SNR (all beta2)", on, "snr", GRID["snr"])
    lines += ["## The other formulas", ""]
    for name, title in (
        ("equilibrium", "eq:theta-rms-simple (sqrt(lr / 2 wd)), SNR = 0, by t·lr·wd"),
        ("quick", "The quick estimate, SNR = 0, by t·lr·wd"),
        ("large_snr", "Large-SNR formula, by SNR (all times)"),
        ("no_decay", "No weight decay (λ → 0), init_rms = 0.1, by beta2"),
    ):
        column, values = {
            "equilibrium": ("t_decay", GRID["t_decay"]),
            "quick": ("t_decay", GRID["t_decay"]),
            "large_snr": ("snr", GRID["snr"][1:]),
            "no_decay": ("beta2", GRID["beta2"]),
        }[name]
        grid_table(name, title, np.ones(err.size, dtype=bool), column, values)
    return "\n".join(lines).rstrip() + "\n"


EPS_STUDY: dict[str, Any] = {
    "beta1": 0.9,
    "beta2": 0.99,
    "decay": 1e-3,
    "eps": (1e-3, 1e-2, 1e-1, 1.0),
    "t_decay": (3.0, 10.0),
}
EPS_COLUMNS = ("eps", *COLUMNS)


def measure_eps(*, n: int = 2**17, progress: bool = True) -> list[dict[str, Any]]:
    """eq:theta-rms and the update RMS (derived for eps -> 0) at eps comparable to sigma = 1."""
    from . import estimators
    from .simulation.sweep import Variant, sweep

    decay = EPS_STUDY["decay"]
    lr = decay / WEIGHT_DECAY
    record = tuple(round(t / decay) for t in EPS_STUDY["t_decay"])
    variants = [Variant(lr, WEIGHT_DECAY, bias, 0.0) for bias in (False, True)]
    rows = []
    for index, eps in enumerate(EPS_STUDY["eps"]):
        started = time.perf_counter()
        result = sweep(
            variants, beta1=EPS_STUDY["beta1"], beta2=EPS_STUDY["beta2"], steps=record[-1],
            n=n, eps=eps, record_steps=record, seed=5000 + index,
        )  # fmt: skip
        for k, variant in enumerate(variants):
            for position, step in enumerate(result.steps):
                simulated = float(result.weight_rms[k, position])
                se = float(result.weight_rms_se[k, position])
                predicted = estimators.weight_rms(lr, WEIGHT_DECAY, steps=int(step))
                rows.append(
                    _row(
                        "theta_rms",
                        EPS_STUDY["beta1"],
                        EPS_STUDY["beta2"],
                        0.0,
                        n,
                        predicted,
                        simulated,
                        se,
                        eps=eps,
                        decay=decay,
                        t_decay=int(step) * decay,
                        step=int(step),
                        bias_correction=float(variant.bias_correction),
                        init_rms=0.0,
                        lr=lr,
                        weight_decay=WEIGHT_DECAY,
                    )
                )
        for bias, (rms, se) in result.update_rms.items():
            rows.append(
                _row(
                    "update_rms",
                    EPS_STUDY["beta1"],
                    EPS_STUDY["beta2"],
                    0.0,
                    n,
                    estimators.update_rms(EPS_STUDY["beta1"]),
                    rms,
                    se,
                    eps=eps,
                    decay=math.nan,
                    t_decay=math.nan,
                    step=record[-1],
                    bias_correction=float(bias),
                    init_rms=math.nan,
                    lr=math.nan,
                    weight_decay=math.nan,
                )
            )
        if progress:
            print(f"[eps {eps:g}] {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return rows


def _row(
    name: str, beta1: float, beta2: float, snr: float, n: int, predicted: float,
    simulated: float, se: float, **where: Any,
) -> dict[str, Any]:  # fmt: skip
    return {
        "formula": name, "beta1": beta1, "beta2": beta2, "snr": snr, **where, "n": n,
        "predicted": predicted, "simulated": simulated, "se": se, "rel_se": se / simulated,
        "rel_error": predicted / simulated - 1.0,
        "z": (predicted - simulated) / se if se > 0 else 0.0,
    }  # fmt: skip


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows written by :func:`write_csv`, numbers as floats."""
    rows = []
    with path.open(encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            rows.append({k: v if k == "formula" else float(v) for k, v in raw.items()})
    return rows


def eps_report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "## eps comparable to the gradient noise",
        "",
        "The formulas are derived for eps → 0. With gradient std σ = 1, "
        f"beta1 = {EPS_STUDY['beta1']:g}, beta2 = {EPS_STUDY['beta2']:g}, SNR = 0, "
        f"lr·wd = {EPS_STUDY['decay']:g}, init_rms = 0 (relative error, ± SE):",
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
            f"{_pct(row['rel_error'])} ± {row['rel_se']:.2%} |"
        )
    return "\n".join(lines) + "\n"


SIGN_GRID: dict[str, tuple[float, ...]] = {
    "beta1": GRID["beta1"],
    "snr": GRID["snr"],
    "decay": GRID["decay"],
    "t_decay": GRID["t_decay"],
    "init_rms": GRID["init_rms"],
}
#: The two SignSGDMW formulas: the corrected (arcsine law) and the source's mean field.
SIGN_FORMULAS = ("sign_arcsine", "sign_source")


def measure_sign(
    *,
    n_noise: int = 2**17,
    n_drift: int = 2**14,
    target_rel_se: float = TARGET_REL_SE,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """SignSGDMW (numba engine, ``update="sign_sgdm"``) on the sign grid, both formulas.

    One run per ``(beta1, SNR, lr * weight_decay, init_rms)`` records the four
    ``t * lr * weight_decay``; ``beta2``, eps and bias correction do not enter a sign update.
    """
    from . import estimators
    from .simulation import SimulationConfig, simulate

    rows: list[dict[str, Any]] = []
    combos = list(
        itertools.product(
            SIGN_GRID["beta1"], SIGN_GRID["snr"], SIGN_GRID["decay"], SIGN_GRID["init_rms"]
        )
    )
    for index, (beta1, snr, decay, init) in enumerate(combos):
        record = tuple(round(t / decay) for t in SIGN_GRID["t_decay"])
        n = n_noise if snr == 0 else n_drift
        lr = decay / WEIGHT_DECAY
        while True:
            started = time.perf_counter()
            config = SimulationConfig(
                lr=lr, weight_decay=WEIGHT_DECAY, beta1=beta1, steps=record[-1], n=n,
                grad_mean=math.sqrt(snr), grad_std=1.0, init_rms=init, record_steps=record,
                update="sign_sgdm", seed=9000 + index,
            )  # fmt: skip
            result = simulate(config, engine="numba", progress=False)
            worst = float(np.max(result.weight_rms_se / result.weight_rms))
            if worst <= target_rel_se:
                break
            n = int(math.ceil(n * (worst / target_rel_se) ** 2 * 1.05 / 512) * 512)
        for step, simulated, se in zip(
            result.steps, result.weight_rms, result.weight_rms_se, strict=True
        ):
            for name in SIGN_FORMULAS:
                predicted = estimators.sign_sgdm_weight_rms(
                    lr, WEIGHT_DECAY, beta1, steps=int(step), snr=snr, init_rms=init,
                    formula=name.removeprefix("sign_"),
                )  # fmt: skip
                rows.append(
                    _row(
                        name,
                        beta1,
                        math.nan,
                        snr,
                        n,
                        predicted,
                        float(simulated),
                        float(se),
                        decay=decay,
                        t_decay=int(step) * decay,
                        step=int(step),
                        bias_correction=math.nan,
                        init_rms=init,
                        lr=lr,
                        weight_decay=WEIGHT_DECAY,
                    )
                )
        if progress:
            print(
                f"[sign {index + 1}/{len(combos)}] beta1={beta1} snr={snr} decay={decay:g} "
                f"init={init:g}: n={n}, max rel SE {worst:.2%}, "
                f"{time.perf_counter() - started:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return rows


def sign_report(rows: list[dict[str, Any]]) -> str:
    """The SignSGDMW section: both formulas against simulation."""
    lines = [
        "## SignSGDMW: the source's formula and the arcsine-law correction",
        "",
        "`u = sign(m)` with decoupled weight decay, simulated by the numba engine on the grid "
        "β1 ∈ {0, 0.5, 0.9, 0.95}, SNR ∈ {0, 0.1, 1, 10}, lr·wd ∈ {1e-4, 1e-3}, "
        "t·lr·wd ∈ {0.3, 1, 3, 10}, init_rms ∈ {0, 0.1} (SE ≤ 0.2% per point). "
        '`sign_arcsine` is `sign_sgdm_weight_rms(..., formula="arcsine")` (the lag sum of '
        "the arcsine-law autocovariances, derived in `derivations/sign_sgdm.md`); "
        "`sign_source` is the source's mean-field formula.",
        "",
        "Steady state (t·lr·wd = 10), SNR = 0, init_rms = 0 (relative error ± SE):",
        "",
        "| β1 | lr·wd | arcsine | source |",
        "|---|---|---|---|",
    ]
    steady = [r for r in rows if r["t_decay"] == 10.0 and r["snr"] == 0.0 and r["init_rms"] == 0.0]
    keyed = {(r["formula"], r["beta1"], r["decay"]): r for r in steady}
    for beta1 in SIGN_GRID["beta1"]:
        for decay in SIGN_GRID["decay"]:
            arcsine = keyed[("sign_arcsine", beta1, decay)]
            source = keyed[("sign_source", beta1, decay)]
            lines.append(
                f"| {beta1:g} | {decay:g} | {_pct(arcsine['rel_error'])} ± "
                f"{arcsine['rel_se']:.2%} | {_pct(source['rel_error'])} |"
            )
    lines += [
        "",
        "Range of the relative error over every grid point, by β1:",
        "",
        "| β1 | arcsine | source |",
        "|---|---|---|",
    ]
    for beta1 in SIGN_GRID["beta1"]:
        ranges = []
        for name in SIGN_FORMULAS:
            errors = np.array(
                [r["rel_error"] for r in rows if r["formula"] == name and r["beta1"] == beta1]
            )
            ranges.append(_range(errors))
        lines.append(f"| {beta1:g} | {ranges[0]} | {ranges[1]} |")
    return "\n".join(lines) + "\n"


#: The schedule runs: the source's part-2 reference run, and WSD / warmup variants of it.
SCHEDULE_RUNS: dict[str, dict[str, Any]] = {
    "cosine 1e-3 -> 1e-4 (the source's run)": {"shape": "cosine", "final": 1e-4, "warmup": 0},
    "WSD 1e-3, warmup 500, decay 2000": {"shape": "wsd", "warmup": 500, "decay": 2000},
    "linear 1e-3 -> 1e-4, warmup 500": {"shape": "linear", "final": 1e-4, "warmup": 500},
}
SCHEDULE_STEPS = 10_000
SCHEDULE_RECORD = (1000, 2500, 5000, 7500, 10_000)
SCHEDULE_COLUMNS = ("schedule", "method", "step", "n", "predicted", "simulated", "se", "rel_se",
                    "rel_error", "z")  # fmt: skip


def _schedule_lr(run: dict[str, Any]) -> np.ndarray:
    from . import schedules

    if run["shape"] == "wsd":
        return schedules.wsd(1e-3, SCHEDULE_STEPS, warmup=run["warmup"], decay=run["decay"])
    shape = schedules.SCHEDULES[run["shape"]]
    return shape(1e-3, run["final"], SCHEDULE_STEPS, warmup=run["warmup"])


def measure_schedules(*, n: int = 200_000, progress: bool = True) -> list[dict[str, Any]]:
    """Part 2's formulas against the numba engine on the schedule runs (source's settings:
    weight decay 0.1, betas 0.9/0.95, eps 0, no bias correction, init_rms 0.1)."""
    from .estimators import weight_rms_trajectory
    from .estimators.schedules import METHODS
    from .simulation import SimulationConfig, simulate

    rows = []
    for index, (name, run) in enumerate(SCHEDULE_RUNS.items()):
        started = time.perf_counter()
        lr = _schedule_lr(run)
        config = SimulationConfig.source(
            steps=SCHEDULE_STEPS, lr=lr, n=n, seed=7000 + index, record_steps=SCHEDULE_RECORD
        )
        result = simulate(config, engine="numba", progress=False)
        for method in METHODS:
            predicted = weight_rms_trajectory(lr, 0.1, beta1=0.9, init_rms=0.1, method=method)
            for step, simulated, se in zip(
                result.steps, result.weight_rms, result.weight_rms_se, strict=True
            ):
                value = float(predicted[step - 1])
                rows.append(
                    {
                        "schedule": name, "method": method, "step": int(step), "n": n,
                        "predicted": value, "simulated": float(simulated), "se": float(se),
                        "rel_se": float(se / simulated), "rel_error": value / simulated - 1.0,
                        "z": (value - simulated) / se,
                    }
                )  # fmt: skip
        if progress:
            print(f"[schedule] {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return rows


def read_schedule_csv(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            rows.append({k: v if k in ("schedule", "method") else float(v) for k, v in raw.items()})
    return rows


def schedule_report(rows: list[dict[str, Any]]) -> str:
    """The schedules section: each part-2 formula's error along each run."""
    from .estimators.schedules import METHODS

    steps = sorted({int(r["step"]) for r in rows})
    lines = [
        "## Schedules (part 2): the trajectory formulas",
        "",
        f"`weight_rms_trajectory(lr, 0.1, beta1=0.9, init_rms=0.1, method=...)` against the "
        f"numba engine over {SCHEDULE_STEPS} steps (weight decay 0.1, betas 0.9/0.95, eps 0, "
        f"no bias correction, θ₀ = 0.1·N(0, 1), {int(rows[0]['n'])} coordinates; relative "
        f"error ± SE at each step).",
        "",
    ]
    for name in SCHEDULE_RUNS:
        lines += [f"**{name}**", "", "| method | " + " | ".join(f"t = {t}" for t in steps) + " |"]
        lines.append("|---|" + "---|" * len(steps))
        for method in METHODS:
            cells = [
                f"{_pct(r['rel_error'])} ± {r['rel_se']:.2%}"
                for r in rows
                if r["schedule"] == name and r["method"] == method
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from .artifacts import write_file_atomically

    parser = argparse.ArgumentParser(prog="python -m adamw_rms.accuracy", description=__doc__)
    parser.add_argument(
        "--part", choices=("all", "grid", "eps", "sign", "schedules", "report"), default="all",
        help="run the grid, the eps study, the SignSGDMW grid, all (default), or only "
        "rewrite the report",
    )  # fmt: skip
    parser.add_argument("--csv", type=Path, default=Path("src/adamw_rms/data/accuracy.csv"))
    parser.add_argument("--eps-csv", type=Path, default=Path("src/adamw_rms/data/accuracy_eps.csv"))
    parser.add_argument(
        "--sign-csv", type=Path, default=Path("src/adamw_rms/data/accuracy_sign.csv")
    )
    parser.add_argument(
        "--schedule-csv", type=Path, default=Path("src/adamw_rms/data/accuracy_schedules.csv")
    )
    parser.add_argument("--report", type=Path, default=Path("docs/accuracy.md"))
    parser.add_argument("--n-noise", type=int, default=2**17)
    parser.add_argument("--n-drift", type=int, default=2**14)
    parser.add_argument("--steps", type=int, default=None, help="shorten the runs (smoke test)")
    parser.add_argument("--target-rel-se", type=float, default=TARGET_REL_SE)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.part in ("all", "grid"):
        rows = measure(
            n_noise=args.n_noise,
            n_drift=args.n_drift,
            steps=args.steps,
            target_rel_se=args.target_rel_se,
        )
        write_file_atomically(write_csv(rows), args.csv)
    if args.part in ("all", "eps"):
        write_file_atomically(write_csv(measure_eps(n=args.n_noise), EPS_COLUMNS), args.eps_csv)
    if args.part in ("all", "sign"):
        rows = measure_sign(
            n_noise=args.n_noise, n_drift=args.n_drift, target_rel_se=args.target_rel_se
        )
        write_file_atomically(write_csv(rows), args.sign_csv)
    text = report(read_csv(args.csv))
    if args.eps_csv.exists():
        text += "\n" + eps_report(read_csv(args.eps_csv))
    if args.part in ("all", "schedules"):
        rows = measure_schedules()
        write_file_atomically(write_csv(rows, SCHEDULE_COLUMNS), args.schedule_csv)
    if args.sign_csv.exists():
        text += "\n" + sign_report(read_csv(args.sign_csv))
    if args.schedule_csv.exists():
        text += "\n" + schedule_report(read_schedule_csv(args.schedule_csv))
    write_file_atomically(text, args.report)
    elapsed = time.perf_counter() - started
    print(f"wrote {args.report} ({args.part}) in {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

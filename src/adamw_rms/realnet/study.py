r"""The study: every problem under every schedule, run in parallel, turned into rows and files.

:func:`run_study` trains the runs (in ``workers`` processes; each run is seeded and
single-threaded, so the numbers do not depend on how runs are spread over processes), then
writes, each atomically: the CSV of per-tensor numbers (:func:`rows` -> :data:`COLUMNS`), the
CSV of the figures' curves (:func:`.curves.curve_rows`), then, from these two files alone, one
figure per run (:func:`.plots.plot_run`) and the Markdown report (:func:`.report.document`),
so that the committed report and figures can be checked against the committed CSVs.

Per tensor and forecast point ``f`` (after ``k`` steps) the CSV holds the monitor's forecast of
the final RMS and its relative error ``forecast / measured - 1``, and two baselines that need no
monitor: ``hold_<f>`` (the RMS stays what it is at step ``k``) and ``restart_<f>`` (the iid
theory restarted at step ``k`` from the measured RMS, along the remaining rates).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .curves import curve_rows
from .problems import PROBLEMS, SIZES
from .schedules import SCHEDULE_KINDS
from .train import FORECAST_POINTS, train_run

__all__ = [
    "COLUMNS",
    "CSV_NAME",
    "CURVES_NAME",
    "FIGURE_FOLDER",
    "REPORT_NAME",
    "point_label",
    "rows",
    "run_study",
    "write_study",
]

#: File names inside ``--out``.
REPORT_NAME = "real-networks.md"
CSV_NAME = "realnet.csv"
CURVES_NAME = "realnet-curves.csv"
FIGURE_FOLDER = "figures"
#: The share of the last steps whose mean loss is reported as the final loss.
LOSS_TAIL = 0.05
#: The share of the run (the schedules' warmup) before which the peak RMS is not looked for.
WARMUP_SHARE = 0.02

RUN_COLUMNS = ("problem", "schedule", "seed", "steps", "peak_lr", "weight_decay", "kappa",
               "final_loss", "warnings")  # fmt: skip
TENSOR_COLUMNS = ("tensor", "shape", "matrix", "init_rms", "peak_rms", "peak_step",
                  "measured_rms", "report_rms",
                  "iid_rms", "update_factor", "correlation_factor", "init_factor",
                  "decomposition_error", "decomposition_max")  # fmt: skip


def point_label(fraction: float) -> str:
    """``0.3 -> "30"``: the suffix of a forecast point's columns."""
    return f"{round(100 * fraction)}"


def _models() -> tuple[str, ...]:
    """The drive models of the monitor's forecast (none if it has no choice of model)."""
    try:
        from ..torch.forecast import MODELS
    except ImportError:
        return ()
    return tuple(MODELS)


#: The forecast models compared, each at each forecast point.
MODELS = _models()


def _point_columns(fractions: Iterable[float]) -> tuple[str, ...]:
    columns: list[str] = []
    for fraction in fractions:
        p = point_label(fraction)
        columns += [f"forecast_{p}", f"error_{p}", f"hold_{p}", f"restart_{p}", f"balance_{p}"]
        columns += [f"model_{model}_{p}" for model in MODELS]
    return tuple(columns)


#: The CSV's columns: run settings, per-tensor measurements, then per forecast point
#: ``forecast_<p>, error_<p>, hold_<p>, restart_<p>, balance_<p>`` and ``model_<model>_<p>``
#: (relative errors of ``monitor.forecast``, hold, iid restart and each drive model; the
#: tensor's balance at the forecast point, where the forecast warns below its threshold).
COLUMNS = RUN_COLUMNS + TENSOR_COLUMNS + _point_columns(FORECAST_POINTS)


def _report_rows(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # The last reported row of each tensor (a report may hold several steps per tensor).
    latest: dict[str, dict[str, Any]] = {}
    for row in (run["report"] or {}).get("rows", []):
        name = row.get("name")
        if name is not None and (name not in latest or row["step"] >= latest[name]["step"]):
            latest[name] = row
    return latest


def _restart(run: dict[str, Any], i: int, at: int) -> float:
    """The iid theory from step ``at`` on, started from the measured RMS there."""
    from ..estimators import weight_rms_trajectory

    decay = run["weight_decay"] if run["decayed"][i] else 0.0
    start = float(run["measured"][at, i])
    rms = weight_rms_trajectory(run["lr"][at:], decay, init_rms=start, method="mean_field")
    return float(rms[-1])


def _decomposition_max(run: dict[str, Any], i: int) -> float:
    """Max over the reported steps of |iid x factors / measured - 1| (NaN: none reported)."""
    series = run.get("report_series") or {}
    keys = ("iid_rms", "update_factor", "correlation_factor", "init_factor")
    if "measured_rms" not in series or not all(key in series for key in keys):
        return math.nan
    product = np.prod([series[key][:, i] for key in keys], axis=0)
    error = np.abs(product / series["measured_rms"][:, i] - 1.0)
    error = error[np.isfinite(error)]
    return float(error.max()) if error.size else math.nan


def _number(row: dict[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if value is not None else math.nan


def rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The CSV rows (:data:`COLUMNS`) of one run of :func:`.train.train_run`, one per tensor."""
    tail = max(1, round(LOSS_TAIL * run["steps"]))
    common = {
        "problem": run["problem"],
        "schedule": run["schedule"],
        "seed": run["seed"],
        "steps": run["steps"],
        "peak_lr": float(run["peak_lr"]),
        "weight_decay": float(run["weight_decay"]),
        "kappa": float(np.sum(run["lr"]) * run["weight_decay"]),
        "final_loss": float(np.mean(run["loss"][-tail:])),
        "warnings": " | ".join(run["warnings"]),
    }
    report = _report_rows(run)
    warm = max(1, round(WARMUP_SHARE * run["steps"]))
    out = []
    for i, name in enumerate(run["names"]):
        measured = float(run["measured"][-1, i])
        entry = report.get(name, {})
        factors = [_number(entry, key) for key in
                   ("iid_rms", "update_factor", "correlation_factor", "init_factor")]  # fmt: skip
        row = {
            **common,
            "tensor": name,
            "shape": "x".join(str(n) for n in run["shapes"][i]),
            "matrix": int(run["decayed"][i]),
            "init_rms": float(run["measured"][0, i]),
            # After the warmup: the highest RMS and its step (a norm that rises, then falls).
            "peak_rms": float(run["measured"][warm:, i].max()),
            "peak_step": int(warm + np.argmax(run["measured"][warm:, i])),
            "measured_rms": measured,
            "report_rms": _number(entry, "measured_rms"),
            "iid_rms": factors[0],
            "update_factor": factors[1],
            "correlation_factor": factors[2],
            "init_factor": factors[3],
            "decomposition_error": math.prod(factors) / measured - 1.0,
            "decomposition_max": _decomposition_max(run, i),
        }
        for fraction in FORECAST_POINTS:
            p = point_label(fraction)
            forecast = run["forecasts"].get(fraction)
            at = round(fraction * run["steps"]) if forecast is None else forecast["step"]
            predicted = (forecast or {}).get("rms", {}).get(name)
            final = float(predicted[-1]) if predicted is not None and len(predicted) else math.nan
            row[f"forecast_{p}"] = final
            row[f"error_{p}"] = final / measured - 1.0
            row[f"hold_{p}"] = float(run["measured"][at, i]) / measured - 1.0
            row[f"restart_{p}"] = _restart(run, i, at) / measured - 1.0
            row[f"balance_{p}"] = float((forecast or {}).get("balance", {}).get(name, math.nan))
            for model in MODELS:
                value = (forecast or {}).get("models", {}).get(model, {}).get(name, math.nan)
                row[f"model_{model}_{p}"] = value / measured - 1.0
        out.append(row)
    return out


def _of_run(rows: list[dict[str, Any]], run: tuple[str, str]) -> list[dict[str, Any]]:
    return [row for row in rows if (row["problem"], row["schedule"]) == run]


def _run_task(arguments: tuple[str, str, int, str, str | None]) -> dict[str, Any]:
    problem, schedule, seed, size, history = arguments
    return train_run(problem, schedule, seed, size=size, history=history)


def _in_order(
    tasks: list[tuple[str, str, int, str, str | None]], workers: int
) -> Iterable[dict[str, Any]]:
    if workers == 1:
        yield from map(_run_task, tasks)
        return
    # spawn: a fresh interpreter per worker, never a fork of a process that already runs torch
    # threads; results come back in submission order.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_run_task, tasks)


def run_study(
    out: str | os.PathLike[str],
    *,
    size: str = "full",
    seed: int = 0,
    workers: int = 2,
    problems: Iterable[str] | None = None,
    schedules: Iterable[str] = SCHEDULE_KINDS,
    histories: str | os.PathLike[str] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the study and write ``<out>/real-networks.md``, ``<out>/realnet.csv``,
    ``<out>/realnet-curves.csv`` and ``<out>/figures/realnet-<problem>-<schedule>.png``;
    return the rows of ``realnet.csv``.

    Parameters
    ----------
    out
        Output folder (created if missing).
    size
        ``"full"`` (the committed study) or ``"small"`` (seconds; a check of the pipeline).
    seed
        The seed of every run.
    workers
        Processes, ``>= 1`` (1: in this process).
    problems, schedules
        Subsets of :data:`.PROBLEMS` and :data:`.SCHEDULE_KINDS` (default: all).
    histories
        A folder for each run's history (:func:`.train.save_history`), or None.
    progress
        Called with each finished run (e.g. to print its wall time).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1; got {workers!r}")
    problems = tuple(PROBLEMS if problems is None else problems)
    schedules = tuple(schedules)
    for name in problems:
        if name not in PROBLEMS:
            raise ValueError(f"problems must be among {tuple(PROBLEMS)}; got {name!r}")
    for kind in schedules:
        if kind not in SCHEDULE_KINDS:
            raise ValueError(f"schedules must be among {SCHEDULE_KINDS}; got {kind!r}")
    history = None if histories is None else os.fspath(histories)
    # The slowest runs first, so that two workers finish together.
    cost = {name: PROBLEMS[name].steps[size] * PROBLEMS[name].step_ms for name in PROBLEMS}
    order = sorted(((p, s) for p in problems for s in schedules), key=lambda ps: -cost[ps[0]])
    tasks = [(p, s, seed, size, history) for p, s in order]
    finished = []
    for run in _in_order(tasks, workers):
        if progress is not None:
            progress(run)
        # Keep each run's rows only, not every run's full record (every step's RMS) at once.
        finished.append({"problem": run["problem"], "schedule": run["schedule"],
                         "rows": rows(run), "curves": curve_rows(run)})  # fmt: skip
    return write_study(out, finished, size=size)


def write_study(out: str | os.PathLike[str], runs: list[dict[str, Any]], *, size: str) -> list:
    """Write the study's files for ``runs`` into ``out``; return the rows of ``realnet.csv``.

    ``runs`` holds, per run, ``problem``, ``schedule``, ``rows`` (:func:`rows`) and ``curves``
    (:func:`.curves.curve_rows`); the files list them ordered by problem, then schedule, as
    :data:`.PROBLEMS` and :data:`.SCHEDULE_KINDS` order them.
    """
    from ..artifacts import write_file_atomically
    from ..data import write_csv
    from .curves import read_curves, write_curves
    from .plots import plot_run
    from .report import document, read_rows

    out = Path(out)
    figures = out / FIGURE_FOLDER
    figures.mkdir(parents=True, exist_ok=True)
    rank = {(p, s): (list(PROBLEMS).index(p), SCHEDULE_KINDS.index(s))
            for p in PROBLEMS for s in SCHEDULE_KINDS}  # fmt: skip
    ordered = sorted(runs, key=lambda run: rank[run["problem"], run["schedule"]])
    keys = [(run["problem"], run["schedule"]) for run in ordered]
    table = [row for run in ordered for row in run["rows"]]
    curves = [row for run in ordered for row in run["curves"]]
    write_file_atomically(write_csv(table, COLUMNS), out / CSV_NAME)
    write_file_atomically(write_curves(curves), out / CURVES_NAME)
    # The figures and the report from the files just written, so that they alone reproduce
    # them.
    table, curves = read_rows(out / CSV_NAME), read_curves(out / CURVES_NAME)
    for key in keys:
        plot_run(_of_run(table, key), _of_run(curves, key), figures)
    write_file_atomically(document(table, size=size), out / REPORT_NAME)
    return table

"""``make accuracy``: the committed report matches its data, and the data reproduce."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from adamw_rms import accuracy
from adamw_rms.accuracy import eps, grid, schedules, sign
from adamw_rms.data import FILES, write_csv

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src/adamw_rms/data"
GRID_CSV = ROOT / "src/adamw_rms/data/accuracy.csv"
EPS_CSV = ROOT / "src/adamw_rms/data/accuracy_eps.csv"
SIGN_CSV = ROOT / "src/adamw_rms/data/accuracy_sign.csv"
SCHEDULE_CSV = ROOT / "src/adamw_rms/data/accuracy_schedules.csv"

pytestmark = pytest.mark.skipif(not GRID_CSV.exists(), reason="run `make accuracy` first")


def test_report_is_generated_from_the_committed_data():
    text = accuracy.document(DATA)
    assert (ROOT / "docs/accuracy.md").read_text(encoding="utf-8") == text


def test_schedule_runs_are_complete_and_within_their_stated_accuracy():
    from adamw_rms.estimators.schedules import METHODS

    rows = accuracy.read_schedule_csv(SCHEDULE_CSV)
    expected = len(accuracy.SCHEDULE_RUNS) * len(METHODS) * len(accuracy.SCHEDULE_RECORD)
    assert len(rows) == expected
    # Stated in the note and the README: the general mean field and the series within 3%.
    for row in rows:
        if row["method"] in ("mean_field", "series"):
            assert abs(row["rel_error"]) < 0.03


def test_sign_grid_is_complete_and_precise():
    rows = accuracy.read_csv(SIGN_CSV)
    expected = math.prod(len(v) for v in accuracy.SIGN_GRID.values())
    for name in accuracy.SIGN_FORMULAS:
        assert len([r for r in rows if r["formula"] == name]) == expected
    assert max(r["rel_se"] for r in rows) <= accuracy.TARGET_REL_SE


def test_grid_is_complete_and_precise():
    rows = accuracy.read_csv(GRID_CSV)
    weights = [r for r in rows if r["formula"] == "theta_rms"]
    expected = math.prod(len(v) for v in accuracy.GRID.values())
    assert len(weights) == expected
    assert max(r["rel_se"] for r in rows) <= accuracy.TARGET_REL_SE
    for row in rows:
        # (predicted, simulated and rel_error each to 10 significant digits in the file: the
        # ratio rounds by up to about 2e-9 of 1 + rel_error)
        expected = row["predicted"] / row["simulated"] - 1
        assert row["rel_error"] == pytest.approx(expected, abs=3e-9 * (1.0 + abs(expected)))


def test_a_grid_task_reproduces_the_committed_rows_exactly_and_within_se_under_another_seed():
    # The committed grid is the pipeline's output: rerunning one task (ten trajectories over
    # 10^5 steps, seconds with the control variate) gives its rows bit for bit, and another
    # seed gives simulated values within 4 combined standard errors of them.
    pytest.importorskip("numba")
    point = (0.9, 0.999, 10.0)
    (task,) = [t for t in grid.tasks("full") if (t["beta1"], t["beta2"], t["snr"]) == point]
    stored = [r for r in accuracy.read_csv(GRID_CSV) if (r["beta1"], r["beta2"], r["snr"]) == point]
    header, *lines = GRID_CSV.read_text(encoding="utf-8").splitlines()
    mine = [line for line, row in zip(lines, accuracy.read_csv(GRID_CSV), strict=True)
            if (row["beta1"], row["beta2"], row["snr"]) == point]  # fmt: skip
    assert write_csv(grid.run(task), grid.COLUMNS).splitlines() == [header, *mine]
    other = grid.run(replace(task, seed=77))
    assert len(other) == len(stored)
    for new, old in zip(other, stored, strict=True):
        assert abs(new["simulated"] - old["simulated"]) <= 4 * math.hypot(new["se"], old["se"])


def _range(**where) -> tuple[float, float]:
    from adamw_rms.comparison import accuracy_table

    table = accuracy_table()
    mask = np.ones(table["formula"].size, dtype=bool)
    for key, value in where.items():
        if key == "t_decay_min":
            mask &= table["t_decay"] >= value
        else:
            mask &= table[key] == value
    errors = table["rel_error"][mask]
    assert errors.size
    return float(errors.min()), float(errors.max())


@pytest.mark.parametrize(
    ("where", "low", "high"),
    [
        # The ranges quoted in the estimators' docstrings (rounded outwards).
        # (from 0.3 timescales: the docstrings quote the grid's t·lr·wd 0.3 to 10; the 0.1
        # points are stated in tests/test_accuracy_corrected.py)
        ({"formula": "theta_rms", "bias_correction": 1.0, "t_decay_min": 0.3}, -0.026, 0.029),
        ({"formula": "theta_rms", "bias_correction": 1.0, "beta2": 0.99, "t_decay_min": 3},
         -0.015, 0.015),
        ({"formula": "theta_rms", "bias_correction": 1.0, "beta2": 0.999, "t_decay_min": 3},
         -0.015, 0.015),
        ({"formula": "equilibrium", "t_decay_min": 10}, -0.003, 0.026),
        ({"formula": "equilibrium", "t_decay": 3.0}, -0.066, 0.0255),
        ({"formula": "quick", "beta1": 0.9, "t_decay": 10.0}, -0.7715, -0.7665),
        ({"formula": "quick", "beta1": 0.5, "t_decay": 10.0}, -0.4255, -0.4085),
        ({"formula": "quick", "beta1": 0.95, "t_decay": 10.0}, -0.8405, -0.8365),
        ({"formula": "update_rms", "beta2": 0.95}, 0.0, 0.028),
        ({"formula": "update_rms", "beta2": 0.99}, 0.0, 0.009),
        ({"formula": "update_rms", "beta2": 0.999}, 0.0, 0.0011),
        ({"formula": "large_snr", "bias_correction": 1.0, "snr": 10.0,
          "t_decay_min": 0.3}, -0.0025, 0.0015),
        ({"formula": "large_snr", "bias_correction": 1.0, "snr": 1.0,
          "t_decay_min": 0.3}, -0.0035, 0.0115),
        ({"formula": "large_snr", "bias_correction": 1.0, "snr": 0.1,
          "t_decay_min": 0.3}, -0.0135, 0.0265),
        ({"formula": "sign_arcsine", "t_decay_min": 3}, -0.0016, 0.0034),
        ({"formula": "sign_arcsine", "t_decay_min": 0.3}, -0.0046, 0.024),
        ({"formula": "sign_arcsine", "t_decay": 0.1}, -0.0046, 0.0755),
        ({"formula": "sign_source", "beta1": 0.5, "snr": 0.0, "t_decay": 10.0}, 0.1415, 0.1425),
        ({"formula": "sign_source", "beta1": 0.9, "snr": 0.0, "t_decay": 10.0}, 0.197, 0.200),
        # (quoted as +20.0% ... +21.2%: the low end measures +19.98%)
        ({"formula": "sign_source", "beta1": 0.95, "snr": 0.0, "t_decay": 10.0}, 0.1995, 0.212),
        ({"formula": "sign_source", "snr": 0.1}, -0.063, 0.216),
    ],
)  # fmt: skip
def test_docstring_claims_match_the_measurement(where, low, high):
    measured_low, measured_high = _range(**where)
    assert low <= measured_low and measured_high <= high, (measured_low, measured_high)


# ---- the registry-driven rows reproduce the committed points --------------------------------
# Each study's rows() turns a simulation result into rows by iterating the formula registry.
# Fed the committed simulated values, it must give back the committed files: the same rows, in
# the same order, with the same predictions (relative error and z are recomputed from the
# rounded simulated values, so they are left out).

_KEPT = ("formula", "beta1", "beta2", "snr", "decay", "t_decay", "step", "bias_correction",
         "init_rms", "lr", "weight_decay", "n", "predicted", "simulated", "se")  # fmt: skip


def _committed(study: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((DATA / FILES[study]).read_text(encoding="utf-8"))))


def _same_points(study: str, rows: list[dict], columns: tuple[str, ...], kept: tuple[str, ...]):
    rebuilt = list(csv.DictReader(io.StringIO(write_csv(rows, columns))))
    committed = _committed(study)
    assert len(rebuilt) == len(committed)
    for new, old in zip(rebuilt, committed, strict=True):
        assert {k: new[k] for k in kept} == {k: old[k] for k in kept}


def _series(rows: list[dict[str, str]]) -> SimpleNamespace:
    return SimpleNamespace(
        steps=np.array([int(float(r["step"])) for r in rows]),
        weight_rms=np.array([float(r["simulated"]) for r in rows]),
        weight_rms_se=np.array([float(r["se"]) for r in rows]),
    )


def _sweep_result(
    task, rows: list[dict[str, str]], weights: tuple[str, ...] = ("theta_rms", "no_decay")
) -> SimpleNamespace:
    """A sweep result holding the committed weight and update RMS of one task's rows (the
    weight RMS read from the rows of ``weights``)."""
    steps = list(task["record_steps"])
    weight = np.full((len(task["variants"]), len(steps)), np.nan)
    weight_se = weight.copy()
    for k, (lr, decay, bias, init) in enumerate(task["variants"]):
        for r in rows:
            if r["formula"] in weights and (
                float(r["lr"]), float(r["weight_decay"]), float(r["bias_correction"]),
                float(r["init_rms"]),
            ) == (lr, decay, float(bias), init):  # fmt: skip
                position = steps.index(int(float(r["step"])))
                weight[k, position], weight_se[k, position] = float(r["simulated"]), float(r["se"])
    update = {
        bias: next(
            (float(r["simulated"]), float(r["se"]))
            for r in rows
            if r["formula"] == "update_rms" and float(r["bias_correction"]) == float(bias)
        )
        for bias in (False, True)
    }
    return SimpleNamespace(
        steps=np.array(steps), weight_rms=weight, weight_rms_se=weight_se, update_rms=update
    )


def test_grid_rows_from_the_registry_reproduce_the_committed_points():
    committed = _committed("grid")
    rows = []
    for task in grid.tasks("full"):
        point = (task["beta1"], task["beta2"], task["snr"])
        mine = [
            r for r in committed if tuple(float(r[k]) for k in ("beta1", "beta2", "snr")) == point
        ]
        rows += grid.rows(task, _sweep_result(task, mine), int(mine[0]["n"]))
    _same_points("grid", rows, grid.COLUMNS, _KEPT)


def test_eps_rows_from_the_registry_reproduce_the_committed_points():
    committed = _committed("eps")
    rows = []
    for task in eps.tasks("full"):
        mine = [r for r in committed if float(r["grad_std"]) == task["grad_std"]]
        rows += eps.rows(task, _sweep_result(task, mine, eps.PAIRS[0]), int(mine[0]["n"]))
    _same_points("eps", rows, eps.COLUMNS, ("eps", "grad_std", "eps_over_sigma", *_KEPT))


def test_sign_rows_from_the_registry_reproduce_the_committed_points():
    committed = _committed("sign")
    rows = []
    for task in sign.tasks("full"):
        runs = [
            [
                r for r in committed if r["formula"] == "sign_arcsine"
                and (float(r["beta1"]), float(r["snr"]), float(r["decay"]), float(r["init_rms"]))
                == (task["beta1"], task["snr"], decay, init)
            ]
            for decay, init in task["runs"]
        ]  # fmt: skip
        rows += sign.rows(task, [_series(run) for run in runs], int(runs[0][0]["n"]))
    _same_points("sign", rows, sign.COLUMNS, _KEPT)


def test_schedule_rows_from_the_registry_reproduce_the_committed_points():
    committed = _committed("schedules")
    (task,) = schedules.tasks("full")
    results = [
        _series([r for r in committed if r["schedule"] == name and r["method"] == "mean_field"])
        for name, _ in task["runs"]
    ]
    rows = schedules.rows(task, results, int(committed[0]["n"]))
    kept = ("schedule", "method", "step", "n", "predicted", "simulated", "se")
    _same_points("schedules", rows, schedules.COLUMNS, kept)

"""``make accuracy``: the committed report matches its data, and the data reproduce."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from adamw_rms import accuracy

ROOT = Path(__file__).resolve().parent.parent
GRID_CSV = ROOT / "src/adamw_rms/data/accuracy.csv"
EPS_CSV = ROOT / "src/adamw_rms/data/accuracy_eps.csv"
SIGN_CSV = ROOT / "src/adamw_rms/data/accuracy_sign.csv"
SCHEDULE_CSV = ROOT / "src/adamw_rms/data/accuracy_schedules.csv"

pytestmark = pytest.mark.skipif(not GRID_CSV.exists(), reason="run `make accuracy` first")


def test_report_is_generated_from_the_committed_data():
    text = accuracy.report(accuracy.read_csv(GRID_CSV))
    if EPS_CSV.exists():
        text += "\n" + accuracy.eps_report(accuracy.read_csv(EPS_CSV))
    if SIGN_CSV.exists():
        text += "\n" + accuracy.sign_report(accuracy.read_csv(SIGN_CSV))
    if SCHEDULE_CSV.exists():
        text += "\n" + accuracy.schedule_report(accuracy.read_schedule_csv(SCHEDULE_CSV))
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
        assert row["rel_error"] == pytest.approx(row["predicted"] / row["simulated"] - 1, abs=1e-9)


@pytest.mark.slow
def test_a_grid_point_reproduces_exactly_and_within_se_under_another_seed():
    pytest.importorskip("numba")
    from adamw_rms.simulation.sweep import sweep

    combos = [
        (b1, b2, snr)
        for b1 in accuracy.GRID["beta1"]
        for b2 in accuracy.GRID["beta2"]
        for snr in accuracy.GRID["snr"]
    ]
    index = combos.index((0.9, 0.999, 10.0))
    stored = [
        r for r in accuracy.read_csv(GRID_CSV)
        if (r["beta1"], r["beta2"], r["snr"]) == combos[index] and r["formula"] == "theta_rms"
    ]  # fmt: skip
    n = int(stored[0]["n"])

    def rerun(seed: int) -> dict[tuple, tuple[float, float]]:
        result = sweep(
            accuracy._variants(), beta1=0.9, beta2=0.999, steps=100_000, n=n,
            grad_mean=math.sqrt(10.0), record_steps=accuracy._record_steps(), seed=seed,
        )  # fmt: skip
        out = {}
        for k, v in enumerate(result.variants):
            for p, step in enumerate(result.steps):
                key = (v.lr, v.weight_decay, float(v.bias_correction), v.init_rms, int(step))
                out[key] = (float(result.weight_rms[k, p]), float(result.weight_rms_se[k, p]))
        return out

    same, other = rerun(1000 + index), rerun(77)
    for row in stored:
        key = (row["lr"], row["weight_decay"], row["bias_correction"], row["init_rms"], row["step"])
        assert same[key][0] == pytest.approx(row["simulated"], rel=1e-9)
        gap = abs(other[key][0] - row["simulated"])
        assert gap <= 4 * np.hypot(other[key][1], row["se"])


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
        ({"formula": "theta_rms", "bias_correction": 1.0}, -0.026, 0.029),
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
        ({"formula": "large_snr", "bias_correction": 1.0, "snr": 10.0}, -0.0025, 0.0015),
        ({"formula": "large_snr", "bias_correction": 1.0, "snr": 1.0}, -0.0035, 0.0115),
        ({"formula": "large_snr", "bias_correction": 1.0, "snr": 0.1}, -0.0135, 0.0265),
        ({"formula": "sign_arcsine", "t_decay_min": 3}, -0.0041, 0.0040),
        ({"formula": "sign_arcsine"}, -0.0041, 0.026),
        ({"formula": "sign_source", "beta1": 0.5, "snr": 0.0, "t_decay": 10.0}, 0.138, 0.141),
        ({"formula": "sign_source", "beta1": 0.9, "snr": 0.0, "t_decay": 10.0}, 0.197, 0.200),
        ({"formula": "sign_source", "beta1": 0.95, "snr": 0.0, "t_decay": 10.0}, 0.198, 0.215),
        ({"formula": "sign_source", "snr": 0.1}, -0.063, 0.216),
    ],
)  # fmt: skip
def test_docstring_claims_match_the_measurement(where, low, high):
    measured_low, measured_high = _range(**where)
    assert low <= measured_low and measured_high <= high, (measured_low, measured_high)

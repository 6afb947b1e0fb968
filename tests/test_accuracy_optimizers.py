"""The other optimizers' study (``accuracy_optimizers.csv``): complete, precise, the formulas
within their bars, REQ's errors as measured, and the rows reproduced from the registry."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from adamw_rms.accuracy import optimizers
from adamw_rms.data import FILES, read_optimizer_csv, settings, write_csv

DATA = Path(optimizers.__file__).resolve().parent.parent / "data"
ROWS = read_optimizer_csv(DATA / FILES["optimizers"])
STUDY = settings("full").optimizer_study


def _chosen(name: str, final: bool = False) -> list[dict]:
    rows = [r for r in ROWS if r["formula"] == name]
    if final:
        rows = [r for r in rows if math.isclose(r["t_decay"], max(STUDY["t_decay"]))]
    assert rows, name
    return rows


def _csv(rows: list[dict]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(write_csv(rows, optimizers.COLUMNS))))


def test_every_run_and_recorded_step_is_there_and_precise():
    runs = {(r["optimizer"], r["setting"], r["lr"], r["weight_decay"], r["grad_std"], r["snr"])
            for r in ROWS}  # fmt: skip
    assert len(runs) == len(STUDY["runs"]) * len(STUDY["snr"]) == len(optimizers.tasks("full"))
    for run in runs:
        steps = {r["step"] for r in ROWS if (r["optimizer"], r["setting"], r["lr"],
                 r["weight_decay"], r["grad_std"], r["snr"]) == run}  # fmt: skip
        assert len(steps) == len(STUDY["t_decay"])
    assert max(r["rel_se"] for r in ROWS) <= settings("full").target_rel_se


def test_lion_is_within_its_bar_everywhere():
    # Issue 17: within 1% at equilibrium (mu = 0 and mu != 0); measured at every recorded step.
    assert max(abs(r["rel_error"]) for r in _chosen("lion_arcsine")) < 0.01


def test_sgd_is_exact_to_monte_carlo_noise():
    # Issue 17: exact to Monte Carlo noise, 0.5% + 2 SE, both couplings, Nesterov or not.
    for r in _chosen("sgd_exact"):
        assert abs(r["rel_error"]) <= 0.005 + 2 * r["rel_se"], r


def _fluctuation(r: dict) -> float:
    """``(1 - beta2) sqrt(E v) / grad_std`` at the row's stationary state, the quantity the
    estimator warns on: ``sqrt(E v) / sigma = r / kappa - eps / sigma`` (self-consistency)."""
    from adamw_rms.estimators.adam_l2 import effective_decay

    options = dict(item.split("=") for item in r["setting"].split())
    beta1, beta2 = float(options["beta1"]), float(options["beta2"])
    kappa = effective_decay(r["lr"], r["weight_decay"], beta1=beta1, grad_std=r["grad_std"])
    ratio = r["lr"] * r["weight_decay"] / r["grad_std"]
    return (1 - beta2) * (ratio / kappa - 1e-8 / r["grad_std"])


def test_adam_l2_mean_field_is_within_its_bar():
    from adamw_rms.estimators.adam_l2 import FLUCTUATION_BAR

    # Issue 17: within 3%; measured: at most 1.2% (0.3 timescales), 0.4% from 1 timescale,
    # wherever the estimator does not warn.
    rows = [r for r in _chosen("adam_l2_mean_field") if _fluctuation(r) <= FLUCTUATION_BAR]
    assert max(abs(r["rel_error"]) for r in rows) < 0.015
    assert max(abs(r["rel_error"]) for r in rows if r["t_decay"] >= 1) < 0.006


def test_adam_l2_mean_field_fails_where_it_warns():
    from adamw_rms.estimators.adam_l2 import FLUCTUATION_BAR

    # lr * wd / grad_std = 100 and 300 at beta2 = 0.95 (fluctuation 0.24 and 0.48): at
    # equilibrium (10 of v's timescales) the measured error is -5.7% / -5.5% (SNR 0 / 1) and
    # -9.3% / -9.2%, the numba grid's -5.6% and -9.3%; beyond the 3% by more than 2 SE.
    warned = [r for r in _chosen("adam_l2_mean_field") if _fluctuation(r) > FLUCTUATION_BAR]
    assert {round(r["lr"] * r["weight_decay"] / r["grad_std"], 6) for r in warned} == {100, 300}
    ends = {(round(r["lr"] * r["weight_decay"] / r["grad_std"]), r["snr"]): r for r in warned
            if math.isclose(r["t_decay"], max(STUDY["t_decay"]))}  # fmt: skip
    expected = {(100, 0.0): -0.057, (100, 1.0): -0.055, (300, 0.0): -0.093, (300, 1.0): -0.092}
    for key, error in expected.items():
        r = ends[key]
        assert abs(r["rel_error"] - error) <= 0.001 + 2 * r["rel_se"], r
        assert abs(r["rel_error"]) - 2 * r["rel_se"] > 0.03, r


def test_req_errors_at_equilibrium_are_what_the_docs_say():
    # Lion: REQ linearises the sign; from -20% (beta1 = 0) to +4% (beta3 weighting ignored).
    lion = {r["setting"]: r["rel_error"] for r in _chosen("lion_req", final=True)}
    assert lion["beta1=0 beta2=0.99"] == pytest.approx(math.sqrt(2 / math.pi) - 1, abs=0.01)
    assert 0.03 < lion["beta1=0.9 beta2=0.99"] < 0.05
    # SGD (heavy ball, coupled) and Adam with L2: REQ is their small-decay limit, within noise
    # at lr * weight_decay = 1e-3 once at equilibrium.
    # (Adam with L2 where lr * weight_decay / grad_std <= 1e-2; at 100 and 300 REQ, which
    # neither saturates nor knows the fluctuation of v, is +41% and +17% high.)
    for name in ("sgd_req", "adam_l2_req"):
        for r in _chosen(name, final=True):
            if r["lr"] * r["weight_decay"] / r["grad_std"] > 0.0101:
                large = {100: 0.41, 300: 0.17}[round(r["lr"] * r["weight_decay"] / r["grad_std"])]
                assert abs(r["rel_error"] - large) <= 0.01, r
                continue
            assert abs(r["rel_error"]) <= 0.0025 + 2 * r["rel_se"], r


def test_rows_from_the_registry_reproduce_the_committed_points():
    # The cheapest task (Adam with L2 at lr * wd / sigma = 1e-2: 1000 steps) from the committed
    # simulation numbers: every prediction is the registry's, to the CSV's 10 digits.
    task = next(
        t for t in optimizers.tasks("full") if t["optimizer"] == "adam_l2" and
        t["weight_decay"] == 1e-2 and t["snr"] == 0.0 and dict(t["options"])["beta2"] == 0.95
    )  # fmt: skip
    label = optimizers.setting("adam_l2", dict(task["options"]))
    committed = [r for r in ROWS if r["optimizer"] == "adam_l2" and r["setting"] == label and
                 r["weight_decay"] == 1e-2 and r["snr"] == 0.0]  # fmt: skip
    mean_field = [r for r in committed if r["formula"] == "adam_l2_mean_field"]
    result = SimpleNamespace(
        steps=np.array([int(r["step"]) for r in mean_field]),
        weight_rms=np.array([r["simulated"] for r in mean_field]),
        weight_rms_se=np.array([r["se"] for r in mean_field]),
    )
    rebuilt = optimizers.rows(task, result, int(mean_field[0]["n"]))
    # The columns derived from simulated and se are recomputed from their 10-digit copies, so
    # only the columns the task and the registry produce are compared.
    kept = optimizers.COLUMNS[: optimizers.COLUMNS.index("se") + 1]
    assert [{k: r[k] for k in kept} for r in _csv(rebuilt)] == [
        {k: r[k] for k in kept} for r in _csv(committed)
    ]


def test_a_small_task_runs_end_to_end():
    task = optimizers.tasks("small")[0]
    rows = optimizers.run(task)
    assert {r["formula"] for r in rows} == {"lion_arcsine", "lion_req"}
    assert all(abs(r["z"]) < 5 for r in rows if r["formula"] == "lion_arcsine")

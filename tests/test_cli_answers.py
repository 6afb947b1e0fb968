"""``adamw-rms estimate``, ``adamw-rms solve``, ``--preset`` and the option suggestions."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys

import pytest

from adamw_rms import estimators
from adamw_rms.__main__ import main, suggest_option
from adamw_rms.answers import measured_accuracy
from adamw_rms.cli_options import PRESETS, SCHEDULE_CHOICES
from adamw_rms.data import read_schedule_csv
from adamw_rms.schedules import SCHEDULES, cosine

# The question (torch AdamW, betas 0.9/0.95, cosine 3e-4 -> 3e-5 over 100k steps with
# 2k warmup, weight decay 0.1, init RMS 0.02).
BAR = [
    "--preset", "torch", "--beta2", "0.95", "--lr", "3e-4", "--weight-decay", "0.1",
    "--schedule", "cosine", "--lr-final", "3e-5", "--warmup-steps", "2000", "--steps", "100000",
    "--init-rms", "0.02",
]  # fmt: skip


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_solve_bar_equilibrium_weight_decay(capsys):
    answer = _json(capsys, ["solve", "--target-rms", "0.05", "--lr", "1e-3", "--json"])
    assert answer["weight_decay"] == pytest.approx(0.2, abs=1e-9)
    assert answer["mode"] == "at equilibrium"


def test_solve_after_steps_and_under_a_schedule_round_trip(capsys):
    finite = _json(
        capsys,
        ["solve", "--target-rms", "0.05", "--lr", "1e-3", "--steps", "5000", "--init-rms", "0.02",
         "--json"],
    )  # fmt: skip
    assert finite["weight_decay"] == estimators.solve_weight_decay(
        0.05, 1e-3, steps=5000, init_rms=0.02
    )
    schedule = ["solve", "--target-rms", "0.05", *BAR[4:], "--json"]
    schedule.remove("--weight-decay"), schedule.remove("0.1")
    constant = _json(capsys, schedule)
    proportional = _json(capsys, [*schedule, "--proportional"])
    lr = cosine(3e-4, 3e-5, 100_000, warmup=2000)
    final = estimators.weight_rms_trajectory(lr, constant["weight_decay"], init_rms=0.02)[-1]
    assert final == pytest.approx(0.05, rel=1e-9)
    shaped = proportional["weight_decay"] * lr / lr.max()
    final = estimators.weight_rms_trajectory(lr, shaped, init_rms=0.02)[-1]
    assert final == pytest.approx(0.05, rel=1e-9)
    # A weight decay that falls with the lr needs a larger peak value for the same end point.
    assert proportional["weight_decay"] > constant["weight_decay"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--proportional"], "--proportional needs --schedule"),
        (["--schedule", "cosine"], "needs --steps"),
        (["--init-rms", "0.1"], "--init-rms needs --steps"),
        (["--steps", "10", "--init-rms", "0"], "out of reach"),  # names the range
    ],
)
def test_solve_errors_exit_2_with_one_line(argv, message, capsys):
    assert main(["solve", "--target-rms", "0.05", "--lr", "1e-3", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_estimate_constant_lr_matches_weight_rms(capsys):
    answers = _json(capsys, ["estimate", "--lr", "1e-3", "--steps", "20000", "--json"])
    assert answers["weight_rms"] == estimators.weight_rms(1e-3, 0.1, steps=20000, init_rms=0.1)
    assert answers["equilibrium_weight_rms"] == pytest.approx(math.sqrt(1e-3 / 0.2))
    assert answers["timescale"] == pytest.approx(10_000)
    assert answers["settings"]["preset"] == "torch"  # estimate's default
    assert answers["settings"]["bias_correction"] is True
    band = answers["measured_error"]
    assert band == measured_accuracy(scheduled=False, bias_correction=True)
    assert band["low"] < 0 < band["high"] and band["points"] > 0


def test_estimate_schedule_is_the_mean_field_trajectory(capsys, tmp_path):
    path = tmp_path / "trajectory.csv"
    answers = _json(capsys, ["estimate", *BAR, "--json", "--trajectory", str(path)])
    lr = cosine(3e-4, 3e-5, 100_000, warmup=2000)
    expected = estimators.weight_rms_trajectory(lr, 0.1, init_rms=0.02, method="mean_field")
    assert answers["weight_rms"] == pytest.approx(float(expected[-1]), rel=1e-12)
    assert answers["peak_weight_rms"] == pytest.approx(float(expected.max()), rel=1e-12)
    assert answers["equilibrium_weight_rms"] == pytest.approx(math.sqrt(3e-4 / 0.2))
    assert "mean_field" in answers["method"]
    with path.open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 100_000 and rows[0]["step"] == "1"
    assert float(rows[-1]["weight_rms"]) == answers["weight_rms"]
    assert float(rows[-1]["lr"]) == pytest.approx(3e-5)


def test_estimate_quotes_the_schedule_accuracy_from_the_data():
    from importlib import resources

    path = resources.files("adamw_rms.data").joinpath("accuracy_schedules.csv")
    errors = [r["rel_error"] for r in read_schedule_csv(path) if r["method"] == "mean_field"]
    band = measured_accuracy(scheduled=True, bias_correction=True)
    assert (band["low"], band["high"], band["points"]) == (min(errors), max(errors), len(errors))


def test_estimate_text_starts_with_the_settings(capsys):
    assert main(["estimate", *BAR]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("settings (torch preset): lr cosine 0.0003 -> 3e-05, warmup 2000")
    assert "betas 0.9/0.95, eps 1e-08, bias correction on" in lines[0]
    assert lines[1].startswith("weight RMS after 100000 steps")
    assert any(line.startswith("method: mean field") and "measured" in line for line in lines)


def test_estimate_bar_against_the_numba_engine(capsys):
    # The bar (within 2% of torch.optim.AdamW; the numba engine agrees with torch) on a
    # shorter run with the same shape: cosine with warmup, torch's bias correction and eps.
    pytest.importorskip("numba")
    run = [
        "--preset", "torch", "--beta2", "0.95", "--lr", "3e-3", "--weight-decay", "0.1",
        "--schedule", "cosine", "--lr-final", "3e-4", "--warmup-steps", "200", "--steps", "5000",
        "--init-rms", "0.02",
    ]  # fmt: skip
    predicted = _json(capsys, ["estimate", *run, "--json"])["weight_rms"]
    simulated = _json(capsys, ["simulate", *run, "--n", "20000", "--no-progress", "--json"])
    gap = predicted / simulated["weight_rms"] - 1
    assert abs(gap) < 0.02, (gap, simulated["weight_rms_se"])


def test_presets_fill_only_what_is_not_given(capsys):
    record = _json(
        capsys, ["simulate", "--preset", "torch", "--beta2", "0.95", "--steps", "20", "--n", "64",
                 "--engine", "numpy", "--json"],
    )  # fmt: skip
    config = record["config"]
    assert (config["beta1"], config["beta2"], config["eps"]) == (0.9, 0.95, 1e-8)
    assert config["bias_correction"] is True
    source = _json(
        capsys, ["simulate", "--steps", "20", "--n", "64", "--engine", "numpy", "--json"]
    )
    assert source["config"]["beta2"] == PRESETS["source"]["beta2"]  # simulate's default
    assert source["config"]["bias_correction"] is False
    forced = _json(
        capsys, ["simulate", "--preset", "torch", "--no-bias-correction", "--steps", "20", "--n",
                 "64", "--engine", "numpy", "--json"],
    )  # fmt: skip
    assert forced["config"]["bias_correction"] is False


def test_simulate_and_check_text_start_with_the_settings(capsys):
    base = ["--steps", "20", "--n", "64", "--engine", "numpy", "--no-progress"]
    assert main(["simulate", *base]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("settings (source preset): lr 0.001, weight decay 0.1, betas 0.9/0.95")
    assert main(["check", "--preset", "torch", *base]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("settings (torch preset):") and "bias correction on" in first


def test_schedule_choices_are_the_schedules():
    assert set(SCHEDULE_CHOICES) == {"constant", *SCHEDULES}


@pytest.mark.parametrize(
    ("unknown", "meant"),
    [
        ("--learning-rate", "--lr"),
        ("--learning-rate=3e-4", "--lr"),
        ("--weight_decay", "--weight-decay"),
        ("--wd", "--weight-decay"),
        ("--init_rms", "--init-rms"),
        ("--bias-corection", "--bias-correction"),
        ("--zzz", None),
    ],
)
def test_suggest_option(unknown, meant):
    options = ["--lr", "--lr-final", "--weight-decay", "--init-rms", "--bias-correction", "--json"]
    assert suggest_option(unknown, options) == meant


def test_near_miss_option_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["estimate", "--learning-rate", "3e-4"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --learning-rate 3e-4 (did you mean --lr?)" in err


def test_derive_check_outside_a_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["derive", "--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no derivations/" in err and "pyproject.toml" in err


def test_derive_table_fits_in_100_columns():
    from adamw_rms.__main__ import TABLE_WIDTH, _table

    methods = ", ".join(f"check number {k} of a long list" for k in range(12))
    rows = [("step", "kind", "verified by", "result", "ms")]
    rows += [("weight_rms.a_rather_long_step_identifier", ":=", methods, "pass (erratum)", "12")]
    text = _table(rows, wrap=2)
    assert max(len(line) for line in text.splitlines()) <= TABLE_WIDTH
    assert "".join(text.split()).count("checknumber") == 12  # nothing lost in the wrapping


def test_steps_starts_fast_once_listed(repo_root, tmp_path):
    # The first `steps` builds the derivations (seconds) and remembers the listing; the next
    # one reads it. Timed in a fresh interpreter, as a user would start it.
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    env["ADAMW_RMS_CACHE_DIR"] = str(tmp_path / "cache")
    command = [sys.executable, "-m", "adamw_rms", "steps"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    script = (
        "import time, sys, io, contextlib; start = time.perf_counter(); out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    from adamw_rms.__main__ import main; code = main(['steps'])\n"
        "print(code, time.perf_counter() - start, 'adamw_rms.steps' in sys.modules, "
        "len(out.getvalue()))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    code, seconds, built, length = done.stdout.split()
    assert code == "0" and built == "False" and int(length) == len(first.stdout)
    assert float(seconds) < 1.0


def test_readme_onecycle_example_runs(repo_root, capsys):
    pytest.importorskip("torch")
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    (example,) = [b for b in blocks if "OneCycleLR" in b]
    exec(compile(example, "README.md", "exec"), {})
    line = capsys.readouterr().out
    assert line.startswith("lr 1.0e-03 at step ") and "final weight RMS 0.0" in line

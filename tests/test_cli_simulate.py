"""``adamw-rms simulate`` and ``adamw-rms check``, in process through ``main(argv)``."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from adamw_rms.__main__ import main

pytest.importorskip("numba")

SMALL = ["--steps", "2000", "--n", "2000", "--no-progress"]


def test_simulate_prints_rms_with_standard_errors(capsys):
    assert main(["simulate", *SMALL]) == 0
    text = capsys.readouterr().out
    assert "weight RMS at step 2000:" in text and "±" in text
    assert "update RMS (last 1000 steps)" in text


def test_simulate_json_has_the_documented_fields(capsys):
    args = ["simulate", *SMALL, "--json", "--engine", "numpy", "--seed", "3", "--snr", "0.5"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["engine"] == "numpy"
    for key in ("weight_rms", "weight_rms_se", "update_rms", "update_rms_se", "elapsed_s"):
        assert isinstance(record[key], float) and math.isfinite(record[key])
    assert record["config"]["seed"] == 3
    assert record["config"]["snr"] == pytest.approx(0.5)
    assert record["config"]["bias_correction"] is False


def test_check_json_adds_each_formula(capsys):
    assert main(["check", *SMALL, "--json", "--bias-correction", "--init-rms", "0"]) == 0
    record = json.loads(capsys.readouterr().out)
    names = [row["formula"] for row in record["formulas"]]
    assert names[0] == "theta_rms" and "update_rms" in names
    for row in record["formulas"]:
        assert row["predicted"] > 0
        assert row["rel_error"] == pytest.approx(row["predicted"] / row["simulated"] - 1)
        assert row["z"] == pytest.approx((row["predicted"] - row["simulated"]) / row["se"])
        # Two verdicts, both in the JSON: accuracy here, and the measured band (regression).
        margin = row["tolerance"] + 2 * row["se"] / row["simulated"]
        assert row["accurate"] == (abs(row["rel_error"]) <= margin)
        assert isinstance(row["within_band"], bool) and "within" not in row


def test_check_with_the_source_settings_names_them(capsys):
    assert main(["check", "--steps", "3000", "--n", "2000", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "the source's script settings" in text
    for name in ("theta_rms", "equilibrium", "quick", "update_rms"):
        assert name in text
    # The quick estimate is measured (within its band) but never shown as accurate.
    (quick,) = [line for line in text.splitlines() if line.startswith("quick ")]
    assert "off by -8" in quick and "accurate" not in quick and "within band" in quick


def test_check_sign_sgdm_compares_both_sign_formulas(capsys):
    assert main(["check", *SMALL, "--update", "sign_sgdm", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = [row["formula"] for row in payload["formulas"]]
    assert names == ["sign_arcsine", "sign_source"]
    # The source's formula is high by tens of percent at beta1 = 0.9; the corrected one is not.
    errors = {row["formula"]: row["rel_error"] for row in payload["formulas"]}
    assert errors["sign_source"] > 0.1 > abs(errors["sign_arcsine"])


def test_check_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "trajectory.png"
    assert main(["check", *SMALL, "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--beta1", "1.5"], "beta1 must be in [0, 1)"),
        (["simulate", "--lr", "-1"], "lr must be in [0, inf)"),
        (["simulate", "--snr", "-1"], "snr must be in [0, inf)"),
        (["simulate", "--n", "1"], "n must be in [2, inf)"),
        (["simulate", "--threads", "2", "--engine", "numpy"], "--threads applies to the numba"),
        (["check", "--engine", "torch", "--steps", "10", "--n", "10"], "always applies bias"),
        (["simulate", "--fused", "--engine", "numba"], "--fused/--no-fused apply to the torch"),
        (
            ["simulate", "--engine", "torch", "--update", "sign_sgdm", "--no-fused"],
            "fused applies to torch.optim.AdamW only",
        ),
    ],
)
def test_errors_exit_2_with_one_line(args, message, capsys):
    if "torch" in args:
        pytest.importorskip("torch")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--engine", "jax"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("flag", ["--fused", "--no-fused", None])
def test_simulate_torch_fused_flag_reaches_adamw(flag, capsys):
    pytest.importorskip("torch")
    args = ["simulate", "--engine", "torch", "--device", "cpu", "--bias-correction", "--json"]
    args += ["--steps", "50", "--n", "200", "--no-progress"] + ([flag] if flag else [])
    assert main(args) == 0
    info = json.loads(capsys.readouterr().out)["info"]
    assert info["fused"] == {"--fused": True, "--no-fused": False, None: None}[flag]
    assert info["implementation"] == ("fused" if flag == "--fused" else "for-loop")


def test_the_program_flushes_its_output_and_exit_status(repo_root):
    # `run` ends the process without the interpreter's shutdown once numba has run: the JSON
    # must still arrive whole, and a late error keep its status.
    env = {**os.environ, "PYTHONPATH": str(repo_root / "src")}
    command = [sys.executable, "-m", "adamw_rms", "simulate", "--engine", "numba"]
    done = subprocess.run(
        [*command, "--json", "--n", "64", "--steps", "10"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["config"]["n"] == 64
    failed = subprocess.run(
        [*command, "--n", "64", "--steps", "10", "--threads", "100000"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: threads must be in")

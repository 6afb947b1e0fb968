"""Weight RMS trajectories under schedules: O(T) recursions against the O(T^2) sums of the
derived formulas, exact constant-schedule forms, long runs, bad input, and simulation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from adamw_rms.estimators import weight_rms_trajectory
from adamw_rms.estimators.schedules import METHODS, linear_recurrence
from adamw_rms.simulation import SimulationConfig, simulate

# Part 2's formulas; "corrected" (issue 16) has its own direct-sum tests in test_corrected.py.
PART_TWO = tuple(method for method in METHODS if method != "corrected")

SE_MULTIPLIER = 4.0


def _random_schedule(steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(1e-3, 5e-2, steps), rng.uniform(0.0, 2.0, steps)


def _direct(lr, decay, beta1, snr, init_rms, method):
    """The derived formulas summed term by term, O(T^2), at every t (the reference)."""
    kappa = np.cumsum(lr * decay)
    out = []
    for t in range(1, lr.size + 1):
        k = kappa[:t]
        from_init = math.exp(-2 * k[-1]) * init_rms**2
        if method == "mean_field":
            z = np.sum(np.exp(k - k[-1]) * lr[:t])  # e^{-kappa_t} z_t
            inner = [
                np.sum(np.exp(k[j:] - k[-1]) * beta1 ** np.arange(t - j) * lr[j:t])
                for j in range(t)
            ]
            b1bar_sq_z2 = (1 - beta1) ** 2 * np.sum(np.square(inner))
            noise = (snr * z**2 + b1bar_sq_z2) / (snr + 1)
        elif method == "series":
            noise = np.sum(np.exp(2 * (k - k[-1])) * lr[:t] ** 2)
        elif method == "ode":
            step = lr[:t] * decay[:t]
            per_step = np.where(step > 0, -np.expm1(-2 * step) / np.where(step > 0, 2 * step, 1), 1)
            noise = np.sum(np.exp(2 * (k - k[-1])) * lr[:t] ** 2 * per_step)
        else:
            nu = np.sum(lr[:t] ** 2)
            noise = nu * (-math.expm1(-2 * k[-1]) / (2 * k[-1]) if k[-1] > 0 else 1.0)
        out.append(math.sqrt(from_init + noise))
    return np.array(out)


def test_linear_recurrence_matches_a_loop_across_many_blocks():
    rng = np.random.default_rng(0)
    factor = rng.uniform(0.2, 1.0, 5000)  # log factors ~ -0.5 each: hundreds of blocks
    term = rng.uniform(0.0, 1.0, 5000)
    expected, x = [], 0.3
    for a, b in zip(factor, term, strict=True):
        x = a * x + b
        expected.append(x)
    np.testing.assert_allclose(linear_recurrence(factor, term, 0.3), expected, rtol=1e-13)


@pytest.mark.parametrize("method", PART_TWO)
@pytest.mark.parametrize("beta1", [0.0, 0.9])
def test_recursions_equal_the_direct_sums(method, beta1):
    lr, decay = _random_schedule(60, seed=int(beta1 * 10) + len(method))
    snr = 0.7 if method == "mean_field" else 0.0
    got = weight_rms_trajectory(lr, decay, beta1=beta1, snr=snr, init_rms=0.2, method=method)
    expected = _direct(lr, decay, beta1, snr, 0.2, method)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_constant_schedule_series_is_the_derived_geometric_sum():
    # Step schedules.theta_rms_series_constant: the exact sum for constant eta, lambda.
    lr, decay, init, steps = 1e-3, 0.1, 0.1, 5000
    got = weight_rms_trajectory(np.full(steps, lr), decay, init_rms=init, method="series")
    t = np.arange(1, steps + 1)
    q = lr * decay
    closed = (
        np.exp(-2 * q * t) * init**2
        + np.exp(2 * q) * -np.expm1(-2 * q * t) / np.expm1(2 * q) * lr**2
    )
    np.testing.assert_allclose(got, np.sqrt(closed), rtol=1e-12)


def test_constant_schedule_ode_is_the_part_one_exponential_form():
    # The ODE with constant coefficients: rho_t = e^{-2qt} rho_0 + (1 - e^{-2qt}) eta/(2 lambda).
    lr, decay, init, steps = 1e-3, 0.1, 0.1, 5000
    got = weight_rms_trajectory(lr, np.full(steps, decay), init_rms=init, method="ode")
    t = np.arange(1, steps + 1)
    q = lr * decay
    expected = np.exp(-2 * q * t) * init**2 - np.expm1(-2 * q * t) * lr / (2 * decay)
    np.testing.assert_allclose(got, np.sqrt(expected), rtol=1e-12)


def test_no_weight_decay_grows_like_the_sum_of_squared_rates():
    lr = np.linspace(1e-3, 1e-4, 1000)
    got = weight_rms_trajectory(lr, 0.0, method="series")
    np.testing.assert_allclose(got, np.sqrt(np.cumsum(lr**2)), rtol=1e-13)


def test_long_runs_are_finite_and_warning_free():
    steps = 2_000_000
    lr = np.full(steps, 2.5e-4)  # kappa reaches 50 with weight_decay = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            out = weight_rms_trajectory(lr, 0.1, init_rms=1.0, method=method)
            assert np.all(np.isfinite(out))
            assert out[-1] == pytest.approx(math.sqrt(2.5e-4 / 0.2), rel=0.01)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 1e-3, "weight_decay": 0.1}, "per-step array"),
        ({"lr": np.ones(3) * 1e-3, "weight_decay": np.ones(4)}, "same length"),
        ({"lr": np.array([1e-3, -1.0]), "weight_decay": 0.1}, "lr must be in"),
        ({"lr": np.ones(3) * 1e-3, "weight_decay": 0.1, "method": "exact"}, "method must be"),
        ({"lr": np.ones(3) * 1e-3, "weight_decay": 0.1, "method": "series", "snr": 1.0}, "snr"),
        ({"lr": np.ones(3) * 1e-3, "weight_decay": 0.1, "beta1": 1.0}, "beta1 must be in"),
        ({"lr": np.ones((2, 2)) * 1e-3, "weight_decay": 0.1}, "1-d"),
        ({"lr": np.array([]), "weight_decay": 0.1}, "at least one step"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        weight_rms_trajectory(**kwargs)


# The source's part-2 run (cosine 1e-3 -> 1e-4 over 10^4 steps, weight decay 0.1, theta_0 =
# 0.1 N(0, 1), betas 0.9/0.95, no bias correction), measured once with the numba engine on
# 200 000 coordinates (seed 123, relative SE 0.16%): predicted / simulated - 1 at steps 2500,
# 5000 and 10 000. The general mean field, the series and the ODE are within 0.3%; the
# single-epoch formula drifts to +2.7% by the end of the run.
REFERENCE_STEPS = (2500, 5000, 10_000)
REFERENCE_REL_SE = 0.0016
REFERENCE_ERRORS = {
    "mean_field": (0.0006, 0.0020, 0.0026),
    "series": (0.0012, 0.0024, 0.0028),
    "ode": (0.0012, 0.0024, 0.0028),
    "single_epoch": (0.0018, 0.0089, 0.0269),
}


def test_source_reference_run_against_simulation():
    """Each formula's error on a fresh simulation agrees with the pinned reference errors."""
    pytest.importorskip("numba")
    steps = 10_000
    s = np.arange(1, steps + 1)
    lr = 1e-4 + (1e-3 - 1e-4) * (1 + np.cos(np.pi * s / steps)) / 2
    config = SimulationConfig.source(
        steps=steps, lr=lr, n=20_000, seed=11, record_steps=REFERENCE_STEPS
    )
    result = simulate(config, engine="numba")
    for method, reference in REFERENCE_ERRORS.items():
        predicted = weight_rms_trajectory(lr, 0.1, beta1=0.9, init_rms=0.1, method=method)
        for step, simulated, se, expected in zip(
            result.steps, result.weight_rms, result.weight_rms_se, reference, strict=True
        ):
            error = predicted[step - 1] / simulated - 1
            allowed = SE_MULTIPLIER * math.hypot(se / simulated, REFERENCE_REL_SE)
            assert abs(error - expected) <= allowed, (method, step, error, expected)


# --- schedule shapes and the command line ---------------------------------------------------------


def test_schedule_shapes():
    from adamw_rms.schedules import cosine, linear, wsd

    lr = cosine(1e-3, 1e-4, 1000)
    assert lr.size == 1000 and lr[-1] == pytest.approx(1e-4) and lr.max() <= 1e-3
    assert np.all(np.diff(lr) <= 0)
    ramp = linear(0.0, 1e-3, 100)
    np.testing.assert_allclose(ramp, 1e-3 * np.arange(1, 101) / 100)
    warm = cosine(1e-3, 0.0, 200, warmup=20)
    np.testing.assert_allclose(warm[:20], 1e-3 * np.arange(1, 21) / 20)
    stable = wsd(1e-3, 100, warmup=10, decay=30)
    assert np.all(stable[10:70] == 1e-3) and stable[-1] == 0.0 and stable[9] == 1e-3
    with pytest.raises(ValueError, match="warmup must be"):
        cosine(1e-3, 1e-4, 100, warmup=100)
    with pytest.raises(ValueError, match="decay must be"):
        wsd(1e-3, 100, warmup=90, decay=20)
    with pytest.raises(ValueError, match="peak must be"):
        cosine(-1.0, 0.0, 10)


def test_check_with_a_schedule_compares_the_part_two_formulas(capsys):
    pytest.importorskip("numba")
    import json

    from adamw_rms.__main__ import main

    argv = ["check", "--schedule", "wsd", "--warmup-steps", "200", "--steps", "3000"]
    assert main([*argv, "--n", "2000", "--no-progress", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    names = [row["formula"] for row in payload["formulas"]]
    assert names == [
        "schedule_mean_field", "schedule_corrected", "schedule_series", "schedule_ode",
        "schedule_single_epoch",
    ]  # fmt: skip
    assert main(["check", "--lr-final", "1e-4", "--steps", "100"]) == 2
    assert "--lr-final" in capsys.readouterr().err


# --- a real torch scheduler -----------------------------------------------------------------------

# CosineAnnealingLR(T_max = 3000, 1e-3 -> 1e-4), weight decay 0.1, bias correction on, the source's
# other settings: the general mean-field formula against the numba engine on 200 000
# coordinates (seed 5) at step 3000: +0.03% (relative SE 0.16%).
TORCH_REFERENCE = (0.0003, 0.0016)


def test_from_torch_scheduler_and_a_torch_engine_run():
    torch = pytest.importorskip("torch")
    from adamw_rms.schedules import from_torch_scheduler

    steps = 3000

    def make(optimizer):
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=1e-4)

    lr, decay = from_torch_scheduler(make, steps, lr=1e-3, weight_decay=0.1)
    k = np.arange(steps)
    np.testing.assert_allclose(lr, 1e-4 + 0.9e-3 * (1 + np.cos(np.pi * k / steps)) / 2, rtol=1e-12)
    assert np.all(decay == 0.1)
    config = SimulationConfig.source(
        steps=steps, lr=1e-3, bias_correction=True, n=2000, seed=6, record_steps=(steps,)
    )
    result = simulate(config, engine="torch", device="cpu", scheduler=make)
    predicted = weight_rms_trajectory(lr, decay, beta1=0.9, init_rms=0.1)[-1]
    error = predicted / result.final_weight_rms - 1
    expected, reference_se = TORCH_REFERENCE
    allowed = SE_MULTIPLIER * math.hypot(result.final_weight_rms_se / result.final_weight_rms,
                                         reference_se)  # fmt: skip
    assert abs(error - expected) <= allowed


def test_check_plots_a_schedule(tmp_path, capsys):
    pytest.importorskip("numba")
    pytest.importorskip("matplotlib")
    from adamw_rms.__main__ import main

    target = tmp_path / "schedule.png"
    argv = ["check", "--schedule", "cosine", "--steps", "1000", "--n", "500", "--no-progress"]
    assert main([*argv, "--plot", str(target)]) == 0
    assert target.stat().st_size > 10_000


@pytest.mark.slow
def test_ten_million_steps_are_finite_and_warning_free():
    steps = 10_000_000
    lr = np.full(steps, 5e-5)  # kappa reaches 50 with weight_decay = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            out = weight_rms_trajectory(lr, 0.1, init_rms=1.0, method=method)
            assert np.all(np.isfinite(out))
            assert out[-1] == pytest.approx(math.sqrt(5e-5 / 0.2), rel=0.01)


# --- closed forms by name, and the collapse-free rule ---------------------------------------------


@pytest.mark.parametrize(
    ("shape", "kwargs", "make"),
    [
        ("cosine", {"final": 1e-4}, lambda: __import__("adamw_rms.schedules").schedules.cosine(
            1e-3, 1e-4, 20_000)),
        ("linear", {"final": 1e-4, "warmup": 500}, lambda: __import__(
            "adamw_rms.schedules").schedules.linear(1e-3, 1e-4, 20_000, warmup=500)),
        ("wsd", {"warmup": 500, "decay": 4000}, lambda: __import__(
            "adamw_rms.schedules").schedules.wsd(1e-3, 20_000, warmup=500, decay=4000)),
    ],
)  # fmt: skip
def test_closed_forms_match_the_discrete_single_epoch(shape, kwargs, make):
    from adamw_rms.estimators import schedule_weight_rms

    closed = schedule_weight_rms(
        shape, peak=1e-3, steps=20_000, weight_decay=0.1, init_rms=0.1, **kwargs
    )
    discrete = weight_rms_trajectory(make(), 0.1, init_rms=0.1, method="single_epoch")[-1]
    # Integrals against sums over T = 20 000 steps: they differ at O(1/T) (measured <= 1e-5).
    assert closed == pytest.approx(discrete, rel=2 / 20_000)


def test_closed_form_input_is_named():
    from adamw_rms.estimators import schedule_weight_rms

    with pytest.raises(ValueError, match="shape must be one of"):
        schedule_weight_rms("step", peak=1e-3, steps=10, weight_decay=0.1)
    with pytest.raises(ValueError, match="warmup must be in"):
        schedule_weight_rms("cosine", peak=1e-3, steps=10, weight_decay=0.1, warmup=10)
    with pytest.raises(ValueError, match="peak must be in"):
        schedule_weight_rms("wsd", peak=-1.0, steps=10, weight_decay=0.1)


def test_weight_decay_proportional_to_lr_prevents_the_collapse():
    from adamw_rms.schedules import cosine, proportional_weight_decay

    lr = cosine(1e-3, 0.0, 100_000)
    equilibrium = math.sqrt(1e-3 / 0.2)
    constant = weight_rms_trajectory(lr, 0.1, method="series")[-1]
    proportional = weight_rms_trajectory(lr, proportional_weight_decay(lr, 0.1), method="series")
    assert constant < 0.6 * equilibrium  # the rate goes to 0 and so does the target
    assert proportional[-1] == pytest.approx(equilibrium, rel=1e-3)
    with pytest.raises(ValueError, match="not all 0"):
        proportional_weight_decay(np.zeros(3), 0.1)


# --- every schedule run of docs/accuracy.md, on a fresh simulation -----------------------------


@pytest.mark.parametrize(
    "name", ["WSD 1e-3, warmup 500, decay 2000", "linear 1e-3 -> 1e-4, warmup 500"]
)
def test_schedule_runs_within_their_measured_errors(name):
    """Each formula's error on a fresh, smaller simulation agrees with the measured one.

    The measured errors and their SE are those of ``docs/accuracy.md`` (``adamw-rms accuracy
    --part schedules``, 200 000 coordinates); the tolerance is 4 combined SE.
    """
    pytest.importorskip("numba")
    from pathlib import Path

    from adamw_rms import data
    from adamw_rms.accuracy.schedules import run_learning_rates

    table = Path(__file__).resolve().parent.parent / "src/adamw_rms/data/accuracy_schedules.csv"
    measured = [r for r in data.read_schedule_csv(table) if r["schedule"] == name]
    lr = run_learning_rates(data.SCHEDULE_RUNS[name], data.SCHEDULE_PEAK, data.SCHEDULE_STEPS)
    config = SimulationConfig.source(
        steps=data.SCHEDULE_STEPS, lr=lr, n=20_000, seed=99, record_steps=data.SCHEDULE_RECORD
    )
    result = simulate(config, engine="numba")
    for method in METHODS:
        options = {}
        if method == "corrected":  # the simulated optimizer's own beta2, bias correction, eps
            options = dict(
                beta2=config.beta2, bias_correction=config.bias_correction, eps=config.eps
            )
        predicted = weight_rms_trajectory(
            lr, 0.1, beta1=0.9, init_rms=0.1, method=method, **options
        )
        for row in (r for r in measured if r["method"] == method):
            simulated, se = result.at(int(row["step"]))
            error = predicted[int(row["step"]) - 1] / simulated - 1
            allowed = SE_MULTIPLIER * math.hypot(se / simulated, row["rel_se"])
            assert abs(error - row["rel_error"]) <= allowed, (method, row["step"], error)


@pytest.mark.parametrize(("weight_decay", "steps"), [(0.1, 100_000), (1.0, 10_000)])
def test_constant_schedules_against_the_part_one_estimator(weight_decay, steps):
    """Constant lr and weight decay: part 2's formulas against part 1's ``weight_rms``.

    They cannot agree to rounding: part 2 replaces 1 - lr*wd by exp(-lr*wd), and the general
    mean field keeps the exact finite sums that part 1 takes to leading order in lr*wd. The
    measured gap is O(lr*wd): at most 6.6 lr*wd (mean field, early), and at steady state
    -4.2 lr*wd (mean field), +lr*wd/2 (series), 0 (ODE, single epoch).
    """
    from adamw_rms.estimators import weight_rms

    q = 1e-3 * weight_decay
    lr = np.full(steps, 1e-3)
    at = np.array([steps // 100, steps // 10, steps // 3, steps])
    part_one = np.array([weight_rms(1e-3, weight_decay, steps=t, init_rms=0.1) for t in at])
    gaps = {
        method: weight_rms_trajectory(lr, weight_decay, init_rms=0.1, method=method)[at - 1]
        / part_one
        - 1
        for method in PART_TWO
    }
    for gap in gaps.values():
        assert np.max(np.abs(gap)) <= 7 * q
    assert -4.5 * q <= gaps["mean_field"][-1] <= -4.0 * q
    assert gaps["series"][-1] == pytest.approx(q / 2, rel=0.01)
    assert abs(gaps["ode"][-1]) < 1e-9 and abs(gaps["single_epoch"][-1]) < 1e-9


def test_from_torch_scheduler_leaves_a_users_scheduler_as_it_was():
    torch = pytest.importorskip("torch")
    from adamw_rms.schedules import from_torch_scheduler

    parameter = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.AdamW([parameter], lr=1e-3, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100, eta_min=1e-4)
    first, decay = from_torch_scheduler(scheduler, 100)
    again, _ = from_torch_scheduler(scheduler, 100)
    np.testing.assert_array_equal(first, again)
    assert scheduler.last_epoch == 0 and optimizer.param_groups[0]["lr"] == 1e-3
    assert np.all(decay == 0.1)
    constant, _ = from_torch_scheduler(optimizer, 5)
    np.testing.assert_array_equal(constant, np.full(5, 1e-3))
    with pytest.raises(ValueError, match="optimizer_or_scheduler must be"):
        from_torch_scheduler(3.0, 5)
    with pytest.raises(ValueError, match="lr"):
        from_torch_scheduler(lambda opt: None, 5)


def test_schedule_formulas_predict_many_steps_as_one_by_one() -> None:
    from adamw_rms.comparison import FORMULAS
    from adamw_rms.schedules import cosine
    from adamw_rms.simulation import SimulationConfig

    config = SimulationConfig.source(steps=400, n=10, lr=cosine(1e-3, 1e-4, 400))
    steps = [0, 1, 37, 200, 400]
    scheduled = [f for f in FORMULAS if f.name.startswith("schedule_")]
    assert len(scheduled) == 5 and all(f.predict_steps is not None for f in scheduled)
    for formula in scheduled:
        one_by_one = [formula.predict(config, step) for step in steps]
        assert formula.predictions(config, steps).tolist() == one_by_one

"""The simulation engines: configuration, the source's script, agreement, standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adamw_rms.simulation import SimulationConfig, SimulationResult, rms_with_se, simulate

numba = pytest.importorskip("numba")


def small(**changes) -> SimulationConfig:
    settings = dict(
        lr=1e-2, weight_decay=0.1, beta1=0.9, beta2=0.99, eps=1e-8, steps=600, n=1500,
        init_rms=0.1, seed=11, record_steps=(0, 100, 600),
    )  # fmt: skip
    settings.update(changes)
    return SimulationConfig(**settings)


# ---- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": -1.0}, "lr must be in"),
        ({"lr": float("nan")}, "lr must be in"),
        ({"weight_decay": -0.1}, "weight_decay must be in"),
        ({"lr": 20.0}, "lr \\* weight_decay must be in \\[0, 1\\)"),
        ({"beta1": 1.0}, "beta1 must be in \\[0, 1\\)"),
        ({"beta2": -0.5}, "beta2 must be in"),
        ({"eps": -1.0}, "eps must be in"),
        ({"steps": 0}, "steps must be in"),
        ({"steps": 2.5}, "steps must be an integer"),
        ({"n": 1}, "n must be in"),
        ({"seed": -1}, "seed must be in"),
        ({"grad_std": -1.0}, "grad_std must be in"),
        ({"grad_mean": math.inf}, "grad_mean must be a finite"),
        ({"init_rms": -0.1}, "init_rms must be in"),
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"update": "adagrad"}, "update must be one of"),
        ({"record_steps": (0, 601)}, "record_steps must be integers in \\[0, 600\\]"),
        ({"record_steps": ()}, "record_steps must name at least one step"),
        ({"update_window": 0}, "update_window must be in \\[1, 600\\]"),
        ({"lr": np.ones(5)}, "lr as a schedule must be 1-D with one value per step"),
        ({"weight_decay": np.r_[np.ones(599), -1.0]}, "weight_decay must be in .* at step 600"),
        ({"grad_std": 0.0, "grad_mean": 0.0, "eps": 0.0}, "grad_std and grad_mean are both 0"),
        ({"bias_correction": "yes"}, "bias_correction must be True or False"),
    ],
)
def test_bad_configurations_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        small(**changes)


def test_defaults_follow_steps_on_replace():
    config = SimulationConfig(steps=100, n=10)
    assert config.record_steps == (100,) and config.update_window == 50
    longer = config.replace(steps=400)
    assert longer.record_steps == (400,) and longer.update_window == 200
    assert small().replace(steps=800).record_steps == (0, 100, 600)  # given ones are kept


def test_unknown_engine_and_options():
    with pytest.raises(ValueError, match="engine must be one of"):
        simulate(small(), engine="jax")
    with pytest.raises(ValueError, match="random_source must be one of"):
        simulate(small(), engine="numpy", random_source="mt")
    with pytest.raises(TypeError, match="SimulationConfig"):
        simulate({"lr": 1e-3})


# ---- the source's script ---------------------------------------------------------------------


def source_script(n: int, steps: int, seed: int) -> float:
    """The source's simulation, verbatim apart from the sizes and the seed."""
    np.random.seed(seed)  # noqa: NPY002 - the source's script, verbatim
    N, T = n, steps
    beta1, beta2 = 0.9, 0.95
    m, v = 0, 0
    w = np.random.randn(N) * 0.1  # noqa: NPY002
    for i in range(T):  # noqa: B007
        g = np.random.randn(N)  # noqa: NPY002
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        w = w - 0.001 * (m / v**0.5 + 0.1 * w)
    return (w**2).mean() ** 0.5


def test_numpy_engine_is_the_source_script():
    expected = source_script(2000, 400, seed=5)
    result = simulate(SimulationConfig.source(n=2000, steps=400, seed=5), engine="numpy")
    assert result.final_weight_rms == expected  # bit for bit


@pytest.mark.slow
def test_source_script_prints_about_0_0707():
    result = simulate(SimulationConfig.source(), engine="numpy")
    fast = simulate(SimulationConfig.source(), engine="numba")
    # The source says "about 0.0707"; both engines land within 2% of it, and within 4
    # combined standard errors of each other (different random numbers).
    assert abs(result.final_weight_rms / 0.0707 - 1) < 0.02
    gap = abs(result.final_weight_rms - fast.final_weight_rms)
    assert gap < 4 * math.hypot(result.final_weight_rms_se, fast.final_weight_rms_se)


# ---- engines agree ---------------------------------------------------------------------------


@pytest.mark.parametrize("update", ["adamw", "sign_sgdm"])
@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numba_replays_numpy_exactly(update, bias_correction, dtype):
    config = small(update=update, bias_correction=bias_correction, dtype=dtype, grad_mean=0.3)
    reference = simulate(config, engine="numpy", random_source="counter")
    fast = simulate(config, engine="numba")
    # Identical arithmetic on identical numbers; only the order of the final sums differs.
    np.testing.assert_allclose(fast.weight_rms, reference.weight_rms, rtol=1e-12)
    assert fast.update_rms == pytest.approx(reference.update_rms, rel=1e-12)


def test_numba_replays_numpy_with_a_schedule():
    steps = 500
    lr = 1e-2 * (0.1 + 0.9 * np.cos(np.linspace(0, np.pi / 2, steps)))
    decay = np.linspace(0.1, 0.05, steps)
    config = small(lr=lr, weight_decay=decay, steps=steps, record_steps=(250, 500))
    reference = simulate(config, engine="numpy", random_source="counter")
    fast = simulate(config, engine="numba")
    np.testing.assert_allclose(fast.weight_rms, reference.weight_rms, rtol=1e-12)


def test_numba_result_does_not_depend_on_threads():
    config = small(n=5000)
    one = simulate(config, engine="numba", threads=1)
    every = simulate(config, engine="numba", threads=numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(one.weight_rms, every.weight_rms)
    assert one.update_rms == every.update_rms
    with pytest.raises(ValueError, match="threads must be in"):
        simulate(config, engine="numba", threads=0)


def within_combined_se(a: SimulationResult, b: SimulationResult, sigmas: float = 4.0) -> None:
    gap = np.abs(a.weight_rms - b.weight_rms)
    limit = sigmas * np.hypot(a.weight_rms_se, b.weight_rms_se)
    assert np.all(gap <= limit), (a.weight_rms, b.weight_rms, limit)
    update_gap = abs(a.update_rms - b.update_rms)
    assert update_gap <= sigmas * math.hypot(a.update_rms_se, b.update_rms_se)


def test_numpy_random_stream_agrees_with_numba_statistically():
    config = small(n=6000, record_steps=(100, 600))
    within_combined_se(simulate(config, engine="numpy"), simulate(config, engine="numba"))


def test_float32_agrees_with_float64():
    config = small(n=4000)
    wide = simulate(config, engine="numba")
    narrow = simulate(config.replace(dtype="float32"), engine="numba")
    # Same random numbers: the difference is rounding, far below the standard error.
    assert np.all(np.abs(wide.weight_rms - narrow.weight_rms) < 0.05 * wide.weight_rms_se)


# ---- torch.optim.AdamW -----------------------------------------------------------------------


def test_torch_adamw_agrees_with_numba():
    torch = pytest.importorskip("torch")
    del torch
    config = small(n=8000, grad_mean=0.2)
    within_combined_se(simulate(config, engine="torch", device="cpu"), simulate(config, "numba"))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_fused_and_for_loop_agree_with_numba_and_each_other(dtype):
    pytest.importorskip("torch")
    config = small(n=4000, steps=300, grad_mean=0.2, dtype=dtype, record_steps=(0, 100, 300))
    numba_result = simulate(config, engine="numba")
    runs = {f: simulate(config, engine="torch", device="cpu", fused=f) for f in (None, True, False)}
    for fused, result in runs.items():
        within_combined_se(result, numba_result)
        assert result.info["fused"] is fused
    # The default on the CPU is the for-loop: the very same run as fused=False.
    assert runs[None].info["implementation"] == runs[False].info["implementation"] == "for-loop"
    assert runs[True].info["implementation"] == "fused"
    assert runs[None].weight_rms.tolist() == runs[False].weight_rms.tolist()
    # Same gradients (one torch.Generator): the fused kernel differs by rounding only.
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(runs[True].weight_rms, runs[False].weight_rms, rtol=tolerance)
    assert runs[True].update_rms == pytest.approx(runs[False].update_rms, rel=100 * tolerance)


def test_torch_fused_is_refused_where_it_cannot_apply():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"fused applies to torch\.optim\.AdamW only"):
        simulate(small(n=100, update="sign_sgdm"), engine="torch", device="cpu", fused=True)
    with pytest.raises(ValueError, match=r"fused applies to torch\.optim\.AdamW only"):
        simulate(small(n=100, update="sign_sgdm"), engine="torch", device="cpu", fused=False)
    with pytest.raises(ValueError, match="fused must be True, False or None"):
        simulate(small(n=100), engine="torch", device="cpu", fused="yes")
    # A device without the fused kernel: PyTorch's own refusal, named.
    with pytest.raises(ValueError, match=r"has no fused AdamW for torch\.float64 on meta"):
        simulate(small(n=100), engine="torch", device="meta", fused=True)


def test_torch_sign_sgdm_agrees_with_numba():
    pytest.importorskip("torch")
    config = small(n=8000, update="sign_sgdm")
    within_combined_se(simulate(config, engine="torch", device="cpu"), simulate(config, "numba"))


def test_torch_scheduler_is_driven_and_matches_the_lr_array():
    torch = pytest.importorskip("torch")
    steps = 600
    config = small(n=8000, steps=steps)
    factor = lambda step: 0.5 * (1 + math.cos(math.pi * step / steps))  # noqa: E731
    result = simulate(
        config, engine="torch", device="cpu",
        scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, factor),
    )  # fmt: skip
    lr = result.info["lr"]
    np.testing.assert_allclose(lr, [1e-2 * factor(k) for k in range(steps)], rtol=1e-12)
    within_combined_se(result, simulate(config.replace(lr=lr), engine="numba"))


def test_torch_refuses_what_adamw_cannot_do():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="always applies bias correction"):
        simulate(small(bias_correction=False), engine="torch", device="cpu")
    with pytest.raises(ValueError, match=r"give config\.lr as a number"):
        simulate(small(lr=np.full(600, 1e-2)), engine="torch", scheduler=lambda o: None)


# ---- standard errors -------------------------------------------------------------------------


def test_delta_method_matches_the_spread_over_seeds():
    # 40 independent runs: the reported SE should match the seed-to-seed spread of the RMS.
    # The spread of a standard deviation from 40 samples is known to ~11% (1 / sqrt(2 * 39)).
    base = small(n=400, steps=200, record_steps=(200,))
    results = [simulate(base.replace(seed=s), engine="numba") for s in range(40)]
    values = np.array([r.final_weight_rms for r in results])
    reported = np.mean([r.final_weight_rms_se for r in results])
    assert abs(values.std(ddof=1) / reported - 1) < 4 / math.sqrt(2 * 39)
    updates = np.array([r.update_rms for r in results])
    reported_update = np.mean([r.update_rms_se for r in results])
    assert abs(updates.std(ddof=1) / reported_update - 1) < 4 / math.sqrt(2 * 39)


def test_rms_with_se_of_a_constant_is_exact():
    rms, se = rms_with_se(4.0 * 10, 16.0 * 10, 10)
    assert float(rms) == 2.0 and float(se) == 0.0


def test_result_record_and_json():
    result = simulate(small(), engine="numba")
    assert result.at(100) == (result.weight_rms[1], result.weight_rms_se[1])
    with pytest.raises(ValueError, match="step 7 was not recorded"):
        result.at(7)
    record = result.to_dict()
    assert record["step"] == 600 and record["config"]["steps"] == 600
    assert set(record) >= {"weight_rms", "weight_rms_se", "update_rms", "update_rms_se"}
    assert "element-steps/s" in str(result)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_progress_bar_does_not_change_the_result(engine, capsys):
    pytest.importorskip("tqdm")
    config = small(n=600, steps=300, record_steps=(300,))
    quiet = simulate(config, engine=engine, progress=False)
    shown = simulate(config, engine=engine, progress=True)
    assert quiet.final_weight_rms == shown.final_weight_rms
    assert "engine" in capsys.readouterr().err  # the bar's description, on stderr

"""The update rules beyond AdamW and SignSGDMW: Lion, PyTorch's SGD and Adam with L2 decay.

Every engine against the NumPy reference (the numba kernel bit for bit, the real torch optimizers
to rounding on the same normals), and independent checks of the reference itself: SGD's exact
second moments (the recursion is linear and Gaussian), Lion with ``beta1 = beta2`` is SignSGDMW,
and a Lion step worked by hand.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from adamw_rms.simulation import SimulationConfig, simulate

pytest.importorskip("numba")

TINY = dict(
    lr=2e-2, weight_decay=0.1, beta1=0.9, beta2=0.99, eps=1e-8, steps=40, n=5, init_rms=0.1,
    seed=3, grad_mean=0.3, record_steps=(0, 7, 40), update_window=15,
)  # fmt: skip
STEPS = TINY["steps"]

#: One configuration per compiled path of the new rules (SGD: each flag that selects code).
RULES = [
    dict(update="lion"),
    dict(update="lion", beta1=0.5, beta2=0.9),
    dict(update="adam_l2"),
    dict(update="adam_l2", bias_correction=False, eps=0.0),
    dict(update="sgd"),
    dict(update="sgd", decoupled=True),
    dict(update="sgd", momentum=0.9),
    dict(update="sgd", momentum=0.9, dampening=0.3),
    dict(update="sgd", momentum=0.9, nesterov=True),
    dict(update="sgd", momentum=0.8, dampening=0.5, decoupled=True),
    dict(update="sgd", momentum=0.9, nesterov=True, decoupled=True),
]


def tiny(**changes) -> SimulationConfig:
    return SimulationConfig(**{**TINY, **changes})


def reference(config: SimulationConfig):
    return simulate(config, engine="numpy", random_source="counter")


def label(changes: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in changes.items())


# ---- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"update": "sgd", "momentum": 1.0}, r"momentum must be in \[0, 1\); got 1.0"),
        ({"update": "sgd", "momentum": -0.1}, r"momentum must be in \[0, 1\)"),
        ({"update": "sgd", "momentum": float("nan")}, "momentum must be a real number"),
        ({"update": "sgd", "dampening": 1.5}, r"dampening must be in \[0, 1\]"),
        ({"update": "sgd", "nesterov": 1}, "nesterov must be True or False"),
        ({"update": "sgd", "decoupled": "no"}, "decoupled must be True or False"),
        ({"update": "sgd", "nesterov": True}, "nesterov=True needs momentum > 0"),
        (
            {"update": "sgd", "nesterov": True, "momentum": 0.9, "dampening": 0.1},
            "nesterov=True needs momentum > 0 and dampening = 0",
        ),
        ({"update": "adamw", "momentum": 0.9}, "momentum applies to update='sgd' only"),
        ({"update": "lion", "decoupled": True}, "decoupled applies to update='sgd' only"),
        ({"update": "adam_l2", "nesterov": True}, "nesterov applies to update='sgd' only"),
        ({"update": "lion", "grad_std": 0.0, "grad_mean": 0.0}, "every gradient is 0"),
        ({"update": "adam_l2", "grad_std": 0.0, "grad_mean": 0.0, "eps": 0.0}, "0/0"),
        ({"update": "sgd", "lr": 20.0}, r"lr \* weight_decay must be in \[0, 1\)"),
    ],
)
def test_bad_configurations_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        tiny(**changes)


def test_decay_convention_and_zero_gradients():
    assert [tiny(**c).decoupled_decay for c in RULES[:6]] == [True, True, False, False, False,
                                                              True]  # fmt: skip
    # SGD's update is linear: zero gradients are pure decay, taken as they are.
    config = tiny(update="sgd", grad_std=0.0, grad_mean=0.0, record_steps=(0, STEPS))
    result = reference(config)
    decay = (1 - TINY["lr"] * TINY["weight_decay"]) ** STEPS
    assert result.weight_rms[1] == pytest.approx(result.weight_rms[0] * decay, rel=1e-12)


# ---- the numba kernel is the reference ---------------------------------------------------------


@pytest.mark.parametrize("changes", RULES, ids=label)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_engine_kernel_is_the_reference_bit_for_bit(changes, dtype):
    config = tiny(dtype=dtype, **changes)
    fast, slow = simulate(config, engine="numba"), reference(config)
    assert fast.weight_rms.tolist() == slow.weight_rms.tolist()
    assert fast.update_rms == slow.update_rms


def sequential_sums(values: np.ndarray) -> tuple[float, float]:
    """``(sum x, sum x²)`` added one coordinate after the other, as the kernel sums a chunk."""
    total = total_sq = 0.0
    for value in values.tolist():
        total += value
        total_sq += value * value
    return total, total_sq


@pytest.mark.parametrize("changes", [RULES[0], RULES[2], RULES[7], RULES[10]], ids=label)
def test_engine_kernel_over_whole_blocks_with_a_schedule_is_the_reference(monkeypatch, changes):
    # Whole 32-lane blocks and a remainder, every step recorded, summed in the kernel's order,
    # and schedules of lr and weight decay: the sums agree exactly.
    from adamw_rms.simulation import numpy_engine
    from adamw_rms.simulation.numba_engine import LANES

    monkeypatch.setattr(numpy_engine, "_sums", sequential_sums)
    config = tiny(
        n=3 * LANES + 5, record_steps=range(STEPS + 1), lr=np.linspace(2e-2, 1e-3, STEPS),
        weight_decay=np.linspace(0.2, 0.05, STEPS), **changes,
    )  # fmt: skip
    fast, slow = simulate(config, engine="numba"), reference(config)
    assert fast.weight_rms.tolist() == slow.weight_rms.tolist()
    assert fast.weight_rms_se.tolist() == slow.weight_rms_se.tolist()
    assert (fast.update_rms, fast.update_rms_se) == (slow.update_rms, slow.update_rms_se)


# ---- the real torch optimizers are the reference ---------------------------------------------


@pytest.mark.parametrize(
    "changes", [c for c in RULES if c.get("bias_correction", True)], ids=label
)  # torch.optim.Adam always corrects the bias
def test_torch_optimizers_replay_the_reference_on_the_same_normals(changes):
    pytest.importorskip("torch")
    config = tiny(n=40, **changes)
    result = simulate(config, engine="torch", device="cpu", random_source="counter")
    slow = reference(config)
    # torch orders a few operations differently (e.g. Lion and SGDW decay the weights first):
    # the difference is rounding, measured at most 4.4e-16 relative over these runs.
    np.testing.assert_allclose(result.weight_rms, slow.weight_rms, rtol=1e-13)
    assert result.update_rms == pytest.approx(slow.update_rms, rel=1e-13)
    expected = {"lion": "Lion", "sgd": "SGD", "adam_l2": "Adam"}[config.update]
    assert result.info["optimizer"] == expected and result.info["random_source"] == "counter"


@pytest.mark.parametrize("changes", [RULES[0], RULES[5]], ids=label)
def test_torch_float32_and_schedules_replay_the_reference(changes):
    pytest.importorskip("torch")
    config = tiny(
        n=40, dtype="float32", lr=np.linspace(2e-2, 1e-3, STEPS),
        weight_decay=np.linspace(0.2, 0.05, STEPS), **changes,
    )  # fmt: skip
    result = simulate(config, engine="torch", device="cpu", random_source="counter")
    np.testing.assert_allclose(result.weight_rms, reference(config).weight_rms, rtol=1e-5)


@pytest.mark.parametrize("changes", [RULES[0], RULES[8], RULES[2]], ids=label)
def test_torch_with_its_own_generator_agrees_with_numba(changes):
    pytest.importorskip("torch")
    config = tiny(n=6000, steps=400, record_steps=(100, 400), update_window=200, **changes)
    a, b = simulate(config, engine="torch", device="cpu"), simulate(config, engine="numba")
    gap = np.abs(a.weight_rms - b.weight_rms)
    assert np.all(gap <= 4 * np.hypot(a.weight_rms_se, b.weight_rms_se)), (a, b)
    # Lion's update RMS is 1 with SE 0; torch's, measured from the weights, rounds near 1e-14.
    limit = 4 * math.hypot(a.update_rms_se, b.update_rms_se) + 1e-12
    assert abs(a.update_rms - b.update_rms) <= limit


@pytest.mark.parametrize("changes", [RULES[0], RULES[5], RULES[2]], ids=label)
def test_torch_scheduler_drives_each_rule(changes):
    # The scheduler sets the optimizer's lr; SGDW's decay, applied by the engine, must follow it.
    torch = pytest.importorskip("torch")
    config = tiny(n=40, **changes)
    factor = lambda step: 1.0 / (1 + step)  # noqa: E731
    result = simulate(
        config, engine="torch", device="cpu", random_source="counter",
        scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, factor),
    )  # fmt: skip
    slow = reference(config.replace(lr=result.info["lr"]))
    np.testing.assert_allclose(result.weight_rms, slow.weight_rms, rtol=1e-13)
    assert result.update_rms == pytest.approx(slow.update_rms, rel=1e-13)


def test_torch_refusals_name_the_optimizer():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match=r"torch\.optim\.Adam always applies bias correction"):
        simulate(tiny(update="adam_l2", bias_correction=False), engine="torch", device="cpu")
    with pytest.raises(ValueError, match=r"update='sgd' runs torch\.optim\.SGD"):
        simulate(tiny(update="sgd"), engine="torch", device="cpu", fused=True)
    with pytest.raises(ValueError, match="random_source must be one of"):
        simulate(tiny(update="lion"), engine="torch", device="cpu", random_source="numpy")


# ---- independent checks ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_lion_with_equal_betas_is_sign_sgdm_exactly(engine):
    # c_t = beta m_{t-1} + (1 - beta) g_t is then the new momentum itself.
    options = {"random_source": "counter"} if engine == "numpy" else {}
    for beta in (0.0, 0.9):
        lion = simulate(tiny(update="lion", beta1=beta, beta2=beta, n=70), engine, **options)
        sign = simulate(tiny(update="sign_sgdm", beta1=beta, beta2=0.3, n=70), engine, **options)
        assert lion.weight_rms.tolist() == sign.weight_rms.tolist()
        assert lion.update_rms == sign.update_rms == 1.0


def test_torch_lion_with_equal_betas_is_sign_sgdmw():
    pytest.importorskip("torch")
    config = tiny(update="lion", beta1=0.9, beta2=0.9, n=70)
    lion = simulate(config, engine="torch", device="cpu", random_source="counter")
    sign = simulate(config.replace(update="sign_sgdm"), engine="torch", device="cpu",
                    random_source="counter")  # fmt: skip
    assert lion.weight_rms.tolist() == sign.weight_rms.tolist()


def test_lion_optimizer_by_hand():
    torch = pytest.importorskip("torch")
    from adamw_rms.simulation.torch_lion import Lion

    lr, wd, b1, b2 = 0.1, 0.5, 0.8, 0.6
    p = torch.nn.Parameter(torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64))
    optimizer = Lion([p], lr=lr, betas=(b1, b2), weight_decay=wd)
    theta, m = [1.0, -1.0, 0.5], [0.0, 0.0, 0.0]
    # At the second step the first coordinate's c = 0.8 * 0.8 - 0.2 = 0.44 > 0 while g < 0,
    # and the third's first c is 0: the interpolation and sign(0) = 0 are both exercised.
    for grad in ([2.0, -1.0, 0.0], [-1.0, -4.0, 3.0], [1.0, 10.0, -0.5]):
        p.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        for i, g in enumerate(grad):
            c = b1 * m[i] + (1 - b1) * g
            theta[i] = theta[i] * (1 - lr * wd) - lr * (c > 0) + lr * (c < 0)
            m[i] = b2 * m[i] + (1 - b2) * g
        np.testing.assert_allclose(p.detach().numpy(), theta, rtol=1e-15)
        np.testing.assert_allclose(optimizer.state[p]["exp_avg"].numpy(), m, rtol=1e-15)
    for bad, message in (
        ({"lr": -1.0}, "lr must be"),
        ({"betas": (0.9, 1.5)}, "beta2 must be in"),
        ({"betas": 0.9}, "betas must be a pair"),
        ({"weight_decay": float("nan")}, "weight_decay must be"),
    ):
        with pytest.raises(ValueError, match=message):
            Lion([p], **bad)


def sgd_second_moments(config: SimulationConfig) -> np.ndarray:
    r"""E[theta_t^2] at ``config.record_steps`` from SGD's rule as written in the config's
    docstring: the state ``x = (theta, b)`` is affine in the Gaussian gradient,
    ``x_t = A_t x_{t-1} + B_t g_t``, so its mean and covariance follow exactly."""
    mu, var = config.grad_mean, config.grad_std**2
    momentum, dampening = config.momentum, config.dampening
    mean, cov = np.zeros(2), np.diag([config.init_rms**2, 0.0])
    out = [cov[0, 0]] if 0 in config.record_steps else []
    for t in range(1, config.steps + 1):
        lr, wd = config.lr_per_step()[t - 1], config.weight_decay_per_step()[t - 1]
        coupling = 0.0 if config.decoupled else wd  # g' = g + coupling theta
        shrink = 1 - lr * wd if config.decoupled else 1.0
        a, c = (0.0, 1.0) if t == 1 else (momentum, 1 - dampening)
        # Rows: g' = [coupling, 0] x + g, b' = a b + c g', d, theta' = shrink theta - lr d.
        g_row, g_in = np.array([coupling, 0.0]), 1.0
        b_row, b_in = c * g_row + np.array([0.0, a]), c * g_in
        if momentum == 0:
            d_row, d_in, b_row, b_in = g_row, g_in, np.array([0.0, 1.0]), 0.0
        elif config.nesterov:
            d_row, d_in = g_row + momentum * b_row, g_in + momentum * b_in
        else:
            d_row, d_in = b_row, b_in
        theta_row = shrink * np.array([1.0, 0.0]) - lr * d_row
        A = np.array([theta_row, b_row])
        B = np.array([-lr * d_in, b_in])
        mean = A @ mean + B * mu
        cov = A @ cov @ A.T + np.outer(B, B) * var
        if t in config.record_steps:
            out.append(cov[0, 0] + mean[0] ** 2)
    return np.array(out)


def test_sgd_exact_second_moments_closed_form_without_momentum():
    # Coupled SGD without momentum: theta_t = a theta_{t-1} - lr g_t with a = 1 - lr wd, so
    # E theta_t = -lr mu (1 - a^t) / (1 - a), Var theta_t = a^{2t} init² + lr² σ² (1 - a^{2t})
    # / (1 - a²). The test's affine recursion reproduces it to rounding, and the engine
    # reproduces it within 4 standard errors (0.1-0.4% each).
    config = SimulationConfig(update="sgd", lr=0.05, weight_decay=0.4, steps=300, n=40_000,
                              grad_mean=0.7, grad_std=1.3, init_rms=0.4, seed=2,
                              record_steps=(0, 1, 10, 300))  # fmt: skip
    t = np.array(config.record_steps, dtype=float)
    a = 1 - 0.05 * 0.4
    mean = -0.05 * 0.7 * (1 - a**t) / (1 - a)
    variance = a ** (2 * t) * 0.4**2 + 0.05**2 * 1.3**2 * (1 - a ** (2 * t)) / (1 - a * a)
    exact = variance + mean**2
    np.testing.assert_allclose(sgd_second_moments(config), exact, rtol=1e-12)
    result = simulate(config, engine="numba")
    z = (result.weight_rms - np.sqrt(exact)) / result.weight_rms_se
    assert np.all(np.abs(z) < 4), z


@pytest.mark.parametrize(
    "changes",
    [
        dict(),
        dict(momentum=0.9, dampening=0.5, init_rms=0.0),  # step 1 shows b_1 = g_1 undamped
        dict(momentum=0.9, nesterov=True),
        dict(momentum=0.8, decoupled=True),
        dict(momentum=0.9, nesterov=True, decoupled=True),
    ],
    ids=label,
)
def test_sgd_engine_matches_its_exact_second_moments(changes):
    # The transient (steps 1, 20), and past the momentum's and the decay's time scales (400):
    # the exact RMS within 4 standard errors of the simulated one, at every recorded step.
    settings = dict(
        update="sgd",
        lr=0.02,
        weight_decay=0.5,
        steps=400,
        n=40_000,
        grad_mean=0.3,
        grad_std=1.0,
        init_rms=0.2,
        seed=5,
        record_steps=(1, 20, 400),
    )
    config = SimulationConfig(**{**settings, **changes})  # fmt: skip
    result = simulate(config, engine="numba")
    exact = np.sqrt(sgd_second_moments(config))
    z = (result.weight_rms - exact) / result.weight_rms_se
    assert np.all(np.abs(z) < 4), (z, result.weight_rms, exact)
    assert np.all(result.weight_rms_se < 0.01 * exact)  # a test with teeth: SE below 1%


def test_adam_l2_without_decay_is_adamw():
    # With weight_decay = 0 both rules are Adam: the same numbers exactly.
    l2 = reference(tiny(update="adam_l2", weight_decay=0.0, n=70))
    adamw = reference(tiny(update="adamw", weight_decay=0.0, n=70))
    assert l2.weight_rms.tolist() == adamw.weight_rms.tolist()
    assert (
        reference(tiny(update="adam_l2", n=70)).weight_rms[-1]
        != reference(tiny(update="adamw", n=70)).weight_rms[-1]
    )


# ---- overflow --------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "numba", "torch"])
def test_an_overflow_raises_and_never_passes_as_a_number(engine):
    if engine == "torch":
        pytest.importorskip("torch")
    config = tiny(update="sgd", grad_std=1e300, grad_mean=0.0, record_steps=(0, 7, 40))
    options = {"device": "cpu"} if engine == "torch" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no NumPy warning on the way
        with pytest.raises(OverflowError, match=r"overflowed \(the sums of w² and w⁴ at step 7"):
            simulate(config, engine=engine, **options)


# ---- command line ----------------------------------------------------------------------------


def test_cli_runs_each_rule_and_names_it(capsys):
    from adamw_rms.__main__ import main

    small = ["--steps", "200", "--n", "500", "--no-progress"]
    args = ["simulate", *small, "--update", "sgd", "--momentum", "0.9", "--nesterov", "--json"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["config"]["update"] == "sgd" and record["config"]["nesterov"] is True
    assert record["config"]["momentum"] == 0.9 and record["config"]["decoupled"] is False
    assert main(["simulate", *small, "--update", "sgd", "--decoupled", "--dampening", "0.5"]) == 0
    assert "update sgd (momentum 0, dampening 0.5, decoupled decay)" in capsys.readouterr().out
    assert main(["check", *small, "--update", "lion"]) == 0
    text = capsys.readouterr().out
    assert ", update lion" in text and "lion_arcsine" in text and "lion_req" in text
    assert "theta_rms" not in text  # no AdamW formula on a Lion run
    assert main(["simulate", *small, "--momentum", "0.9"]) == 2
    assert "momentum applies to update='sgd' only" in capsys.readouterr().err


@pytest.mark.parametrize("update", ["lion", "sgd", "adam_l2"])
def test_the_sweep_refuses_the_new_rules_and_says_where_they_run(update):
    from adamw_rms.simulation.sweep import Variant, sweep

    with pytest.raises(ValueError, match=r"got '.*'.*through simulate\(\)"):
        sweep([Variant(1e-2, 0.1)], beta1=0.9, steps=10, n=4, record_steps=(10,), update=update)

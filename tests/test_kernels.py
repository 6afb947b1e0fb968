"""Every compiled kernel replays the NumPy reference bit for bit (tiny sizes, fast suite).

With ``n <= 7`` coordinates NumPy sums sequentially, as the kernels do, so not only the
trajectories but the recorded sums agree exactly: any difference in the arithmetic of a kernel
(an operation reordered, a constant rounded differently, a stale call signature) fails here,
and a kernel that no longer compiles fails here too, in ``make test``.
"""

from __future__ import annotations

import numpy as np
import pytest

from adamw_rms.simulation import SimulationConfig, simulate

pytest.importorskip("numba")

TINY = dict(
    lr=2e-2, weight_decay=0.1, beta1=0.9, beta2=0.99, eps=1e-8, steps=40, n=5, init_rms=0.1,
    seed=3, grad_mean=0.3, record_steps=(0, 7, 40), update_window=15,
)  # fmt: skip


def tiny(**changes) -> SimulationConfig:
    return SimulationConfig(**{**TINY, **changes})


def reference(config: SimulationConfig):
    return simulate(config, engine="numpy", random_source="counter")


@pytest.mark.parametrize("update", ["adamw", "sign_sgdm"])
@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("eps", [1e-8, 0.0])
def test_engine_kernel_is_the_reference_bit_for_bit(update, bias_correction, dtype, eps):
    # eps = 0 without bias correction is the engine's u = m / sqrt(v) variant.
    config = tiny(update=update, bias_correction=bias_correction, dtype=dtype, eps=eps)
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


@pytest.mark.parametrize(
    ("update", "bias_correction", "dtype", "eps"),
    [
        ("adamw", False, "float64", 0.0),
        ("adamw", True, "float64", 1e-8),
        ("adamw", False, "float32", 0.0),
        ("sign_sgdm", False, "float64", 0.0),
    ],
)
def test_engine_kernel_over_whole_blocks_is_the_reference_bit_for_bit(
    monkeypatch, update, bias_correction, dtype, eps
):
    # Whole blocks of lanes (the vectorised loops' main bodies) and a remainder, with the
    # reference summing in the kernel's order so that the sums, too, must agree exactly. Every
    # step is recorded: over 53 coordinates one coordinate's last bit often drowns in a sum's
    # rounding, but not at 41 steps (a reassociated v = beta2 v + (1 - beta2) g g fails here).
    from adamw_rms.simulation import numpy_engine
    from adamw_rms.simulation.numba_engine import LANES

    monkeypatch.setattr(numpy_engine, "_sums", sequential_sums)
    config = tiny(
        n=3 * LANES + 5, update=update, bias_correction=bias_correction, dtype=dtype, eps=eps,
        record_steps=range(TINY["steps"] + 1),
    )  # fmt: skip
    fast, slow = simulate(config, engine="numba"), reference(config)
    assert fast.weight_rms.tolist() == slow.weight_rms.tolist()
    assert fast.weight_rms_se.tolist() == slow.weight_rms_se.tolist()
    assert (fast.update_rms, fast.update_rms_se) == (slow.update_rms, slow.update_rms_se)


def test_engine_kernel_with_a_schedule_is_the_reference_bit_for_bit():
    steps = TINY["steps"]
    config = tiny(lr=np.linspace(2e-2, 1e-3, steps), weight_decay=np.linspace(0.2, 0.05, steps))
    assert simulate(config, engine="numba").weight_rms.tolist() == (
        reference(config).weight_rms.tolist()
    )


def test_sweep_kernel_is_the_reference_bit_for_bit():
    from adamw_rms.simulation.sweep import Variant, sweep

    steps = TINY["steps"]
    variants = [
        Variant(2e-2, 0.1, True, 0.1, eps=1e-8),
        Variant(2e-2, 0.1, False, 0.0, eps=1e-8),
        Variant(1e-2, 0.0, True, 0.1, eps=1e-8, record_steps=(7,)),
        Variant(np.linspace(2e-2, 1e-3, steps), np.linspace(0.2, 0.05, steps), True, 0.1, eps=0.1),
    ]
    result = sweep(
        variants, beta1=TINY["beta1"], beta2=TINY["beta2"], steps=steps, n=TINY["n"],
        grad_mean=TINY["grad_mean"], record_steps=TINY["record_steps"],
        update_window=TINY["update_window"], seed=TINY["seed"],
    )  # fmt: skip
    for k, variant in enumerate(variants):
        config = tiny(
            lr=variant.lr,
            weight_decay=variant.weight_decay,
            bias_correction=variant.bias_correction,
            init_rms=variant.init_rms,
            eps=variant.eps,
        )
        slow = reference(config)
        wanted = result.recorded(k)
        assert result.weight_rms[k, wanted].tolist() == slow.weight_rms[wanted].tolist(), k
        assert result.update_rms[variant.family][0] == slow.update_rms
    assert result.recorded(2).tolist() == [1]  # only step 7


def test_sign_sweep_kernel_is_the_reference_bit_for_bit():
    from adamw_rms.simulation.sweep import Variant, sweep

    variants = [Variant(2e-2, 0.1, init_rms=0.1), Variant(1e-2, 0.3)]
    result = sweep(
        variants, beta1=TINY["beta1"], steps=TINY["steps"], n=TINY["n"],
        grad_mean=TINY["grad_mean"], record_steps=TINY["record_steps"], seed=TINY["seed"],
        update="sign_sgdm",
    )  # fmt: skip
    for k, variant in enumerate(variants):
        config = tiny(
            lr=variant.lr, weight_decay=variant.weight_decay, init_rms=variant.init_rms,
            update="sign_sgdm",
        )  # fmt: skip
        assert result.weight_rms[k].tolist() == reference(config).weight_rms.tolist(), k
    assert result.update_rms == {}


def test_tuc_replay_is_the_reference_bit_for_bit():
    from adamw_rms.simulation.tuc import measure_tuc

    config = tiny(record_steps=(TINY["steps"],))
    measured, slow = measure_tuc(config), reference(config)
    assert measured.weight_rms == slow.final_weight_rms
    assert measured.update_rms == slow.update_rms

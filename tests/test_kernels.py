"""Every compiled kernel replays the NumPy reference bit for bit (tiny sizes, fast suite).

With ``n <= 7`` coordinates NumPy sums sequentially, as the kernels do, so not only the
trajectories but the recorded sums agree exactly: any difference in the arithmetic of a kernel
(an operation reordered, a constant rounded differently, a stale call signature) fails here,
and a kernel that no longer compiles fails here too, in ``make test``.
"""

from __future__ import annotations

from pathlib import Path

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


def test_sweep_surrogate_is_its_definition_replayed_in_numpy():
    # The control variate's surrogate, theta~ <- (1 - lr wd) theta~ - lr (s m - r v + q), with
    # the sweep's own terms, replayed in NumPy on the reference normals: the kernel's sums of
    # theta~² agree (to rounding: the kernel's order of the surrogate's operations is free).
    from adamw_rms.simulation.random import coordinate_keys, normals
    from adamw_rms.simulation.sweep import Variant, surrogate_terms, sweep

    steps, n, mean = 60, 40, 0.4  # a full 32-lane block and a partial one
    record = (0, 13, 60)
    variants = [
        Variant(3e-2, 0.2, True, 0.1, eps=1e-3),
        Variant(np.linspace(3e-2, 1e-3, steps), 0.1),
    ]
    result = sweep(variants, beta1=0.8, beta2=0.9, steps=steps, n=n, grad_mean=mean,
                   record_steps=record, seed=9)  # fmt: skip
    families = [v.family for v in variants]
    _, _, s, r, q = surrogate_terms(families, update="adamw", beta1=0.8, beta2=0.9,
                                       grad_mean=mean, grad_std=1.0, steps=steps)  # fmt: skip
    keys = coordinate_keys(9, np.arange(n))
    for k, variant in enumerate(variants):
        lr = np.broadcast_to(variant.lr, steps)
        theta = normals(keys, 0) * variant.init_rms
        m = np.zeros(n)
        v = np.zeros(n)
        sums = [float(np.sum(theta**2))]
        for t in range(1, steps + 1):
            g = mean + normals(keys, t)
            m = 0.8 * m + (1 - 0.8) * g
            v = 0.9 * v + (1 - 0.9) * g * g
            linear = s[k, t - 1] * m - r[k, t - 1] * v + q[k, t - 1]
            theta = theta - lr[t - 1] * (linear + variant.weight_decay * theta)
            if t in record:
                sums.append(float(np.sum(theta**2)))
        np.testing.assert_allclose(result.surrogate_mean_square[k] * n, sums, rtol=1e-12)
        # ... and the plain weights of full blocks are the reference's bit for bit.
        config = tiny(lr=variant.lr, weight_decay=variant.weight_decay, steps=steps, n=n,
                      beta1=0.8, beta2=0.9, eps=variant.eps, grad_mean=mean,
                      bias_correction=variant.bias_correction, init_rms=variant.init_rms, seed=9,
                      record_steps=record)  # fmt: skip
        np.testing.assert_allclose(result.weight_rms[k], reference(config).weight_rms, rtol=1e-13)


def test_an_edit_of_the_kernels_drops_the_cached_compilations(tmp_path):
    # numba keys its cache on the file defining a kernel, not on the inlined kernels.py: the
    # digest check is what makes an edited kernels.py reach the engine and the sweep.
    import shutil

    from adamw_rms.simulation import kernels

    for name in ("kernels.py", "random.py"):
        shutil.copy(Path(kernels.__file__).with_name(name), tmp_path / name)
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "sweep._sweep_kernel-1.py311.nbi").write_text("stale")
    assert kernels.drop_stale_caches(tmp_path)
    assert not list(cache.glob("*.nbi"))
    (cache / "sweep._sweep_kernel-1.py311.nbi").write_text("fresh")
    assert not kernels.drop_stale_caches(tmp_path)  # unchanged sources: the cache stays
    assert list(cache.glob("*.nbi"))
    with (tmp_path / "kernels.py").open("a") as stream:
        stream.write("\n# an edit\n")
    assert kernels.drop_stale_caches(tmp_path)
    assert not list(cache.glob("*.nbi"))

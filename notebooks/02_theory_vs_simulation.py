# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2 · Theory against simulation
#
# The formulas are mean-field estimates: they replace expectations of ratios by ratios of
# expectations and ignore correlations between the weights and the updates. How good is that?
# We simulate AdamW on Gaussian gradients (many independent coordinates, so the RMS has a
# standard error), and draw the simulation inside its ±2 SE band with each formula as a line.
#
# Set `ADAMW_RMS_SIZE=small` for a quick run (CI does); the default size reproduces the
# source's experiment in full.

# %%
import os

import matplotlib.pyplot as plt

from adamw_rms import SimulationConfig, compare, simulate, weight_rms
from adamw_rms.comparison import comparison_table
from adamw_rms.data import TARGET_REL_SE, accuracy_table
from adamw_rms.figures import accuracy_map_figure, sign_sgdm_figure, simulation_engine
from adamw_rms.plot import draw_trajectory, styled

SIZE = os.environ.get("ADAMW_RMS_SIZE", "full")
SMALL = SIZE == "small"
ENGINE = simulation_engine()
print(f"size: {SIZE}, engine: {ENGINE}")

# %% [markdown]
# ## The source's experiment
#
# The source's settings: 10⁴ coordinates, 10⁵ steps, η = 10⁻³, λ = 0.1, β = (0.9, 0.95), no
# bias correction, ε = 0, θ₀ = 0.1·N(0, 1); the source prints ≈ 0.0707 = √(η/2λ). The full size
# runs exactly that; the small size fewer coordinates and steps (printed with the result).

# %%
n, steps = (2000, 20_000) if SMALL else (10_000, 100_000)
record = tuple(range(0, steps + 1, steps // 100))
source = simulate(SimulationConfig.source(n=n, steps=steps, record_steps=record), engine=ENGINE)
print(source)
print(f"√(η/2λ) = {weight_rms(1e-3, 0.1):.5f}")

# %% [markdown]
# `compare` joins the simulation with every formula that applies: relative error, z-score and
# whether the error is inside the formula's **measured** accuracy band (from `make accuracy`).

# %%
print(comparison_table(compare(source)))

# %%
with styled():
    figure, axis = plt.subplots(figsize=(7, 4.2), layout="constrained")
    draw_trajectory(axis, source)
    plt.show()

# %% [markdown]
# The general formula and its μ = 0 form follow the simulation within its noise along the whole
# run; the equilibrium √(η/2λ) is its t → ∞ limit. The *quick estimate*
# √((1−β₁)/(1+β₁)·η/2λ) is far too low: it assumes θ·u ≈ 0 for every step, which momentum
# breaks (see the derivation).

# %% [markdown]
# ## Other settings
#
# Momentum, the second-moment decay, a gradient mean (SNR = μ²/σ²) and the initial RMS each
# change the trajectory; the formula follows. Note the β₂ = 0.999 run *without* bias
# correction: early on v is still tiny, the updates are larger than the mean field assumes, and
# the simulation sits above the formula until v has built up.

# %%
variants = {
    "β₁ = 0.5, β₂ = 0.99": {"beta1": 0.5, "beta2": 0.99},
    "β₂ = 0.999, no bias correction": {"beta2": 0.999},
    "SNR = 1 (μ = σ)": {"grad_mean": 1.0},
    "θ₀ = 0, bias correction": {"init_rms": 0.0, "bias_correction": True},
}
n, steps = (1000, 3000) if SMALL else (10_000, 30_000)
record = tuple(range(0, steps + 1, steps // 60))
with styled():
    figure, axes = plt.subplots(2, 2, figsize=(10, 6.4), layout="constrained")
    for axis, (name, change) in zip(axes.flat, variants.items(), strict=True):
        config = SimulationConfig.source(n=n, steps=steps, record_steps=record, **change)
        draw_trajectory(axis, simulate(config, engine=ENGINE), title=False, legend=False)
        axis.set_title(name)
    axes.flat[0].legend()
    plt.show()

# %% [markdown]
# ## Where the formula is accurate: the measured map
#
# `make accuracy` runs the grid β₁ × β₂ × SNR × ηλ × t·ηλ × bias correction × θ₀, each point to
# a small standard error (`docs/accuracy.md`). Each cell is the relative error of eq:theta-rms.
# With bias correction it stays within a few percent everywhere on the grid; without it, the
# early steps with a slow β₂ are badly underestimated (the v build-up). The target standard
# error and the measured ranges are printed below the map, read from the committed grid.

# %%
with styled():
    accuracy_map_figure(SIZE)
    plt.show()

GRID = accuracy_table()


def measured_range(formula: str, **where: float) -> str:
    """The range of the measured relative error of ``formula`` on the grid points ``where``."""
    rows = GRID["formula"] == formula
    for column, value in where.items():
        rows &= GRID[column] == value
    errors = GRID["rel_error"][rows]
    return f"{errors.min():+.1%} ... {errors.max():+.1%} ({rows.sum()} grid points)"


print(f"standard error per point: at most {TARGET_REL_SE:.1%} of the simulated RMS")
print("eq:theta-rms, with bias correction:   ", measured_range("theta_rms", bias_correction=1))
print("eq:theta-rms, without bias correction:", measured_range("theta_rms", bias_correction=0))

# %% [markdown]
# ## Beyond the source: SignSGD with momentum
#
# For u = sign(m) the source's mean field predicts ‖θ‖ ≈ √(η/2λ · (1+β₁)/(1−β₁)). Simulation
# puts the weights well below that for β₁ ≥ 0.5 (the measured errors at steady state are
# printed under the figure, from the committed sign grid): the mean field keeps the
# autocorrelation β₁ᵏ of m, but the signs of two correlated Gaussians are correlated by
# (2/π)·arcsin(ρ) only (the arcsine law). Summing the true autocovariances gives the corrected
# formula `sign_sgdm_weight_rms(..., formula="arcsine")`, derived in `derivations/sign_sgdm.md`.

# %%
with styled():
    sign_sgdm_figure(SIZE)
    plt.show()
for beta1 in (0.5, 0.9, 0.95):
    where = {"beta1": beta1, "snr": 0.0, "t_decay": 10.0}  # zero-mean gradients, steady state
    print(f"β₁ = {beta1:<4}  source's formula: {measured_range('sign_source', **where)}")
    print(f"           arcsine law:      {measured_range('sign_arcsine', **where)}")

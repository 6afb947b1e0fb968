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
# # 4 · Choosing the weight decay for a target weight RMS
#
# The practical question: *I train with this learning rate, these betas and this schedule;
# which weight decay gives weights of RMS r?* The formula of notebook 2 answers it once it is
# solved for λ. At equilibrium (t → ∞) the solution is derived symbolically (the step
# `weight_rms.weight_decay_for_rms` of the derivation); for a finite run, or a schedule, it is
# the unique root of a function that decreases in λ.
#
# Convention (PyTorch's `AdamW`): θ ← θ − η(u + λθ), so each step decays the weights by ηλ and
# the weights forget their initial values on the timescale 1/(ηλ) steps.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

import adamw_rms
from adamw_rms import (
    SimulationConfig,
    simulate,
    solve_schedule_weight_decay,
    solve_weight_decay,
    timescale,
    weight_rms,
    weight_rms_trajectory,
)
from adamw_rms.data import FILES, read_schedule_csv
from adamw_rms.figures import simulation_engine
from adamw_rms.plot import LABELS, styled
from adamw_rms.schedules import cosine, proportional_weight_decay

SIZE = os.environ.get("ADAMW_RMS_SIZE", "full")
SMALL = SIZE == "small"
ENGINE = simulation_engine()

# %% [markdown]
# ## The equilibrium answer, derived
#
# Setting β₃ᵗ → 0 in eq:theta-rms and solving ‖θ‖ = r for λ gives one positive root; for
# zero-mean gradients it is λ = η / (2r²).

# %%
step = adamw_rms.derivation("weight_rms").step("weight_decay_for_rms")
display(step)
print(step.justification)
print("verified:", step.verify().passed)

# %%
lr, target = 1e-3, 0.05
decay = solve_weight_decay(target, lr)
print(f"λ = {decay:.6g}  (η/2r² = {lr / (2 * target**2):.6g})")
print(f"round trip: weight_rms(η, λ) = {weight_rms(lr, decay):.12g}")

# %% [markdown]
# A gradient mean (SNR = μ²/σ² > 0) pushes the weights along −μ/λ, so much more decay is needed
# for the same RMS: for large λ the drift alone gives ‖θ‖ ≈ √(SNR/(SNR+1))/λ.

# %%
for snr in (0.0, 0.01, 0.1, 1.0):
    print(f"SNR = {snr:<5g}  λ = {solve_weight_decay(target, lr, snr=snr):.5g}")

# %% [markdown]
# ## A finite run: is the equilibrium reached?
#
# A run of T steps lasts ηλT timescales. Starting from an initial RMS of 0.02, the weight decay
# that gives RMS r *at the end of the run* differs from the equilibrium answer when ηλT is
# small: the run ends before the initial weights are forgotten.

# %%
lengths = np.unique(np.geomspace(5_000, 1_000_000, 25 if not SMALL else 10).astype(int))
finite = solve_weight_decay(target, lr, steps=lengths, init_rms=0.02)
with styled():
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    left.loglog(lengths, finite, "o-", label="end of the run (init RMS 0.02)")
    left.axhline(decay, color="tab:green", ls="--", label="equilibrium η/2r²")
    left.set_xlabel("run length T (steps)")
    left.set_ylabel(LABELS["weight_decay"] + " for RMS 0.05")
    left.legend()
    right.semilogx(lengths, lr * finite * lengths, "o-")
    right.axhline(3, color="0.5", ls=":", label="ηλT = 3 (init weight × e⁻³)")
    right.set_xlabel("run length T (steps)")
    right.set_ylabel("run length in timescales ηλT")
    right.legend()
    plt.show()

# %% [markdown]
# The timescale 1/(ηλ) for a few common settings, against a run of 100 000 steps. When ηλT is
# below about 3, the final weight RMS still remembers the initialisation and the equilibrium
# formula is the wrong tool: use the finite-step solution (or the trajectory).

# %%
run = 100_000
print(f"{'lr':>8} {'wd':>6} {'1/(lr wd)':>11} {'lr wd T':>8}  equilibrium reached?")
for lr_value, wd_value in ((3e-4, 0.1), (1e-3, 0.1), (3e-4, 0.01), (6e-4, 0.05), (1e-4, 0.1)):
    steps_per_timescale = timescale(lr_value, wd_value)
    timescales = run / steps_per_timescale
    verdict = "yes" if timescales >= 3 else "no: the init still matters"
    print(f"{lr_value:8.0e} {wd_value:6g} {steps_per_timescale:11.0f} {timescales:8.2f}  {verdict}")

# %% [markdown]
# ## With a schedule
#
# For a cosine schedule the final RMS depends on the whole schedule. `solve_schedule_weight_decay`
# finds the constant λ (or, with `weight_decay_shape`, the scale of a λₜ schedule) for which the
# final weight RMS of `weight_rms_trajectory` equals the target. We check the answer against a
# simulation of AdamW at that λ.

# %%
steps = 3000 if SMALL else 20_000
schedule = cosine(1e-3, 1e-4, steps)
target_final = 0.03 if SMALL else 0.06  # reachable: a short run cannot move far from θ₀
constant = solve_schedule_weight_decay(target_final, schedule, init_rms=0.02)
shape = proportional_weight_decay(schedule, 1.0)
scaled = solve_schedule_weight_decay(
    target_final, schedule, weight_decay_shape=shape, init_rms=0.02
)
print(f"constant λ = {constant:.5g};  λₜ = {scaled:.5g} · ηₜ/max η")

n = 2000 if SMALL else 50_000
print(f"{n} coordinates, {steps} steps")
for name, decay_schedule in (("constant", constant), ("∝ ηₜ", scaled * shape)):
    predicted = weight_rms_trajectory(schedule, decay_schedule, init_rms=0.02)[-1]
    config = SimulationConfig.source(
        n=n, steps=steps, lr=schedule, weight_decay=decay_schedule, init_rms=0.02,
        record_steps=(steps,),
    )  # fmt: skip
    result = simulate(config, engine=ENGINE)
    deviation = result.final_weight_rms / target_final - 1
    noise = result.final_weight_rms_se / target_final
    print(
        f"{name:>9}: target {target_final}, theory {predicted:.5f}, simulated "
        f"{result.final_weight_rms:.5f} ± {result.final_weight_rms_se:.5f}: "
        f"{deviation:+.1%} from the target, {deviation / noise:+.1f} SE"
    )
# The mean-field formula's measured error at the end of the schedule study's runs (β₂ = 0.95).
study = read_schedule_csv(Path(adamw_rms.data.__file__).parent / FILES["schedules"])
final_errors = [row["rel_error"] for row in study if row["method"] == "mean_field"
                and row["step"] == max(r["step"] for r in study)]  # fmt: skip
print(f"schedule study, mean field: {min(final_errors):+.2%} ... {max(final_errors):+.2%}")

# %% [markdown]
# The solver inverts the formula to machine precision (the theory column equals the target), so
# the simulation's deviation from the target, printed above with its standard error, is the
# mean-field formula's own error plus the simulation's noise. For comparison, the last line is
# the formula's error at the end of the schedule study's runs (`docs/accuracy.md`, measured with
# many more coordinates).
#
# Unreachable targets are reported, not extrapolated: in a short run the weights cannot move far
# from their initial RMS, whatever the weight decay.

# %%
try:
    solve_weight_decay(0.5, 1e-3, steps=1000, init_rms=0.02)
except ValueError as error:
    print(error)

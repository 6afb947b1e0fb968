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
# # 3 · Learning-rate and weight-decay schedules
#
# Part 2 of the source lets η and λ change every step. With κ_t = Σ λ_i η_i the weights are
# an exponentially weighted sum of the updates, and four estimates of their RMS follow:
#
# * the **general mean field** (exact weights, momentum kept),
# * the **series** ‖θ_t‖² ≈ e^{−2κ_t}‖θ₀‖² + e^{−2κ_t} Σ_j e^{2κ_j} η_j²,
# * its **ODE** form dρ/dt = −2λ_tη_t ρ + η_t²,
# * the **single-epoch** mean field, which replaces η_s² by its mean (closed forms for linear,
#   cosine and WSD schedules).
#
# All are computed in O(T) by `weight_rms_trajectory(lr, weight_decay, method=...)`.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

from adamw_rms import SimulationConfig, compare, simulate, weight_rms_trajectory
from adamw_rms.comparison import comparison_table
from adamw_rms.figures import collapse_figure, schedules_figure, simulation_engine
from adamw_rms.plot import LABELS, styled
from adamw_rms.schedules import cosine, proportional_weight_decay

SIZE = os.environ.get("ADAMW_RMS_SIZE", "full")
SMALL = SIZE == "small"
ENGINE = simulation_engine()

# %% [markdown]
# ## Cosine, WSD and linear warmup: theory against simulation
#
# The source's settings (β = (0.9, 0.95), λ = 0.1, θ₀ RMS 0.1, no bias correction), peak
# η = 10⁻³. The learning rate is drawn above each trajectory.

# %%
with styled():
    schedules_figure(SIZE)
    plt.show()

# %% [markdown]
# The same comparison as numbers, for the source's cosine run (1e-3 → 1e-4), at the last step:

# %%
steps = 3000 if SMALL else 10_000
lr = cosine(1e-3, 1e-4, steps)
config = SimulationConfig.source(n=2000 if SMALL else 100_000, steps=steps, lr=lr, seed=1)
print(comparison_table(compare(simulate(config, engine=ENGINE))))

# %% [markdown]
# ## The collapse, and the λ_t ∝ η_t fix
#
# The ODE settles near ρ ≈ η_t / 2λ_t while it can keep up (its rate is 2λ_tη_t). With a
# constant λ and a learning rate that decays to 0, that target goes to 0: the weights shrink at
# the end of the run, by more the longer the run is. With λ_t ∝ η_t the target η_t / 2λ_t is
# constant and the weights keep their RMS. Both runs below start at the equilibrium of the peak
# rate and last five decay times.

# %%
with styled():
    collapse_figure(SIZE)
    plt.show()

# %% [markdown]
# How deep is the collapse? Theory alone (cheap, so we can sweep the run length): the final
# weight RMS relative to the starting equilibrium, for cosine-to-zero runs of growing length.

# %%
peak, decay = 1e-3, 0.1
lengths = np.unique(np.geomspace(1_000, 100_000 if not SMALL else 20_000, 12).astype(int))
start = np.sqrt(peak / (2 * decay))
constant, proportional = [], []
for length in lengths:
    lr = cosine(peak, 0.0, int(length))
    constant.append(weight_rms_trajectory(lr, decay, init_rms=start)[-1] / start)
    shaped = proportional_weight_decay(lr, decay)
    proportional.append(weight_rms_trajectory(lr, shaped, init_rms=start)[-1] / start)
with styled():
    figure, axis = plt.subplots(figsize=(6.4, 4), layout="constrained")
    axis.semilogx(peak * decay * lengths, constant, "o-", label="constant λ")
    axis.semilogx(peak * decay * lengths, proportional, "s-", label="λ_t ∝ η_t")
    axis.set_xlabel(r"run length in decay times $\eta_{\max}\lambda T$")
    axis.set_ylabel("final / initial " + LABELS["weight_rms"])
    axis.set_title("cosine to 0, mean-field theory")
    axis.legend()
    plt.show()

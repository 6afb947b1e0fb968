"""The settings the accuracy studies measure, at two sizes.

``full`` is the committed measurement (``src/adamw_rms/data/*.csv``, ``docs/accuracy.md``):
:data:`GRID` for AdamW, :data:`EPS_STUDY`, :data:`SIGN_GRID` for SignSGDMW and
:data:`SCHEDULE_RUNS`, each point to a relative standard error of at most
:data:`TARGET_REL_SE`; :data:`OPTIMIZER_STUDY` (Lion, SGD, Adam with L2) and
:data:`MUON_STUDY` (``torch.optim.Muon``, a fixed number of matrices per row). ``small`` runs
every study on a reduced grid with a larger ``lr * weight_decay`` (short runs) and a looser
target, to check the pipeline in seconds; its numbers are not evidence for the formulas.

Examples
--------
>>> from adamw_rms.data import settings
>>> settings("full").grid["beta1"]
(0.0, 0.5, 0.9, 0.95)
>>> settings("tiny")
Traceback (most recent call last):
...
ValueError: size must be one of ('full', 'small'); got 'tiny'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "EPS_STUDY",
    "FULL",
    "GRID",
    "MUON_STUDY",
    "NO_DECAY_LR",
    "OPTIMIZER_STUDY",
    "SCHEDULE_N",
    "SCHEDULE_PEAK",
    "SCHEDULE_RECORD",
    "SCHEDULE_RUNS",
    "SCHEDULE_STEPS",
    "SIGN_GRID",
    "SIZES",
    "SMALL",
    "TARGET_REL_SE",
    "WEIGHT_DECAY",
    "Settings",
    "settings",
]

#: The AdamW grid: one sweep per (beta1, beta2, snr) carries every other axis.
GRID: dict[str, tuple[float, ...]] = {
    "beta1": (0.0, 0.5, 0.9, 0.95),
    "beta2": (0.95, 0.99, 0.999),
    "snr": (0.0, 0.1, 1.0, 10.0),
    "decay": (1e-4, 1e-3),
    "t_decay": (0.1, 0.3, 1.0, 3.0, 10.0),
    "bias_correction": (0.0, 1.0),
    "init_rms": (0.0, 0.1),
}
#: Every grid point has this weight decay (so ``lr = decay / WEIGHT_DECAY``).
WEIGHT_DECAY = 0.1
#: The learning rate of the two trajectories without weight decay.
NO_DECAY_LR = 1e-3
#: The largest relative standard error of any point.
TARGET_REL_SE = 0.002

#: eps at and above the gradient noise: PyTorch's eps = 1e-8 and the gradient std ``grad_std``
#: (sigma) from 1e-9 to 1, so eps / sigma runs from 10 down to 1e-8 (only eps / sigma enters
#: the weight RMS: the update is unchanged by g -> c g, eps -> c eps).
EPS_STUDY: dict[str, Any] = {
    "beta1": 0.9,
    "beta2": 0.99,
    "decay": 1e-3,
    "eps": 1e-8,
    "grad_std": (1e-9, 1e-8, 3e-8, 1e-7, 3e-7, 1e-6, 1e-4, 1e-2, 1.0),
    "t_decay": (3.0, 10.0),
}

#: SignSGDMW: beta2, eps and bias correction do not enter a sign update.
SIGN_GRID: dict[str, tuple[float, ...]] = {
    "beta1": GRID["beta1"],
    "snr": GRID["snr"],
    "decay": GRID["decay"],
    "t_decay": GRID["t_decay"],
    "init_rms": GRID["init_rms"],
}

#: The schedule runs: the source's part-2 reference run, and WSD / warmup variants of it.
SCHEDULE_RUNS: dict[str, dict[str, Any]] = {
    "cosine 1e-3 -> 1e-4 (the source's run)": {"shape": "cosine", "final": 1e-4, "warmup": 0},
    "WSD 1e-3, warmup 500, decay 2000": {"shape": "wsd", "warmup": 500, "decay": 2000},
    "linear 1e-3 -> 1e-4, warmup 500": {"shape": "linear", "final": 1e-4, "warmup": 500},
}
#: The schedules' peak learning rate, length, recorded steps and coordinates.
SCHEDULE_PEAK = 1e-3
SCHEDULE_STEPS = 10_000
SCHEDULE_RECORD = (1000, 2500, 5000, 7500, 10_000)
SCHEDULE_N = 2**15

#: Lion, SGD with momentum and Adam with L2 (issue 17) against their own simulations: per run
#: the optimizer, its options, lr, weight decay and gradient std; SNR 0 and ``snr`` for each;
#: recorded at ``t_decay`` timescales. A timescale is ``1 / (lr * weight_decay)`` for the
#: decoupled rules and SGD, and ``grad_std / (lr * weight_decay)`` for Adam with L2, whose decay
#: is divided by ``sqrt(v) ~ grad_std`` (or ``1 / (1 - beta2)``, v's memory, where longer). Lion
#: and SGD's formulas are exact, so one decay per step suffices; Adam with L2's mean field is
#: measured where ``lr * weight_decay / grad_std`` is small (1e-3) and moderate (1e-2), at two
#: gradient scales and beta2 = 0.95 and 0.999, and at 100 and 300 with beta2 = 0.95, where the
#: estimator warns (its dropped fluctuation of v: an error beyond the issue's 3%).
OPTIMIZER_STUDY: dict[str, Any] = {
    "snr": (0.0, 1.0),
    "t_decay": (0.3, 1.0, 3.0, 10.0),
    "n": 2**17,
    "runs": (
        ("lion", {"beta1": 0.9, "beta2": 0.99}, 1e-3, 1.0, 1.0),
        ("lion", {"beta1": 0.95, "beta2": 0.98}, 1e-3, 1.0, 1.0),
        ("lion", {"beta1": 0.0, "beta2": 0.99}, 1e-3, 1.0, 1.0),
        ("sgd", {}, 1e-2, 0.1, 1.0),
        ("sgd", {"momentum": 0.9}, 1e-2, 0.1, 1.0),
        ("sgd", {"momentum": 0.9, "nesterov": True}, 1e-2, 0.1, 1.0),
        ("sgd", {"momentum": 0.9, "dampening": 0.9}, 1e-2, 0.1, 1.0),
        ("sgd", {"momentum": 0.9, "decoupled": True}, 1e-2, 0.1, 1.0),
        ("sgd", {"momentum": 0.9, "nesterov": True, "decoupled": True}, 1e-2, 0.1, 1.0),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.999}, 1e-2, 0.1, 1.0),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.95}, 1e-2, 0.1, 1.0),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.999}, 1e-3, 1e-3, 1e-3),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.999}, 1e-3, 1e-2, 1e-3),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.95}, 1e-3, 1e-2, 1e-3),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.95}, 1e-3, 0.1, 1e-6),
        ("adam_l2", {"beta1": 0.9, "beta2": 0.95}, 1e-3, 0.3, 1e-6),
    ),
}

#: Muon (issue 17): the real ``torch.optim.Muon`` on iid N(0, 1) gradient matrices, one row per
#: (shape, adjust_lr_fn, momentum, nesterov, lr, weight_decay, steps, matrices). Each row runs
#: ``matrices`` independent parameters for ``steps`` steps (several timescales ``1/(lr wd)``, so
#: near equilibrium) and records the weight RMS at the last step: square, wide and tall shapes
#: under both lr adjustments, Nesterov or not, momentum 0 (where every model is exact), and a
#: 512 x 512 shape (fewer matrices: its RMS averages over many more entries).
MUON_STUDY: tuple[tuple[Any, ...], ...] = (
    ((64, 64), None, 0.95, True, 0.02, 0.5, 600, 8),
    ((64, 64), "match_rms_adamw", 0.95, True, 0.02, 0.5, 600, 8),
    ((64, 64), None, 0.95, True, 0.02, 0.1, 2000, 8),
    ((64, 64), None, 0.9, False, 0.02, 0.5, 600, 8),
    ((64, 64), None, 0.0, True, 0.02, 0.5, 600, 8),
    ((64, 256), None, 0.95, True, 0.02, 0.5, 600, 8),
    ((64, 256), "match_rms_adamw", 0.95, True, 0.02, 0.5, 600, 8),
    ((256, 64), None, 0.95, True, 0.02, 0.5, 600, 8),
    ((256, 64), "match_rms_adamw", 0.95, True, 0.02, 0.5, 600, 8),
    ((512, 512), None, 0.95, True, 0.02, 1.0, 300, 4),
    ((512, 512), "match_rms_adamw", 0.95, True, 0.02, 1.0, 300, 4),
)

SIZES = ("full", "small")


@dataclass(frozen=True)
class Settings:
    """Everything one size of the accuracy measurement runs.

    ``n_noise`` coordinates start the points at SNR = 0, ``n_drift`` the others; either is
    raised until every point's relative standard error is at most ``target_rel_se``. With the
    sweep's control variate a few thousand coordinates reach 0.2% on most of the grid (the
    plain mean needed 10^5 at SNR = 0); the sign update, which the control variate helps less,
    raises n itself.
    """

    size: str
    grid: dict[str, tuple[float, ...]]
    weight_decay: float
    no_decay_lr: float
    target_rel_se: float
    n_noise: int
    n_drift: int
    eps_study: dict[str, Any]
    sign_grid: dict[str, tuple[float, ...]]
    schedule_runs: dict[str, dict[str, Any]]
    schedule_peak: float
    schedule_steps: int
    schedule_record: tuple[int, ...]
    schedule_n: int
    optimizer_study: dict[str, Any]
    muon_study: tuple[tuple[Any, ...], ...]


FULL = Settings(
    size="full",
    grid=GRID,
    weight_decay=WEIGHT_DECAY,
    no_decay_lr=NO_DECAY_LR,
    target_rel_se=TARGET_REL_SE,
    n_noise=4096,
    n_drift=2048,
    eps_study=EPS_STUDY,
    sign_grid=SIGN_GRID,
    schedule_runs=SCHEDULE_RUNS,
    schedule_peak=SCHEDULE_PEAK,
    schedule_steps=SCHEDULE_STEPS,
    schedule_record=SCHEDULE_RECORD,
    schedule_n=SCHEDULE_N,
    optimizer_study=OPTIMIZER_STUDY,
    muon_study=MUON_STUDY,
)

# Every axis keeps two values where the full grid has more (so each report table still has
# rows and columns), lr * weight_decay is 10x-100x larger (runs of 100-1000 steps), and a 1%
# standard error needs about 5000 coordinates instead of 10^5.
_SMALL_GRID: dict[str, tuple[float, ...]] = {
    "beta1": (0.0, 0.9),
    "beta2": (0.95, 0.99),
    "snr": (0.0, 1.0),
    "decay": (3e-3, 1e-2),
    "t_decay": (1.0, 3.0),
    "bias_correction": (0.0, 1.0),
    "init_rms": (0.0, 0.1),
}
SMALL = Settings(
    size="small",
    grid=_SMALL_GRID,
    weight_decay=WEIGHT_DECAY,
    no_decay_lr=1e-2,
    target_rel_se=0.01,
    n_noise=2048,
    n_drift=1024,
    eps_study={
        "beta1": 0.9,
        "beta2": 0.95,
        "decay": 1e-2,
        "eps": 1e-8,
        "grad_std": (1e-8, 1e-7, 1.0),
        "t_decay": (3.0,),
    },
    sign_grid={k: _SMALL_GRID[k] for k in ("beta1", "snr", "decay", "t_decay", "init_rms")},
    schedule_runs={
        "cosine 1e-2 -> 1e-3": {"shape": "cosine", "final": 1e-3, "warmup": 0},
        "WSD 1e-2, warmup 50, decay 200": {"shape": "wsd", "warmup": 50, "decay": 200},
        "linear 1e-2 -> 1e-3, warmup 50": {"shape": "linear", "final": 1e-3, "warmup": 50},
    },
    schedule_peak=1e-2,
    schedule_steps=1000,
    schedule_record=(100, 250, 500, 750, 1000),
    schedule_n=1024,
    optimizer_study={
        "snr": (0.0, 1.0),
        "t_decay": (1.0, 3.0),
        "n": 2048,
        "runs": (
            ("lion", {"beta1": 0.9, "beta2": 0.99}, 1e-2, 1.0, 1.0),
            ("sgd", {"momentum": 0.9, "nesterov": True}, 1e-1, 0.1, 1.0),
            ("adam_l2", {"beta1": 0.9, "beta2": 0.95}, 1e-3, 1e-1, 1e-2),
        ),
    },
    # Two tiny matrices (one shape, so one table of G), tall and wide's adjustment, both
    # Nesterov settings: a second or two including PyTorch's import.
    muon_study=(
        ((32, 16), None, 0.9, True, 0.05, 1.0, 100, 4),
        ((16, 32), "match_rms_adamw", 0.9, False, 0.05, 1.0, 100, 4),
    ),
)


def settings(size: str) -> Settings:
    """The settings of ``size`` (``"full"`` or ``"small"``)."""
    for item in (FULL, SMALL):
        if item.size == size:
            return item
    raise ValueError(f"size must be one of {SIZES}; got {size!r}")

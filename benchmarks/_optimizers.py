"""The other optimizers' estimators (issue 17) for ``benchmarks/run.py``.

Each estimator is timed in paired rounds against AdamW's ``weight_rms`` on the same inputs
(alternating order, so the ratio survives the machine's drift); the median, the spread over
rounds and the median ratio are reported. The finite-step paths are timed on their own at the
sizes their docstrings quote, and the new simulation rules against AdamW in the numba engine.
Bars: Muon's first call at 512 x 512 (the measured output correlation, cached per shape) under
5 s, later calls under 0.1 s; SGD's closed forms, Lion's equilibrium (its lag sum vectorised
per distinct ``(beta1, beta2, snr)``) and Adam with L2's self-consistent root (one bisection
over the whole array) >= 1e5 evaluations/s. Lion's finite steps: one call each at ``beta2``
0.99 and 0.999.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

ROUNDS = 5
N = 100_000
EQUILIBRIUM_BAR = 1e5
MUON_FIRST_BAR_S = 5.0
MUON_LATER_BAR_S = 0.1


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _paired(baseline, candidate) -> tuple[list[float], list[float]]:
    baseline(), candidate()  # warm-up (imports, numba compilation)
    times, ratios = [], []
    for round_ in range(ROUNDS):
        order = (baseline, candidate) if round_ % 2 == 0 else (candidate, baseline)
        measured = {f: _seconds(f) for f in order}
        times.append(measured[candidate])
        ratios.append(measured[baseline] / measured[candidate])
    return times, ratios


def optimizers_report() -> str:
    from adamw_rms import (
        adam_l2_weight_rms,
        lion_weight_rms,
        muon_weight_rms,
        sgd_weight_rms,
        weight_rms,
    )
    from adamw_rms.estimators import muon as muon_module

    rng = np.random.default_rng(20261130)
    lr = rng.uniform(1e-4, 1e-2, N)
    decay = rng.uniform(1e-3, 1e-1, N)
    candidates = {
        "sgd_weight_rms, steps=inf": (N, lambda: sgd_weight_rms(lr, decay, momentum=0.9)),
        "sgd_weight_rms, steps=1e9": (
            N,
            lambda: sgd_weight_rms(lr, decay, momentum=0.9, steps=1e9),
        ),
        "lion_weight_rms, steps=inf": (N, lambda: lion_weight_rms(lr, decay)),
        "lion_weight_rms, snr=0.5": (N, lambda: lion_weight_rms(lr, decay, snr=0.5)),
        "adam_l2_weight_rms, steps=inf": (N, lambda: adam_l2_weight_rms(lr, decay)),
    }
    lines = [
        f"{'other optimizers (elements)':<34} {'evals/s':>10} {'spread':>18} "
        f"{'x AdamW':>8} {'bar':>8}  verdict"
    ]
    for label, (size, candidate) in candidates.items():
        times, ratios = _paired(lambda s=size: weight_rms(lr[:s], decay[:s]), candidate)
        rates = [size / t for t in times]
        rate = statistics.median(rates)
        bar = EQUILIBRIUM_BAR if "steps=1e9" not in label else None
        verdict = "-" if bar is None else ("met" if rate >= bar else "MISSED")
        label = f"{label} ({size})"
        lines.append(
            f"{label:<34} {rate:>10.2e} {min(rates):>8.2e}-{max(rates):<8.2e} "
            f"{statistics.median(ratios):>8.3f} {'>= 1e5' if bar else '-':>8}  {verdict}"
        )
    singles = {
        "lion_weight_rms, steps=1e4 (one)": lambda: lion_weight_rms(1e-3, 1.0, steps=10_000),
        "lion, beta2=0.999, steps=1e4 (one)": lambda: lion_weight_rms(
            1e-3, 1.0, beta2=0.999, steps=10_000
        ),
        "adam_l2_weight_rms, steps=1e6 (one)": lambda: adam_l2_weight_rms(
            1e-3, 0.1, steps=1_000_000
        ),
    }
    for label, function in singles.items():
        function()
        seconds = statistics.median(_seconds(function) for _ in range(3))
        lines.append(f"{label:<34} {seconds:>10.3f} s")
    # The first call measures the output correlation for the shape; later ones reuse it.
    muon_module._correlation_table.cache_clear()
    first = _seconds(lambda: muon_weight_rms(0.02, 0.1, shape=(512, 512)))
    later = statistics.median(
        _seconds(lambda: muon_weight_rms(0.02, 0.1, shape=(512, 512), steps=300)) for _ in range(3)
    )
    lines.append(
        f"{'muon_weight_rms 512x512, first':<34} {first:>10.2f} s  bar < {MUON_FIRST_BAR_S:g} s  "
        f"{'met' if first < MUON_FIRST_BAR_S else 'MISSED'}"
    )
    lines.append(
        f"{'muon_weight_rms 512x512, later':<34} {later:>10.3f} s  bar < {MUON_LATER_BAR_S:g} s  "
        f"{'met' if later < MUON_LATER_BAR_S else 'MISSED'}"
    )
    lines.append(_simulation_rules())
    return "\n".join(lines)


def _simulation_rules() -> str:
    """Element-steps per second of each new rule against AdamW in the numba engine."""
    from adamw_rms.simulation import SimulationConfig, simulate

    base = {"lr": 1e-3, "weight_decay": 0.1, "steps": 1000, "n": 30_000, "grad_std": 1.0}
    adamw = SimulationConfig(**base)
    rules = {
        "lion": SimulationConfig(**base, update="lion"),
        "sgd (momentum 0.9, Nesterov)": SimulationConfig(
            **base, update="sgd", momentum=0.9, nesterov=True
        ),
        "adam_l2": SimulationConfig(**base, update="adam_l2"),
    }
    work = base["steps"] * base["n"]
    lines = [f"{'numba engine, 3e4 x 1e3':<34} {'el-steps/s':>10} {'x AdamW':>8}"]
    for label, config in rules.items():
        times, ratios = _paired(
            lambda: simulate(adamw, progress=False), lambda c=config: simulate(c, progress=False)
        )
        lines.append(
            f"{label:<34} {work / statistics.median(times):>10.2e} "
            f"{statistics.median(ratios):>8.2f}"
        )
    return "\n".join(lines)

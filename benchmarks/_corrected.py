"""The corrected estimators (issue 16) for ``benchmarks/run.py``: steady-state throughput.

Bar: ``weight_rms(..., formula="corrected")`` and ``update_rms(..., formula="corrected")`` at
steady state, >= 1e6 evaluations/s on 1e6-element arrays. Measured in paired rounds against
the mean-field default (same inputs, alternating order), so the ratio is robust to the
machine's drift; the median and the spread over rounds are reported. (The schedule bar, 10^6
steps in under a second, is in the schedule section.)
"""

from __future__ import annotations

import statistics
import time

import numpy as np

N = 1_000_000
ROUNDS = 7
BAR = 1e6


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def corrected_report() -> str:
    from adamw_rms import update_rms, weight_rms

    rng = np.random.default_rng(20261130)
    lr = rng.uniform(1e-4, 1e-2, N)
    beta1 = rng.uniform(0.0, 0.95, N)
    beta2 = rng.uniform(0.9, 0.999, N)
    snr = rng.uniform(0.0, 2.0, N)
    pairs = {
        "weight_rms, steps=inf": (
            lambda: weight_rms(lr, 0.1, beta1=beta1, snr=snr),
            lambda: weight_rms(lr, 0.1, beta1=beta1, snr=snr, formula="corrected", beta2=beta2),
        ),
        "update_rms": (
            lambda: update_rms(beta1, snr=snr),
            lambda: update_rms(beta1, snr=snr, formula="corrected", beta2=beta2),
        ),
    }
    lines = [
        f"{'corrected estimators, 1e6 elements':<36} {'evals/s':>10} {'spread':>16} "
        f"{'x mean field':>12} {'bar':>8}  verdict"
    ]
    for label, (mean_field, corrected) in pairs.items():
        mean_field(), corrected()  # warm-up
        rates, ratios = [], []
        for round_ in range(ROUNDS):
            order = (mean_field, corrected) if round_ % 2 == 0 else (corrected, mean_field)
            times = {f: _seconds(f) for f in order}
            rates.append(N / times[corrected])
            ratios.append(times[mean_field] / times[corrected])
        rate = statistics.median(rates)
        spread = f"{min(rates):.2e}-{max(rates):.2e}"
        verdict = "met" if rate >= BAR else "MISSED"
        lines.append(
            f"{label:<36} {rate:>10.2e} {spread:>16} {statistics.median(ratios):>12.2f} "
            f"{'>= 1e6':>8}  {verdict}"
        )
    return "\n".join(lines)

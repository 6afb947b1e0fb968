"""Benchmarks, run by ``make bench``: each target measured side by side with its baseline.

derive: wall time of ``adamw-rms derive --check`` (a fresh process each run, SymPy import
included) with verification spread over the CPUs (the default) against one process
(``--jobs 1``, the baseline). The bar from the derivation-engine issue: at most 5 s.

estimators: ``import adamw_rms.estimators`` (fresh process, no SymPy, under 0.3 s) and the
throughput of ``weight_rms`` on 1e6 float64 elements against the naive SymPy ``subs``/``evalf``
path (>= 1000x), the same formula hand-written in NumPy (>= 0.8x) and an absolute bar
(>= 1e7 evaluations/s); see ``benchmarks/_estimators.py``. Missed bars are reported, never
raised.

simulation: the engines' element-steps per second against the source's NumPy loop (numba
>= 10x); see ``benchmarks/_simulation.py``.

schedules: weight-RMS trajectories on 10^6 steps (< 0.1 s), with the O(T^2) sum side by side on
small T; see ``benchmarks/_schedules.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _estimators import estimator_report
from _schedules import schedules_report
from _simulation import simulation_report

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
DERIVE_BAR_S = 5.0


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def measure(label: str, command: list[str]) -> tuple[str, float, float]:
    samples = [wall_time(command) for _ in range(REPEATS)]
    return label, statistics.median(samples), min(samples)


def main() -> int:
    cli = [sys.executable, "-m", "adamw_rms", "derive", "--check"]
    rows = [
        measure("derive --jobs 1 (baseline)", [*cli, "--jobs", "1"]),
        measure(f"derive (default jobs, {os.cpu_count()} CPUs)", cli),
        measure("python -c 'import adamw_rms'", [sys.executable, "-c", "import adamw_rms"]),
    ]
    print(f"{'benchmark':<40} {'median s':>9} {'best s':>8}   ({REPEATS} runs each)")
    for label, median, best in rows:
        print(f"{label:<40} {median:>9.2f} {best:>8.2f}")
    default_median = rows[1][1]
    verdict = "met" if default_median <= DERIVE_BAR_S else "MISSED"
    print(
        f"\nbar: derive <= {DERIVE_BAR_S:.0f} s wall -> {verdict} (median {default_median:.2f} s); "
        f"speed-up over baseline {rows[0][1] / default_median:.2f}x"
    )
    print()
    print(estimator_report())
    print()
    print(simulation_report())
    print()
    print(schedules_report())
    return 0


if __name__ == "__main__":
    sys.exit(main())

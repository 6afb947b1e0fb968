"""Benchmarks, run by ``make bench``: each target measured side by side with its baseline.

derive: wall time of ``adamw-rms derive --check`` (a fresh process each run, SymPy import
included), in paired rounds of three runs: cold (an empty cache, as on a fresh clone or in CI;
verification spread over the CPUs, the default), warm (the same cache again: nothing changed)
and cold with ``--jobs 1`` (the baseline, ``--no-cache``). This machine's speed drifts by tens
of percent, so each round runs the three back to back (the order rotating) and the report gives
the median, the spread (min-max) and the median of the per-round ratios. The bars from the
verification issue: cold at most 5 s, warm under 1 s. One ``--profile`` run says where the cold
time goes (build per derivation, verification per check class, rendering, kernels).

estimators: ``import adamw_rms.estimators`` (fresh process, no SymPy, under 0.3 s) and the
throughput of ``weight_rms`` on 1e6 float64 elements against the naive SymPy ``subs``/``evalf``
path (>= 1000x), the same formula hand-written in NumPy (>= 0.8x) and an absolute bar
(>= 1e7 evaluations/s); see ``benchmarks/_estimators.py``. Missed bars are reported, never
raised.

simulation: the engines' element-steps per second against the source's NumPy loop, the torch
engine with ``fused`` unset, on and off; bars in paired rounds: numba >= 10x in process, and
``adamw-rms simulate --engine numba --json`` (n = 2e5, 1e4 steps) >= 12x by its wall time; see
``benchmarks/_simulation.py``.

schedules: weight-RMS trajectories on 10^6 steps (< 0.1 s), with the O(T^2) sum side by side on
small T; see ``benchmarks/_schedules.py``.

optimizers: the estimators of Lion, SGD, Adam with L2 and Muon against AdamW's ``weight_rms``
in paired rounds, their finite-step costs, and the new simulation rules against AdamW; see
``benchmarks/_optimizers.py``.

accuracy: ``adamw-rms accuracy --size small`` as users run it (<= 60 s), and one full-size grid
task with the sweep's control variate against the plain mean; see ``benchmarks/_accuracy.py``.

monitor: the step time of a small MLP on the CPU (one thread, AdamW) without
``WeightRMSMonitor``, with it at ``every=1`` and at ``every=10``, and at ``every=1`` as without
numba, in paired rounds (bar: at most 5% overhead at ``every=1``), and the time of ``report()``,
``forecast()`` and ``metrics()`` on a 10^4-step history; see ``benchmarks/_monitor.py``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _accuracy import accuracy_report
from _corrected import corrected_report
from _estimators import estimator_report
from _monitor import monitor_report
from _optimizers import optimizers_report
from _schedules import schedules_report
from _simulation import simulation_report

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
DERIVE_COLD_BAR_S = 5.0
DERIVE_WARM_BAR_S = 1.0


def wall_time(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _spread(samples: list[float]) -> str:
    return f"{statistics.median(samples):>9.2f} {min(samples):>7.2f}-{max(samples):<6.2f}"


def derive_report() -> list[str]:
    cli = [sys.executable, "-m", "adamw_rms", "derive", "--check"]
    runs: dict[str, list[float]] = {"cold": [], "warm": [], "jobs1": []}
    with tempfile.TemporaryDirectory(prefix="adamw-rms-bench-") as scratch:
        for r in range(ROUNDS):
            cache = Path(scratch) / f"cache-{r}"
            env = {**os.environ, "ADAMW_RMS_CACHE_DIR": str(cache)}
            env.pop("ADAMW_RMS_NO_CACHE", None)
            steps = [
                ("cold", lambda env=env: wall_time(cli, env)),
                ("warm", lambda env=env: wall_time(cli, env)),  # after cold: same cache
                ("jobs1", lambda env=env: wall_time([*cli, "--jobs", "1", "--no-cache"], env)),
            ]
            if r % 2:  # alternate the baseline before/after the pair
                steps = [steps[2], steps[0], steps[1]]
            for label, run in steps:
                runs[label].append(run())
        profile = subprocess.run(
            [*cli, "--no-cache", "--profile"], cwd=ROOT, capture_output=True, text=True
        ).stdout
    cold, warm, jobs1 = runs["cold"], runs["warm"], runs["jobs1"]
    cpus = _default_jobs()
    lines = [
        f"{'derive --check (paired rounds)':<44} {'median s':>9} {'min-max s':>13}"
        f"   ({ROUNDS} rounds)",
        f"{f'cold: empty cache, --jobs {cpus} (default)':<44} {_spread(cold)}",
        f"{'warm: cache hit (nothing changed)':<44} {_spread(warm)}",
        f"{'cold, --jobs 1 (baseline)':<44} {_spread(jobs1)}",
        f"{'python -c import adamw_rms':<44} "
        f"{_spread([wall_time([sys.executable, '-c', 'import adamw_rms']) for _ in range(3)])}",
    ]
    speedup = statistics.median(b / a for a, b in zip(cold, jobs1, strict=True))
    cold_median, warm_median = statistics.median(cold), statistics.median(warm)
    lines += [
        "",
        f"bar: cold <= {DERIVE_COLD_BAR_S:.0f} s -> "
        f"{'met' if cold_median <= DERIVE_COLD_BAR_S else 'MISSED'} "
        f"(median {cold_median:.2f} s); warm < {DERIVE_WARM_BAR_S:.0f} s -> "
        f"{'met' if warm_median < DERIVE_WARM_BAR_S else 'MISSED'} (median {warm_median:.2f} s)",
        f"cold --jobs {cpus} over --jobs 1: {speedup:.2f}x (median of per-round ratios)",
    ]
    if "\nprofile: " in profile:
        lines += ["", "where a cold derive's time goes (one --profile --no-cache run):"]
        lines += ("profile: " + profile.split("\nprofile: ", 1)[1]).split("\n\n", 1)[0].splitlines()
    return lines


def _default_jobs() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 4))
    except AttributeError:
        return max(1, min(os.cpu_count() or 1, 4))


def main() -> int:
    if sys.argv[1:] == ["accuracy"]:  # `python benchmarks/run.py accuracy`: this section only
        print(accuracy_report())
        return 0
    if sys.argv[1:] == ["monitor"]:  # `python benchmarks/run.py monitor`: this section only
        print(monitor_report())
        return 0
    print("\n".join(derive_report()))
    if sys.argv[1:] == ["derive"]:  # `python benchmarks/run.py derive`: this section only
        return 0
    print()
    print(estimator_report())
    print()
    print(corrected_report())
    print()
    print(optimizers_report())
    print()
    print(simulation_report())
    print()
    print(schedules_report())
    print()
    print(accuracy_report())
    print()
    print(monitor_report())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The accuracy pipeline: the small size as users run it, and the control variate's gain.

small: wall time of ``adamw-rms accuracy --size small --out DIR`` (a fresh process each run,
after one warm-up run that fills numba's cache; ``--fresh`` so no task is skipped), against
the bar of the pipeline issue: at most 60 s.

control variate: one task of the full grid (beta1 = 0.9, beta2 = 0.99, SNR = 1: ten
trajectories over 10^5 steps, every point to a relative SE of 0.2%) with the sweep's control
variate (after) and with the plain mean over coordinates (before this pipeline), in paired
rounds that alternate the order. Both land on the same target SE; the report gives the
coordinates each needed and the median of the per-round time ratios.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
SMALL_BAR_S = 60.0
TASK = (0.9, 0.99, 1.0)


def _small_run(out: Path) -> float:
    command = [sys.executable, "-m", "adamw_rms", "accuracy", "--size", "small", "--out",
               str(out), "--fresh"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def _task_run(estimator: str) -> tuple[float, int]:
    from adamw_rms.accuracy import grid

    (task,) = [t for t in grid.tasks("full") if (t["beta1"], t["beta2"], t["snr"]) == TASK]
    start = time.perf_counter()
    rows = grid.run(replace(task, estimator=estimator))
    return time.perf_counter() - start, int(rows[0]["n"])


def accuracy_report() -> str:
    with tempfile.TemporaryDirectory(prefix="adamw-rms-bench-") as scratch:
        _small_run(Path(scratch) / "warm-up")
        small = [_small_run(Path(scratch) / f"run-{r}") for r in range(ROUNDS)]
    _task_run("controlled")  # compile outside the timing
    times: dict[str, list[float]] = {"controlled": [], "plain": []}
    needed: dict[str, int] = {}
    for r in range(ROUNDS):
        order = ("plain", "controlled") if r % 2 else ("controlled", "plain")
        for estimator in order:
            elapsed, n = _task_run(estimator)
            times[estimator].append(elapsed)
            needed[estimator] = n
    ratios = [p / c for p, c in zip(times["plain"], times["controlled"], strict=True)]
    median_small = statistics.median(small)
    lines = [
        f"{'accuracy pipeline':<52} {'median s':>9} {'min-max s':>13}   ({ROUNDS} rounds)",
        f"{'adamw-rms accuracy --size small (fresh process)':<52} "
        f"{median_small:>9.2f} {min(small):>7.2f}-{max(small):<6.2f}",
    ]
    beta1, beta2, snr = TASK
    for estimator, label in (("plain", "plain mean (before)"), ("controlled", "control variate")):
        samples = times[estimator]
        lines.append(
            f"{f'grid task b1={beta1} b2={beta2} snr={snr:g}, {label}':<52} "
            f"{statistics.median(samples):>9.2f} {min(samples):>7.2f}-{max(samples):<6.2f}"
            f"   n = {needed[estimator]}"
        )
    lines += [
        "",
        f"bar: --size small <= {SMALL_BAR_S:.0f} s -> "
        f"{'met' if median_small <= SMALL_BAR_S else 'MISSED'} (median {median_small:.2f} s)",
        f"control variate over plain mean, same 0.2% target: {statistics.median(ratios):.1f}x "
        f"faster (median of per-round ratios, {min(ratios):.1f}-{max(ratios):.1f}); "
        f"{needed['plain'] / needed['controlled']:.0f}x fewer coordinates",
        "the full grid (`make accuracy`) is timed in docs/accuracy.md's header, not here",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(accuracy_report())

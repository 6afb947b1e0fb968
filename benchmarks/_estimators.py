"""Estimator benchmarks for ``benchmarks/run.py``: import cost and ``weight_rms`` throughput.

Bars (the estimator issue):

* ``import adamw_rms.estimators`` in a fresh process: no SymPy loaded, under 0.3 s.
* ``weight_rms`` on 1e6 float64 elements: >= 1000x the naive SymPy ``subs``/``evalf`` path,
  >= 0.8x the same formula hand-written in NumPy without validation, >= 1e7 evaluations/s.

Never raises on a missed bar; each row carries a "met"/"MISSED" verdict.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

IMPORT_REPEATS = 5
IMPORT_BAR_S = 0.3

N = 1_000_000
THROUGHPUT_REPEATS = 7
SYMPY_ELEMENTS = 200
WEIGHT_DECAY = 0.1
SNR = 0.5
INIT_RMS = 0.02
SEED = 20240501

SYMPY_RATIO_BAR = 1000.0
HANDWRITTEN_RATIO_BAR = 0.8
ABSOLUTE_BAR = 1e7
AGREEMENT_RTOL = 1e-10

_IMPORT_PROBE = """\
import sys, time
start = time.perf_counter()
import adamw_rms.estimators
elapsed = time.perf_counter() - start
print(repr(elapsed), "sympy" in sys.modules)
"""


@dataclass
class Row:
    label: str
    value: str
    bar: str
    verdict: str  # "met", "MISSED" or "" (reference row)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# ---- 1. import ---------------------------------------------------------------------------------


def _import_once() -> tuple[float, float, bool]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    elapsed, sympy_loaded = done.stdout.split()
    return float(elapsed), wall, sympy_loaded == "True"


def import_rows() -> list[Row]:
    samples = [_import_once() for _ in range(IMPORT_REPEATS)]
    import_s = statistics.median(s[0] for s in samples)
    wall_s = statistics.median(s[1] for s in samples)
    sympy_loaded = any(s[2] for s in samples)
    return [
        Row(
            "import adamw_rms.estimators (median)",
            f"{import_s:.3f} s",
            f"< {IMPORT_BAR_S} s",
            _verdict(import_s < IMPORT_BAR_S),
        ),
        Row("  whole process wall (reference)", f"{wall_s:.3f} s", "", ""),
        Row(
            "  sympy in sys.modules after import",
            str(sympy_loaded),
            "False",
            _verdict(not sympy_loaded),
        ),
    ]


# ---- 2. throughput -----------------------------------------------------------------------------


def benchmark_data(n: int = N) -> dict[str, np.ndarray | float]:
    rng = np.random.default_rng(SEED)
    return {
        "lr": rng.uniform(1e-4, 1e-2, n),
        "weight_decay": WEIGHT_DECAY,
        "steps": np.floor(rng.uniform(1, 1e6, n)),  # whole steps, as weight_rms requires
        "snr": SNR,
        "init_rms": INIT_RMS,
    }


def handwritten_weight_rms(lr, weight_decay, steps, snr, init_rms):
    """The textbook formula in NumPy, no validation or special cases.

    ``x^2 rho0 + (1-x)^2 (snr + (1-beta3)(1+x)/(2(1-x))) / (lambda^2 (snr+1))`` with
    ``beta3 = 1 - q``, ``q = lr*wd``, ``x = beta3**t``. Multiplying the bracket out,
    ``(1-x)^2 (snr + q(1+x)/(2(1-x))) = (1-x) (snr (1-x) + q (1+x)/2)``, which has no
    division by the small ``1-x``; ``1-x`` comes from ``expm1`` without cancellation.
    """
    exponent = steps * np.log1p(-lr * weight_decay)
    x = np.exp(exponent)
    omx = -np.expm1(exponent)
    scale = 1.0 / (weight_decay * weight_decay * (snr + 1.0))
    q_half = (0.5 * weight_decay) * lr
    noise = omx * (snr * omx + q_half * (1.0 + x)) * scale
    return np.sqrt(x * x * (init_rms * init_rms) + noise)


def _best_rate(function: Callable[[], object], n: int) -> float:
    function()  # warm-up
    best = min(_timed(function) for _ in range(THROUGHPUT_REPEATS))
    return n / best


def _timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def _sympy_naive(data: dict, count: int) -> tuple[float, float, np.ndarray]:
    """Evaluations/s of ``subs``/``evalf`` per element on the first ``count`` elements.

    Returns the rate, the one-time setup cost (SymPy import and derivation build, excluded
    from the rate) and the values, for a sanity check against the estimator.
    """
    setup_start = time.perf_counter()
    import sympy as sp

    from adamw_rms import derivation
    from adamw_rms import symbols as S

    expr = derivation("weight_rms").result("weight_rms_sq")
    expr = expr.subs(S.beta3, 1 - S.eta * S.lam)
    setup_s = time.perf_counter() - setup_start

    lr = data["lr"][:count]
    steps = data["steps"][:count]
    rho0 = data["init_rms"] ** 2
    values = np.empty(count)
    start = time.perf_counter()
    for k in range(count):
        numeric = expr.subs(
            {
                S.eta: float(lr[k]),
                S.lam: data["weight_decay"],
                S.t: float(steps[k]),
                S.snr: data["snr"],
                S.rho0: rho0,
            }
        )
        values[k] = float(sp.sqrt(numeric).evalf())
    elapsed = time.perf_counter() - start
    return count / elapsed, setup_s, values


def throughput_rows() -> tuple[list[Row], list[str]]:
    from adamw_rms.estimators import weight_rms

    data = benchmark_data()
    notes: list[str] = []

    estimated = weight_rms(**data)
    handwritten = handwritten_weight_rms(**data)
    rel = np.max(np.abs(handwritten - estimated) / np.abs(estimated))
    agree = bool(rel <= AGREEMENT_RTOL)
    notes.append(
        f"hand-written vs estimator on the {N:.0e} benchmark elements: max rel diff {rel:.2e} "
        f"(<= {AGREEMENT_RTOL:.0e}: {'ok' if agree else 'DISAGREES'})"
    )

    sympy_rate, sympy_setup_s, sympy_values = _sympy_naive(data, SYMPY_ELEMENTS)
    sympy_rel = np.max(
        np.abs(sympy_values - estimated[:SYMPY_ELEMENTS]) / estimated[:SYMPY_ELEMENTS]
    )
    notes.append(
        f"SymPy subs/evalf on the first {SYMPY_ELEMENTS} elements (rate extrapolated); "
        f"one-time import + derivation build {sympy_setup_s:.2f} s not counted; "
        f"max rel diff vs estimator {sympy_rel:.2e}"
    )

    est_rate = _best_rate(lambda: weight_rms(**data), N)
    hand_rate = _best_rate(lambda: handwritten_weight_rms(**data), N)

    sympy_ratio = est_rate / sympy_rate
    hand_ratio = est_rate / hand_rate
    rows = [
        Row(
            "weight_rms estimator (1e6 float64)",
            f"{est_rate:.3e} /s",
            f">= {ABSOLUTE_BAR:.0e} /s",
            _verdict(est_rate >= ABSOLUTE_BAR),
        ),
        Row("  hand-written NumPy (reference)", f"{hand_rate:.3e} /s", "", ""),
        Row("  naive SymPy subs/evalf (reference)", f"{sympy_rate:.3e} /s", "", ""),
        Row(
            "  estimator / SymPy",
            f"{sympy_ratio:.3g}x",
            f">= {SYMPY_RATIO_BAR:.0f}x",
            _verdict(sympy_ratio >= SYMPY_RATIO_BAR),
        ),
        Row(
            "  estimator / hand-written",
            f"{hand_ratio:.3f}x",
            f">= {HANDWRITTEN_RATIO_BAR}x",
            _verdict(hand_ratio >= HANDWRITTEN_RATIO_BAR),
        ),
        Row(
            "  hand-written agrees to 1e-10 rel",
            f"{rel:.1e}",
            f"<= {AGREEMENT_RTOL:.0e}",
            _verdict(agree),
        ),
    ]
    return rows, notes


def estimator_report() -> str:
    """Run all estimator benchmarks and format the table."""
    rows = import_rows()
    throughput, notes = throughput_rows()
    rows += throughput
    lines = [
        f"{'estimator benchmark':<40} {'measured':>14} {'bar':>14}  verdict",
    ]
    for row in rows:
        lines.append(f"{row.label:<40} {row.value:>14} {row.bar:>14}  {row.verdict}")
    lines.append(
        f"(import: {IMPORT_REPEATS} fresh processes; throughput: best of {THROUGHPUT_REPEATS} "
        "after one warm-up, time.perf_counter, single thread)"
    )
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)

"""The README's and the notebooks' key figures, rendered to ``docs/figures/`` (``make figures``).

Each figure is a function ``size -> matplotlib Figure`` so that the notebooks draw exactly what
``make figures`` commits. Every simulation is seeded (counter-based random numbers: the result
does not depend on the thread count), and :func:`~adamw_rms.plot.save_figure` drops the
metadata that varies between runs, so the PNGs are byte-stable on one platform.

``size`` is ``"full"`` (the committed figures) or ``"small"`` (a few seconds; the tests and
the notebooks' CI run). The environment variable ``ADAMW_RMS_SIZE`` sets the default.

Run ``python -m adamw_rms.figures [--out DIR] [--size small|full] [NAME ...]``. All figures
are drawn first, into a temporary folder; only if every one succeeds do they replace the
files in ``--out`` (a failed run leaves the previous figures intact and exits 1 naming the
figure that failed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FIGURES", "SIZES", "default_size", "main", "simulation_engine"]

SIZES = ("small", "full")
SIZE_VARIABLE = "ADAMW_RMS_SIZE"
SEED = 2025


def default_size() -> str:
    """``$ADAMW_RMS_SIZE`` (``small`` or ``full``; default ``full``), validated."""
    size = os.environ.get(SIZE_VARIABLE, "full").strip().lower() or "full"
    if size not in SIZES:
        raise ValueError(f"{SIZE_VARIABLE} must be one of {SIZES}; got {size!r}")
    return size


def simulation_engine() -> str:
    """The numba engine when the ``sim`` extra is installed, else the NumPy reference."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numpy"
    return "numba"


def _check_size(size: str) -> None:
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}; got {size!r}")


def _pick(size: str, small: Any, full: Any) -> Any:
    _check_size(size)
    return small if size == "small" else full


def _evenly(steps: int, points: int = 120) -> tuple[int, ...]:
    return tuple(sorted({round(k * steps / points) for k in range(points + 1)}))


def _simulate(config: Any) -> Any:
    from .simulation import simulate

    return simulate(config, engine=simulation_engine(), progress=False)


def _figure(**options: Any) -> Any:
    # pyplot, so that a notebook shows the figure; the backend is the caller's choice.
    import matplotlib.pyplot as plt

    return plt.figure(layout="constrained", **options)


def trajectory_figure(size: str) -> Any:
    """The source's experiment: weight RMS over 10⁵ steps, simulation vs each formula."""
    from .plot import draw_trajectory
    from .simulation import SimulationConfig

    n, steps = _pick(size, (2000, 20_000), (10_000, 100_000))
    config = SimulationConfig.source(n=n, steps=steps, seed=SEED, record_steps=_evenly(steps))
    figure = _figure(figsize=(7, 4.2))
    axis = figure.add_subplot()
    draw_trajectory(axis, _simulate(config))
    axis.set_title("The source's run (AdamW, β=(0.9, 0.95), η=1e-3, λ=0.1, θ₀ RMS 0.1)")
    return figure


def accuracy_map_figure(size: str) -> Any:
    """eq:theta-rms against the measured grid (``docs/accuracy.md``), bias correction off/on."""
    from .plot import draw_accuracy_map, read_accuracy_rows

    _check_size(size)  # the map reads the committed data, the same at any size
    rows = read_accuracy_rows()
    figure = _figure(figsize=(10, 4.8))
    axes = figure.subplots(1, 2, sharey=True)
    for axis, bias in zip(axes, (False, True), strict=True):
        image = draw_accuracy_map(
            axis, rows, formula="theta_rms", bias_correction=bias, colorbar=False
        )
        axis.set_title(f"eq:theta-rms, bias correction {'on' if bias else 'off'} (ηλ=1e-3, θ₀=0)")
    bar = figure.colorbar(image, ax=axes, ticks=(-10, -3, -1, 1, 3, 10), shrink=0.8)
    bar.set_label("predicted / simulated − 1 (%)")
    return figure


def _schedule_runs(size: str) -> dict[str, np.ndarray]:
    from . import schedules

    steps = _pick(size, 3000, 10_000)
    return {
        "cosine 1e-3 → 1e-4": schedules.cosine(1e-3, 1e-4, steps),
        "WSD (warmup 5%, decay 20%)": schedules.wsd(1e-3, steps, warmup=steps // 20),
        "linear warmup 5%, then 1e-3 → 1e-4": schedules.linear(
            1e-3, 1e-4, steps, warmup=steps // 20
        ),
    }


def schedules_figure(size: str) -> Any:
    """Part 2: cosine, WSD and linear-warmup runs, simulation vs the schedule formulas."""
    from .plot import draw_schedule
    from .simulation import SimulationConfig

    n = _pick(size, 2000, 100_000)
    runs = _schedule_runs(size)
    figure = _figure(figsize=(12, 5.2))
    grid = figure.subplots(2, len(runs), sharex="col", height_ratios=(1, 2.2))
    for column, (name, lr) in enumerate(runs.items()):
        config = SimulationConfig.source(
            n=n, steps=lr.size, lr=lr, seed=SEED + column, record_steps=_evenly(lr.size, 100)
        )
        axes = grid[:, column]
        draw_schedule(axes, _simulate(config), legend=column == 0)
        axes[0].set_title(name)
    return figure


def collapse_figure(size: str) -> Any:
    """Decaying the learning rate to 0 with a constant λ shrinks the weights; λ_t ∝ η_t does not.

    Both runs start at the equilibrium √(η/2λ) of the peak rate and last 5 decay times
    (η_max·λ·T = 5); part 2's ODE says the RMS follows √(η_t/2λ_t) while it can keep up.
    """
    from . import schedules
    from .plot import draw_schedule
    from .simulation import SimulationConfig

    n, steps = _pick(size, (2000, 5000), (50_000, 50_000))
    peak = 1e-3
    decay = 5.0 / (peak * steps)
    lr = schedules.cosine(peak, 0.0, steps, warmup=steps // 50)
    decays = {
        f"constant λ = {decay:g}": decay,
        "λₜ ∝ ηₜ": schedules.proportional_weight_decay(lr, decay),
    }
    figure = _figure(figsize=(10, 5.2))
    grid = figure.subplots(2, 2, sharex=True, sharey="row", height_ratios=(1, 2.2))
    for column, (name, weight_decay) in enumerate(decays.items()):
        config = SimulationConfig.source(
            n=n, steps=steps, lr=lr, weight_decay=weight_decay, seed=SEED + 10 + column,
            init_rms=float(np.sqrt(peak / (2 * decay))), record_steps=_evenly(steps, 100),
        )  # fmt: skip
        draw_schedule(grid[:, column], _simulate(config), legend=column == 0)
        grid[0, column].set_title(f"cosine to 0 over {steps} steps, {name}")
    return figure


def sign_sgdm_figure(size: str) -> Any:
    """SignSGDMW: the source's mean field against the arcsine-law correction, across β₁."""
    from .estimators import sign_sgdm_weight_rms
    from .plot import LABELS, formula_color
    from .simulation import SimulationConfig

    n, steps = _pick(size, (2000, 3000), (50_000, 10_000))
    lr, decay = 1e-3, 0.1
    betas = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
    simulated, errors = [], []
    for index, beta1 in enumerate(betas):
        config = SimulationConfig.source(
            n=n, steps=steps, beta1=beta1, update="sign_sgdm", init_rms=0.0,
            seed=SEED + 20 + index, record_steps=(steps,),
        )  # fmt: skip
        result = _simulate(config)
        simulated.append(result.final_weight_rms)
        errors.append(2 * result.final_weight_rms_se)
    dense = np.linspace(0.0, 0.96, 97)
    figure = _figure(figsize=(6.4, 4.2))
    axis = figure.add_subplot()
    for formula, label in (
        ("source", "source's mean field"),
        ("arcsine", "arcsine law (corrected)"),
    ):
        predicted = sign_sgdm_weight_rms(lr, decay, beta1=dense, steps=steps, formula=formula)
        axis.plot(dense, predicted, ls="--", color=formula_color(f"sign_{formula}"), label=label)
    axis.errorbar(
        betas, simulated, yerr=errors, fmt="o", color="black", ms=4, capsize=2,
        label="simulation ± 2 SE",
    )  # fmt: skip
    axis.set_xlabel(r"momentum $\beta_1$")
    axis.set_ylabel(LABELS["weight_rms"] + f" at t = {steps}")
    axis.set_title(f"SignSGD with momentum and decoupled decay (η={lr:g}, λ={decay:g}, n={n})")
    axis.legend()
    return figure


def corrected_figure(size: str) -> Any:
    """The source's formula and the corrected one at every grid point, bias correction off/on."""
    from .plot import read_accuracy_rows
    from .plot.formula_errors import draw_formula_errors

    _check_size(size)  # reads the committed data, the same at any size
    rows = read_accuracy_rows()
    figure = _figure(figsize=(10, 4.4))
    axes = figure.subplots(1, 2, sharey=True)
    for axis, bias in zip(axes, (False, True), strict=True):
        draw_formula_errors(axis, rows, bias_correction=bias)
        axis.set_title(f"bias correction {'on' if bias else 'off'}: every grid point")
    axes[0].set_ylabel("predicted / simulated − 1 (%)")
    axes[1].legend(loc="lower right", markerscale=2)
    return figure


FIGURES: dict[str, Callable[[str], Any]] = {
    "trajectory": trajectory_figure,
    "accuracy_map": accuracy_map_figure,
    "corrected": corrected_figure,
    "schedules": schedules_figure,
    "collapse": collapse_figure,
    "sign_sgdm": sign_sgdm_figure,
}


class FigureError(RuntimeError):
    """A figure could not be produced (its name is in the message)."""


def render(names: Sequence[str], out: Path, size: str, *, log: Callable[[str], None]) -> list[Path]:
    """Draw ``names`` into a temporary folder, then move them all into ``out``."""
    from .plot import save_figure, styled

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix=".figures-", dir=out) as staging:
        for name in names:
            started = time.perf_counter()
            try:
                with styled():
                    save_figure(FIGURES[name](size), Path(staging) / f"{name}.png")
            except Exception as error:
                raise FigureError(f"figure {name!r} could not be produced: {error}") from error
            log(f"{name}.png  {time.perf_counter() - started:.1f} s")
        for name in names:
            target = out / f"{name}.png"
            shutil.move(Path(staging) / f"{name}.png", target)
            written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adamw_rms.figures", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"among {', '.join(FIGURES)}")
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    parser.add_argument("--size", choices=SIZES, default=None, help=f"default: ${SIZE_VARIABLE}")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    try:
        size = args.size or default_size()
        from .plot import require_matplotlib

        require_matplotlib()
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window
        written = render(
            args.names or list(FIGURES),
            args.out,
            size,
            log=lambda line: print(line, file=sys.stderr),
        )
    except (FigureError, ImportError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

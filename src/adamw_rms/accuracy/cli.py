"""``adamw-rms accuracy`` (and ``python -m adamw_rms.accuracy``): arguments, where to write.

Without ``--out`` the command refreshes the committed files of the source checkout it runs from
(``src/adamw_rms/data/*.csv`` and ``docs/accuracy.md``); an installed package has no such
files to refresh, so it then refuses. ``--size small`` writes only with ``--out``: its reduced
grid must never replace the committed measurement.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from ..data import FILES, SIZES, write_csv
from .tasks import ESTIMATORS, STUDIES

__all__ = ["PACKAGE_DIR", "add_accuracy_arguments", "checkout_root", "main", "run_accuracy"]

#: The installed or checked-out ``adamw_rms`` package folder.
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The task store's folder name (inside ``--out``, or at the checkout's root).
STORE = ".accuracy-tasks"

DESCRIPTION = (
    "Measure every formula against simulation on grids of settings (the AdamW grid, eps, "
    "SignSGDMW, schedules, Lion / SGD / Adam with L2, torch.optim.Muon) and write the CSVs "
    "and accuracy.md."
)


def add_accuracy_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``adamw-rms accuracy``."""
    parser.add_argument(
        "--size", choices=SIZES, default="full",
        help="full: the committed grids (default); small: every study on a reduced grid with "
        "short runs and a 1%% target SE, to check the pipeline (needs --out)",
    )  # fmt: skip
    parser.add_argument(
        "--estimator", choices=ESTIMATORS, default="controlled",
        help="controlled: the sweep's control variate (default); plain: the plain mean over "
        "coordinates (same expectation; needs up to ~800x more coordinates for the same SE)",
    )  # fmt: skip
    parser.add_argument(
        "--part", choices=("all", *STUDIES, "report"), default="all",
        help="run every study (default) or one, then rewrite accuracy.md; report: only "
        "rewrite accuracy.md from the CSVs",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="write accuracy*.csv and accuracy.md into DIR (default: refresh the source "
        "checkout's src/adamw_rms/data/ and docs/accuracy.md)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="local worker processes (default: the CPUs available; 1 runs in this process)",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS",
        help="run the tasks on a dask.distributed cluster, e.g. tcp://host:8786 (extra "
        "'distributed'; the workers need adamw-rms installed)",
    )  # fmt: skip
    parser.add_argument(
        "--fresh", action="store_true",
        help=f"rerun every task; by default tasks finished by an earlier run (stored in "
        f"DIR/{STORE}/, or {STORE}/ at the checkout's root) are not run again",
    )  # fmt: skip


def checkout_root(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source checkout holding ``package_dir`` (``<root>/src/adamw_rms``), or None for an
    installed package (under site-packages, or no ``pyproject.toml`` two levels up)."""
    package_dir = Path(package_dir)
    if {"site-packages", "dist-packages"} & set(package_dir.parts):
        return None
    root = package_dir.parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run_accuracy(args: argparse.Namespace) -> int:
    """Run ``adamw-rms accuracy`` with parsed ``args``; return the exit code."""
    from ..artifacts import write_file_atomically
    from . import measure
    from .report import document

    if args.workers is not None and args.workers < 1:
        return _error(f"--workers must be at least 1; got {args.workers}")
    if args.workers is not None and args.scheduler is not None:
        return _error("give --workers (local processes) or --scheduler (a cluster), not both")
    if args.out is None:
        if args.size != "full":
            return _error(
                f"--size {args.size} is a reduced grid and must not replace the committed "
                "data; give --out DIR"
            )
        root = checkout_root(PACKAGE_DIR)
        if root is None:
            return _error(
                f"{PACKAGE_DIR} is an installed package, not a source checkout: there are no "
                "committed files to refresh; give --out DIR"
            )
        data, target, store = PACKAGE_DIR / "data", root / "docs" / "accuracy.md", root / STORE
    else:
        data, target, store = args.out, args.out / "accuracy.md", args.out / STORE
    studies = STUDIES if args.part == "all" else () if args.part == "report" else (args.part,)
    if args.part == "report" and not (data / FILES["grid"]).exists():
        return _error(f"{data / FILES['grid']} does not exist: run the grid first")
    started = time.perf_counter()
    try:
        data.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        for study in studies:
            module = import_module(f"{__package__}.{study}")
            # A study with an optional dependency (Muon: PyTorch) says why it cannot run: the
            # whole pipeline skips it, a run of that study alone fails.
            reason = module.missing() if hasattr(module, "missing") else None
            if reason is not None and args.part == "all":
                print(f"{study}: skipped ({reason})", file=sys.stderr)
                continue
            if reason is not None:
                return _error(reason)
            moment = time.perf_counter()
            rows = measure(
                study, size=args.size, estimator=args.estimator, workers=args.workers,
                scheduler=args.scheduler, resume_dir=store, fresh=args.fresh,
            )  # fmt: skip
            write_file_atomically(write_csv(rows, module.COLUMNS), data / module.FILE)
            elapsed = time.perf_counter() - moment
            print(f"{study}: wrote {data / module.FILE} ({len(rows)} rows, {elapsed:.1f} s)")
        if not (data / FILES["grid"]).exists():
            print(f"note: no {data / FILES['grid']} yet; {target} not written (run --part grid)")
            return 0
        write_file_atomically(document(data, args.size), target)
    except ImportError as error:
        return _error(str(error))
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {target} ({args.part}, {args.size}) in {time.perf_counter() - started:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m adamw_rms.accuracy``: the same options as ``adamw-rms accuracy``."""
    parser = argparse.ArgumentParser(prog="python -m adamw_rms.accuracy", description=DESCRIPTION)
    add_accuracy_arguments(parser)
    return run_accuracy(parser.parse_args(argv))

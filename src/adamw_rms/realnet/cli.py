"""``python -m adamw_rms.realnet [--size small|full] [--out DIR] ...``: arguments, then the study.

``--size small`` trains every run for a few hundred steps on shrunken networks: a check of the
pipeline in seconds, whose numbers say nothing. It must never replace the committed study, so
it needs an explicit ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .problems import PROBLEMS, SIZES
from .schedules import SCHEDULE_KINDS

__all__ = ["main"]

DESCRIPTION = (
    "Train small real networks with AdamW under constant, cosine and WSD schedules with a "
    "WeightRMSMonitor attached; write real-networks.md, realnet.csv and the figures."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m adamw_rms.realnet", description=DESCRIPTION)
    parser.add_argument(
        "--size", choices=SIZES, default="full",
        help="full: the committed study (default, ~5 min on 2 cores); small: seconds, to check "
        "the pipeline (needs --out)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR",
        help="write DIR/real-networks.md, DIR/realnet.csv, DIR/realnet-curves.csv and "
        "DIR/figures/ (default: docs)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="worker processes (default 2; 1 runs in this process)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="the seed of every run (default 0)")
    parser.add_argument("--problems", nargs="+", choices=tuple(PROBLEMS), default=None,
                        metavar="NAME", help=f"a subset of {', '.join(PROBLEMS)}")  # fmt: skip
    parser.add_argument("--schedules", nargs="+", choices=SCHEDULE_KINDS,
                        default=list(SCHEDULE_KINDS), metavar="KIND",
                        help=f"a subset of {', '.join(SCHEDULE_KINDS)}")  # fmt: skip
    parser.add_argument(
        "--save-histories", type=Path, default=None, metavar="DIR",
        help="also save each run (measured RMS after every step, rates, loss, forecasts) and "
        "its monitor.state_dict() with torch.save, as DIR/<problem>-<schedule>-seed<seed>.pt",
    )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit code."""
    args = _parser().parse_args(argv)
    if args.out is None and args.size != "full":
        print(f"error: --size {args.size} must not replace the committed study; give --out DIR",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.workers < 1:
        print(f"error: --workers must be at least 1; got {args.workers}", file=sys.stderr)
        return 2
    if args.seed < 0:
        print(f"error: --seed must be >= 0; got {args.seed}", file=sys.stderr)
        return 2
    out = Path("docs") if args.out is None else args.out
    from .study import CSV_NAME, CURVES_NAME, FIGURE_FOLDER, REPORT_NAME, run_study

    started = time.perf_counter()

    def progress(run: dict[str, Any]) -> None:
        print(f"{run['problem']:>12} {run['schedule']:<9} {run['steps']:>5} steps "
              f"{run['seconds']:6.1f} s (forecasts {run['forecast_seconds']:.2f} s)",
              flush=True)  # fmt: skip

    try:
        run_study(
            out, size=args.size, seed=args.seed, workers=args.workers, problems=args.problems,
            schedules=args.schedules, histories=args.save_histories, progress=progress,
        )  # fmt: skip
    except (ImportError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    print(f"wrote {out / REPORT_NAME}, {out / CSV_NAME}, {out / CURVES_NAME} and "
          f"{out / FIGURE_FOLDER}/realnet-*.png in {elapsed:.1f} s")  # fmt: skip
    return 0

"""The command line: ``adamw-rms derive | steps | latex | simulate | check``.

Also ``python -m adamw_rms``. Errors in the arguments exit with status 2 and one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

DEFAULT_OUT = Path("derivations")
DEFAULT_CODE_OUT = Path("src/adamw_rms/estimators/_generated.py")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adamw-rms",
        description="Re-derive, verify and export the mean-field weight RMS of AdamW.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    derive = commands.add_parser(
        "derive", help="re-derive and verify every step; write derivations/ (LaTeX, Markdown)"
    )
    derive.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: derivations)"
    )
    derive.add_argument(
        "--code-out",
        type=Path,
        default=DEFAULT_CODE_OUT,
        help="where to print the estimator kernels (default: %(default)s; skipped when its "
        "folder does not exist, i.e. outside a source checkout)",
    )
    derive.add_argument(
        "--jobs",
        type=int,
        default=min(os.cpu_count() or 1, 4),
        help="worker processes for verification (default: the CPU count, at most 4)",
    )
    derive.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if the folder differs from what the code derives",
    )
    steps = commands.add_parser("steps", help="list the step ids")
    steps.add_argument("name", nargs="?", help="only this derivation")
    latex = commands.add_parser("latex", help="print one step's LaTeX (a fragment, no label)")
    latex.add_argument("step_id", help="a step id, e.g. weight_rms.double_sum_m or theta_rms")
    from .simulation.cli import add_simulation_arguments

    simulate = commands.add_parser(
        "simulate", help="simulate AdamW on Gaussian gradients: weight and update RMS ± SE"
    )
    add_simulation_arguments(simulate, check=False)
    check = commands.add_parser(
        "check", help="simulate, then compare every applicable formula (error, z, band)"
    )
    add_simulation_arguments(check, check=True)
    return parser


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if k < len(row) - 1 else cell.rjust(w)
            for k, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def _derive(args: argparse.Namespace) -> int:
    from .artifacts import (
        ArtifactError,
        differences,
        file_differences,
        render,
        write_atomically,
        write_file_atomically,
    )
    from .codegen import generated_source
    from .steps import DERIVATION_NAMES, build_and_verify

    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    print_code = args.code_out.parent.is_dir()
    derivations, code = build_and_verify(
        DERIVATION_NAMES, jobs=args.jobs, meanwhile=generated_source if print_code else None
    )
    rows = [("step", "kind", "verified by", "result", "ms")]
    failed = errata = 0
    for d in derivations:
        for result in d.verify():
            verdict = "pass" if result.passed else "FAIL"
            if result.erratum:
                verdict += " (erratum)"
            failed += not result.passed
            errata += result.erratum
            rows.append(
                (
                    f"{d.name}.{result.step_id}",
                    result.kind.value,
                    result.method,
                    verdict,
                    f"{result.elapsed_ms:.0f}",
                )
            )
    print(_table(rows))
    steps = len(rows) - 1
    if failed:
        print(f"\n{failed} of {steps} steps FAILED verification; nothing written.", file=sys.stderr)
        for d in derivations:
            for result in d.verify():
                for check in result.checks:
                    if not check.passed:
                        print(
                            f"  {d.name}.{result.step_id}: {check.method}: {check.detail}",
                            file=sys.stderr,
                        )
                if result.claim_problem:
                    print(
                        f"  {d.name}.{result.step_id}: source comparison: {result.claim_problem}",
                        file=sys.stderr,
                    )
        return 1
    tree = render(derivations)
    summary = f"{steps} steps verified, {errata} errata, {time.perf_counter() - start:.1f} s"
    if code is None:
        print(f"note: {args.code_out.parent} does not exist; estimator kernels not printed.")
    if args.check:
        changes = differences(tree, args.out)
        if code is not None:
            changes += file_differences(code, args.code_out)
        if changes:
            print(f"\n{args.out} differs from what the code derives:", file=sys.stderr)
            print("\n".join(changes), file=sys.stderr)
            print("Run `adamw-rms derive` and commit the result.", file=sys.stderr)
            return 1
        print(f"\n{summary}; {args.out} is up to date ({len(tree)} files).")
        return 0
    try:
        write_atomically(tree, args.out)
        if code is not None:
            write_file_atomically(code, args.code_out)
    except (ArtifactError, OSError) as error:
        print(f"error: {error}; previous artifacts left intact.", file=sys.stderr)
        return 1
    printed = f" and {args.code_out}" if code is not None else ""
    print(f"\n{summary}; wrote {len(tree)} files to {args.out}/{printed}")
    return 0


def _steps(args: argparse.Namespace) -> int:
    from .steps import DERIVATION_NAMES, derivation

    names = DERIVATION_NAMES
    if args.name is not None:
        if args.name not in DERIVATION_NAMES:
            print(
                f"error: unknown derivation {args.name!r}; known: {', '.join(names)}",
                file=sys.stderr,
            )
            return 2
        names = (args.name,)
    for name in names:
        for step in derivation(name).steps:
            label = f"  ({step.label})" if step.label else ""
            print(f"{name}.{step.id:<22} {step.kind.value:>2}  {step.title}{label}")
    return 0


def _latex(args: argparse.Namespace) -> int:
    from .steps import UnknownStepError, find_step

    try:
        step = find_step(args.step_id)
    except UnknownStepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(step.latex())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = _parser().parse_args(argv)
    from .simulation.cli import run_check, run_simulate

    handler = {
        "derive": _derive,
        "steps": _steps,
        "latex": _latex,
        "simulate": run_simulate,
        "check": run_check,
    }[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())

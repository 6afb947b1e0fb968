"""The command line: ``adamw-rms derive | steps | latex | simulate | check | estimate | solve |
accuracy``.

Also ``python -m adamw_rms``. Errors in the arguments exit with status 2 and one line.
:func:`main` runs a command in process (tests call it); :func:`run` is the program.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

__all__ = ["main", "run"]

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
        default=_default_jobs(),
        help="worker processes for verification (default: the CPUs available, at most 4; "
        "1 verifies in this process)",
    )
    derive.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail if the folder differs from what the code derives",
    )
    derive.add_argument(
        "--no-cache",
        action="store_true",
        help="rebuild and verify everything; neither read nor write the cache. By default a "
        "derivation whose sources are unchanged (its module, the modules it imports, the "
        "derivations it uses, the renderer; same SymPy/mpmath) is not rebuilt: its verified "
        "results, documents and the kernels are reused from $ADAMW_RMS_CACHE_DIR, else "
        "$XDG_CACHE_HOME/adamw-rms (~/.cache/adamw-rms). ADAMW_RMS_NO_CACHE=1 does the same",
    )
    derive.add_argument(
        "--profile",
        action="store_true",
        help="also print where the time went: import, keys, build per derivation, "
        "verification per check class, rendering, kernels",
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
    from .answers import (
        ESTIMATE_DESCRIPTION,
        SOLVE_DESCRIPTION,
        add_estimate_arguments,
        add_solve_arguments,
    )

    estimate = commands.add_parser(
        "estimate",
        help="predict the weight RMS of a run (constant lr or --schedule; preset torch)",
        description=ESTIMATE_DESCRIPTION,
    )
    add_estimate_arguments(estimate)
    solve = commands.add_parser(
        "solve",
        help="the weight decay that gives a target weight RMS",
        description=SOLVE_DESCRIPTION,
    )
    add_solve_arguments(solve)
    from .accuracy.cli import DESCRIPTION, add_accuracy_arguments

    accuracy = commands.add_parser(
        "accuracy",
        help="measure every formula on the grids -> data/accuracy*.csv, docs/accuracy.md",
        description=DESCRIPTION,
    )
    add_accuracy_arguments(accuracy)
    parser.set_defaults(_commands=dict(commands.choices))
    return parser


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [o for action in parser._actions for o in action.option_strings if o.startswith("--")]


def _initials(option: str) -> str:
    return "--" + "".join(word[:1] for word in option[2:].split("-") if word)


def suggest_option(unknown: str, options: Sequence[str]) -> str | None:
    """The option of ``options`` that ``unknown`` most likely meant, or ``None``.

    Tries, in order: the same words with ``_`` for ``-`` or another case, the initials of the
    words (``--learning-rate`` -> ``--lr``, ``--wd`` -> ``--weight-decay``), then the closest
    spelling (:func:`difflib.get_close_matches`).

    Examples
    --------
    >>> suggest_option("--learning-rate", ["--lr", "--lr-final", "--weight-decay"])
    '--lr'
    >>> suggest_option("--weight_decay", ["--lr", "--weight-decay"])
    '--weight-decay'
    """
    import difflib

    name = unknown.split("=", 1)[0]
    if not name.startswith("--"):
        return None
    plain = "--" + name[2:].replace("_", "-").lower()
    if plain in options:
        return plain
    for option in options:
        if _initials(plain) == option or _initials(option) == plain:
            return option
    close = difflib.get_close_matches(plain, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _reject_unknown(parser: argparse.ArgumentParser, args, extras: list[str]) -> NoReturn:
    """argparse's "unrecognized arguments" error, with a suggestion for a near-miss option."""
    command = getattr(args, "command", None)
    target = args._commands.get(command, parser) if command else parser
    message = f"unrecognized arguments: {' '.join(extras)}"
    options = _option_strings(target)
    hints = []
    for extra in extras:
        guess = suggest_option(extra, options)
        if guess is not None:
            hints.append(f"{extra.split('=', 1)[0]} -> {guess}")
    if len(hints) == 1:
        message += f" (did you mean {hints[0].split(' -> ')[1]}?)"
    elif hints:
        message += f" (did you mean: {'; '.join(hints)}?)"
    target.error(message)


#: The widest line of ``derive``'s table: the "verified by" column wraps to fit.
TABLE_WIDTH = 100


def _table(rows: list[tuple[str, ...]], wrap: int | None = None, width: int = TABLE_WIDTH) -> str:
    """Columns separated by two spaces, the last right-aligned. Column ``wrap`` (if given)
    is wrapped at ", " so that lines fit in ``width`` (at least 20 characters of it)."""
    import textwrap

    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    if wrap is not None:
        others = sum(w for k, w in enumerate(widths) if k != wrap) + 2 * (len(widths) - 1)
        widths[wrap] = min(widths[wrap], max(20, width - others))
    lines = []
    for row in rows:
        pieces = [row[wrap]] if wrap is None else _wrapped(row[wrap], widths[wrap], textwrap)
        for index, piece in enumerate(pieces):
            cells = [
                piece if k == wrap else (cell if index == 0 else "") for k, cell in enumerate(row)
            ]
            lines.append(
                "  ".join(
                    cell.ljust(w) if k < len(row) - 1 else cell.rjust(w)
                    for k, (cell, w) in enumerate(zip(cells, widths, strict=True))
                ).rstrip()
            )
    return "\n".join(lines)


def _wrapped(text: str, width: int, textwrap) -> list[str]:
    # Break between the items of a list ("a, b, c") rather than inside a name.
    items = text.split(", ")
    lines, current = [], ""
    for item in items:
        candidate = f"{current}, {item}" if current else item
        if current and len(candidate) + 1 > width:
            lines.append(current + ",")
            current = item
        else:
            current = candidate
    lines.append(current)
    return [piece for line in lines for piece in (textwrap.wrap(line, width) or [""])]


def _in_source_checkout() -> bool:
    """True when a pyproject.toml is in the working folder or one above it."""
    here = Path.cwd()
    return any((folder / "pyproject.toml").is_file() for folder in (here, *here.parents))


def _default_jobs() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 4))


def _build_order(names: Sequence[str], uses: dict, cost: dict) -> list[str]:
    """Dependencies first; among the derivations ready, the most expensive to verify first."""
    order: list[str] = []
    left = list(names)
    while left:
        ready = [n for n in left if all(u in order or u not in left for u in uses.get(n, ()))]
        ready = ready or left[:1]  # a cycle cannot happen; never loop forever on one
        best = max(ready, key=lambda n: (cost.get(n, 0.0), -left.index(n)))
        order.append(best)
        left.remove(best)
    return order


class _KernelFailure(str):
    """Why the estimator kernels could not be printed (reported after the steps' verdicts)."""


def _derive(args: argparse.Namespace) -> int:
    from .artifacts import (
        ArtifactError,
        differences,
        file_differences,
        write_atomically,
        write_file_atomically,
    )
    from .derive_cache import (
        Cache,
        CodeEntry,
        DerivationEntry,
        cache_disabled,
        registered_names,
        source_keys,
    )

    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    if args.check and not args.out.is_dir() and not _in_source_checkout():
        print(
            f"error: derive --check compares a source checkout's {args.out}/ folder, and there "
            f"is none here (no {args.out}/, no pyproject.toml in {Path.cwd()} or above); run "
            "it in the repository root or give --out",
            file=sys.stderr,
        )
        return 2
    start = time.perf_counter()
    profile: dict[str, float] = {}
    print_code = args.code_out.parent.is_dir()
    names = registered_names()
    use_cache = not (args.no_cache or cache_disabled())
    try:
        cache = Cache() if use_cache else None
    except (OSError, RuntimeError):  # no home folder to put it in: run without
        cache = None
    keys = source_keys(names, cache=cache)
    hits = {}
    code = None
    if cache is not None:
        hits = {n: e for n in names if (e := cache.load_derivation(n, keys.derivations[n]))}
        if print_code and (entry := cache.load_code(keys.code)) is not None:
            code = entry.source
    profile["source keys, cache lookup (wall)"] = time.perf_counter() - start
    todo = [n for n in names if n not in hits]
    trees: dict[str, dict[str, str]] = {n: hits[n].tree for n in hits}
    listings = {n: hits[n].listing for n in hits}
    results = {n: hits[n].verifications for n in hits}
    fresh_code = False
    if todo or (print_code and code is None):
        built = _build_and_verify(args, todo, keys, hits, cache, print_code and code is None)
        built_results, built_trees, built_listings, built_code, timings = built
        results.update(built_results)
        trees.update(built_trees)
        listings.update(built_listings)
        profile.update(timings)
        if print_code and code is None:
            code, fresh_code = built_code, True
    kernel_failure = code if isinstance(code, _KernelFailure) else None
    if kernel_failure is not None:
        code, fresh_code = None, False
    rows = [("step", "kind", "verified by", "result", "ms")]
    failed = errata = 0
    for name in names:
        for result in results[name]:
            verdict = "pass" if result.passed else "FAIL"
            if result.erratum:
                verdict += " (erratum)"
            failed += not result.passed
            errata += result.erratum
            rows.append(
                (
                    f"{name}.{result.step_id}",
                    getattr(result, "kind_value", None) or result.kind.value,
                    result.method,
                    verdict,
                    f"{result.elapsed_ms:.0f}",
                )
            )
    print(_table(rows, wrap=2))
    if cache is not None:
        for name in todo:
            if all(r.passed for r in results[name]):
                cache.store_derivation(
                    DerivationEntry(
                        name,
                        keys.derivations[name],
                        tuple(results[name]),
                        tuple(listings[name]),
                        trees[name],
                        sum(r.elapsed_ms for r in results[name]),
                    )
                )
        if fresh_code and not failed:
            cache.store_code(CodeEntry(keys.code, code))
    print()
    print(_cache_line(cache, names, hits, code is not None and not fresh_code, print_code))
    steps = len(rows) - 1
    if failed:
        print(f"\n{failed} of {steps} steps FAILED verification; nothing written.", file=sys.stderr)
        for name in names:
            for result in results[name]:
                for check in result.checks:
                    if not check.passed:
                        print(
                            f"  {name}.{result.step_id}: {check.method}: {check.detail}",
                            file=sys.stderr,
                        )
                if result.claim_problem:
                    print(
                        f"  {name}.{result.step_id}: source comparison: {result.claim_problem}",
                        file=sys.stderr,
                    )
        return 1
    if kernel_failure is not None:
        print(
            f"\nerror: printing the estimator kernels failed ({kernel_failure}); nothing written.",
            file=sys.stderr,
        )
        return 1
    tree = {path: text for name in names for path, text in trees[name].items()}
    if args.profile:
        _print_profile(profile, time.perf_counter() - start)
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


def _cache_line(cache, names, hits, code_reused: bool, print_code: bool) -> str:
    """One line saying what came from the cache (tests and benchmarks read it)."""
    if cache is None:
        return "cache: off; every derivation built and verified"
    reused = [n for n in names if n in hits]
    rebuilt = [n for n in names if n not in hits]
    kernels = ("kernels reused" if code_reused else "kernels printed") if print_code else ""
    parts = [
        f"cache {cache.directory}:",
        f"reused {', '.join(reused) or 'none'};",
        f"rebuilt {', '.join(rebuilt) or 'none'}" + (f"; {kernels}" if kernels else ""),
    ]
    line = " ".join(parts)
    for problem in cache.problems:
        line += f"\n  note: {problem}"
    return line


def _build_and_verify(args, todo, keys, hits, cache, need_code: bool):
    """Build and verify ``todo`` (and print the kernels if ``need_code``): outputs only."""
    timings: dict[str, float] = {}
    before = time.perf_counter()
    from .artifacts import render_one
    from .steps import build_and_verify

    timings["import SymPy and the engine (wall)"] = time.perf_counter() - before
    estimates = {n: cache.estimates(n) for n in todo} if cache is not None else {}
    # Milliseconds from an earlier run where there is one; else the module's size (a proxy).
    cost = {n: sum(estimates.get(n, {}).values()) or keys.sizes.get(n, 0) / 100 for n in todo}
    order = _build_order(todo, keys.uses, cost)
    trees, listings = {}, {}

    def verified(d) -> None:
        if all(r.passed for r in d.verify()):
            moment = time.process_time()
            trees[d.name] = render_one(d)
            spent = time.process_time() - moment
            timings["render documents (CPU s)"] = timings.get("render documents (CPU s)", 0) + spent
        listings[d.name] = tuple((s.id, s.kind.value, s.title, s.label or "") for s in d.steps)

    code_seconds = []

    def print_kernels() -> str:
        from .codegen import generated_source

        moment = time.process_time()
        try:
            return generated_source()
        except Exception as error:  # reported after the steps: a failed step explains it better
            return _KernelFailure(f"{type(error).__name__}: {error}")
        finally:
            code_seconds.append(time.process_time() - moment)

    profile = {} if args.profile else None
    moment = time.perf_counter()
    derivations, code = build_and_verify(
        order,
        jobs=args.jobs,
        meanwhile=print_kernels if need_code else None,
        known={n: [v.real() for v in e.verifications] for n, e in hits.items()},
        estimates=estimates,
        verified=verified,
        profile=profile,
    )
    timings["build and verify (wall)"] = time.perf_counter() - moment
    if code_seconds:
        timings["print the kernels (CPU s)"] = code_seconds[0]
    for key, value in (profile or {}).items():
        timings[key] = value
    results = {d.name: d.verify() for d in derivations}
    return results, trees, listings, code, timings


def _print_profile(profile: dict[str, float], total: float) -> None:
    checks = {k: v for k, v in profile.items() if not k[:1].islower()}
    stages = {k: v for k, v in profile.items() if k not in checks}
    print("\nprofile: stages (s; builds in CPU s, in this process)")
    for key, seconds in stages.items():
        print(f"  {key:<48} {seconds:8.3f}")
    print(f"  {'total (wall)':<48} {total:8.3f}")
    if checks:
        whole = sum(checks.values()) or 1.0
        print("profile: verification per check class (CPU s over all workers; exclusive)")
        for key, seconds in sorted(checks.items(), key=lambda kv: -kv[1]):
            print(f"  {key:<48} {seconds:8.3f}  {100 * seconds / whole:4.0f}%")


def _steps(args: argparse.Namespace) -> int:
    from .derive_cache import registered_names

    names = registered_names()
    if args.name is not None:
        if args.name not in names:
            print(
                f"error: unknown derivation {args.name!r}; known: {', '.join(names)}",
                file=sys.stderr,
            )
            return 2
        names = (args.name,)
    _KEYS.clear()
    for name in names:
        for step_id, kind, title, label in _listing(name):
            label = f"  ({label})" if label else ""
            print(f"{name}.{step_id:<22} {kind:>2}  {title}{label}")
    return 0


_KEYS: dict = {}  # the source keys, computed once per `steps` command


def _listing(name: str) -> tuple[tuple[str, ...], ...]:
    """``(id, kind, title, label)`` per step: from derive's cache if the sources are unchanged
    (no SymPy, no build), else from the built derivation, remembered in the cache so that the
    next ``steps`` starts at once (building every derivation takes seconds)."""
    from .derive_cache import Cache, cache_disabled, registered_names, source_keys

    cache = None
    if not cache_disabled():
        cache = Cache()
        if _KEYS.get("keys") is None:
            _KEYS["keys"] = source_keys(registered_names(), cache=cache)
        key = _KEYS["keys"].derivations[name]
        entry = cache.load_derivation(name, key)
        if entry is not None:
            return entry.listing
        listing = cache.load_listing(name, key)
        if listing is not None:
            return listing
    from .steps import derivation

    listing = tuple((s.id, s.kind.value, s.title, s.label or "") for s in derivation(name).steps)
    if cache is not None:
        cache.store_listing(name, key, listing)
    return listing


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
    parser = _parser()
    args, extras = parser.parse_known_args(argv)
    if extras:
        _reject_unknown(parser, args, extras)
    from .accuracy.cli import run_accuracy
    from .answers import run_estimate, run_solve
    from .simulation.cli import run_check, run_simulate

    handler = {
        "estimate": run_estimate,
        "solve": run_solve,
        "derive": _derive,
        "steps": _steps,
        "latex": _latex,
        "simulate": run_simulate,
        "check": run_check,
        "accuracy": run_accuracy,
    }[args.command]
    try:
        return handler(args)
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        # The reader went away (`adamw-rms steps | head`): stop quietly, as `cat` would, with
        # the status of a process ended by SIGPIPE; nothing more goes to the closed pipe.
        _silence_stdout()
        return EXIT_BROKEN_PIPE


# 128 + SIGPIPE: what a shell reports for a writer whose reader closed the pipe.
EXIT_BROKEN_PIPE = 141


def _stdout_closed() -> bool:
    """True when the reader of stdout has gone (a broken pipe elsewhere is a real error)."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return True  # stdout replaced by something without a descriptor: trust the error
    try:
        import select

        poller = select.poll()
        poller.register(descriptor, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, AttributeError):
        return True  # no poll() here: the error is most likely stdout's


def _silence_stdout() -> None:
    # The interpreter flushes stdout at exit; point the descriptor at /dev/null so that this
    # last flush cannot fail a second time (and print "Exception ignored ...").
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # no real descriptor (output captured in process): nothing will flush to a pipe


def run() -> NoReturn:
    """The program (``adamw-rms``, ``python -m adamw_rms``): :func:`main`, then exit.

    Once numba has compiled or loaded a kernel, the interpreter's shutdown takes about 0.1 s
    (numba's registries and LLVM torn down), as much as a small simulation, for nothing:
    ``simulate`` and ``check`` have written their output by then. So after flushing it, those
    two end the process at once; every other command (``accuracy``'s executors and files
    included) exits normally.
    """
    code = main()
    if sys.argv[1:2] in (["simulate"], ["check"]) and "numba" in sys.modules:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: let the normal exit deal with it
        else:
            os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()

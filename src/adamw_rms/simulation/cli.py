"""``adamw-rms simulate`` and ``adamw-rms check``: arguments, tables and JSON."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from ..cli_options import add_optimizer_arguments, learning_rates, resolve_settings, settings_line
from .config import UPDATE_RULES, SimulationConfig

__all__ = ["add_simulation_arguments", "run_check", "run_simulate"]

#: Trajectory points recorded for ``--plot`` (evenly spaced, including step 0).
PLOT_POINTS = 100


def _default_engine() -> str:
    from . import available_engines

    return available_engines()[0]


def add_simulation_arguments(parser: argparse.ArgumentParser, *, check: bool) -> None:
    """The options shared by ``simulate`` and ``check`` (defaults: the source's script)."""
    group = parser.add_argument_group(
        "configuration (defaults: the source's script -- n 10000, steps 100000, lr 1e-3, "
        "weight decay 0.1, betas 0.9/0.95, eps 0, no bias correction, init RMS 0.1; "
        "--preset torch: betas 0.9/0.999, eps 1e-8, bias correction on)"
    )
    add_optimizer_arguments(group, default_preset="source")
    group.add_argument("--n", type=int, default=10_000, help="coordinates (default 10000)")
    group.add_argument("--grad-std", type=float, default=1.0, help="gradient std (default 1)")
    group.add_argument("--seed", type=int, default=0, help="default 0")
    group.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    group.add_argument(
        "--update", choices=UPDATE_RULES, default="adamw",
        help="the optimizer: adamw, sign_sgdm (SignSGDMW), lion (betas reused), sgd "
        "(torch.optim.SGD; the options below) or adam_l2 (torch.optim.Adam with weight_decay)",
    )  # fmt: skip
    sgd = parser.add_argument_group("--update sgd (torch.optim.SGD's options and defaults)")
    sgd.add_argument("--momentum", type=float, default=0.0, help="in [0, 1) (default 0)")
    sgd.add_argument("--dampening", type=float, default=0.0, help="in [0, 1] (default 0)")
    sgd.add_argument(
        "--nesterov", action="store_true", help="Nesterov momentum (momentum > 0, dampening 0)"
    )
    sgd.add_argument(
        "--decoupled", action="store_true",
        help="decay the weights by 1 - lr*weight_decay (SGDW) instead of adding "
        "weight_decay*theta to the gradient (PyTorch's SGD)",
    )  # fmt: skip
    run = parser.add_argument_group("run")
    run.add_argument(
        "--engine",
        choices=("numba", "numpy", "torch"),
        default=None,
        help="default: numba when installed, else numpy",
    )
    run.add_argument("--device", default=None, help="torch engine: cpu, cuda, ... (default auto)")
    run.add_argument(
        "--fused",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="torch engine, AdamW: torch.optim.AdamW(fused=True/False); default: PyTorch's "
        "choice (fused=None: the for-loop on the CPU, foreach on CUDA)",
    )
    run.add_argument("--threads", type=int, default=None, help="numba engine: worker threads")
    run.add_argument("--json", action="store_true", help="print one JSON object instead")
    run.add_argument(
        "--no-progress", action="store_true", help="never show a progress bar (default: on long "
        "runs in a terminal)"
    )  # fmt: skip
    if check:
        run.add_argument(
            "--tolerance", type=float, default=0.01, metavar="FRACTION",
            help="a formula is 'accurate' where |predicted / simulated - 1| <= FRACTION + 2 SE "
            "(default 0.01: 1%%)",
        )  # fmt: skip
        run.add_argument(
            "--plot", default=None, metavar="PATH",
            help="draw the trajectory with each formula (needs matplotlib: the plot extra)",
        )  # fmt: skip


def _config(args: argparse.Namespace, record_steps: Any = None) -> SimulationConfig:
    return SimulationConfig(
        lr=learning_rates(args),
        weight_decay=args.weight_decay,
        beta1=args.beta1,
        beta2=args.beta2,
        eps=args.eps,
        bias_correction=args.bias_correction,
        steps=args.steps,
        n=args.n,
        grad_mean=math.sqrt(args.snr) * args.grad_std,
        grad_std=args.grad_std,
        init_rms=args.init_rms,
        seed=args.seed,
        dtype=args.dtype,
        record_steps=record_steps,
        update=args.update,
        momentum=args.momentum,
        dampening=args.dampening,
        nesterov=args.nesterov,
        decoupled=args.decoupled,
    )


def _run(args: argparse.Namespace, config: SimulationConfig) -> Any:
    from . import simulate

    engine = args.engine or _default_engine()
    options: dict[str, Any] = {"progress": False if args.no_progress else None}
    if engine == "numba":
        # This process's idle OpenMP threads sleep rather than spin (libgomp spins for a while
        # by default): on a busy machine a spinning thread takes the core from the one still
        # working, 10-20 ms per kernel call. Read when numba starts its threads, just below; a
        # value the user set wins. (Not for torch: its own OpenMP threads may prefer to spin.)
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.threads is not None:
        if engine != "numba":
            raise ValueError("--threads applies to the numba engine only")
        options["threads"] = args.threads
    if args.device is not None:
        if engine != "torch":
            raise ValueError("--device applies to the torch engine only")
        options["device"] = args.device
    if args.fused is not None:
        if engine != "torch":
            raise ValueError("--fused/--no-fused apply to the torch engine only")
        options["fused"] = args.fused
    return simulate(config, engine=engine, **options)


def _settings(args: argparse.Namespace) -> str:
    """:func:`settings_line`, and the update rule where it is not AdamW (with SGD's options)."""
    line = settings_line(args)
    if args.update == "adamw":
        return line
    line += f", update {args.update}"
    if args.update == "sgd":
        line += (
            f" (momentum {args.momentum:g}, dampening {args.dampening:g}"
            + (", Nesterov" if args.nesterov else "")
            + (", decoupled decay" if args.decoupled else ", coupled (L2) decay")
            + ")"
        )
    return line


def _guarded(body):
    def handler(args: argparse.Namespace) -> int:
        try:
            return body(args)
        except (ValueError, ImportError, OverflowError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    return handler


@_guarded
def run_simulate(args: argparse.Namespace) -> int:
    resolve_settings(args)
    result = _run(args, _config(args))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=True))
    else:
        print(_settings(args))
        print(result)
    return 0


@_guarded
def run_check(args: argparse.Namespace) -> int:
    from ..comparison import check_tolerance, compare, comparison_table

    tolerance = check_tolerance(args.tolerance)  # before a long simulation, not after it
    resolve_settings(args)
    record = None
    if args.plot:
        count = min(PLOT_POINTS, args.steps)
        record = sorted({round(k * args.steps / count) for k in range(count + 1)})
    config = _config(args, record)
    if args.plot:
        from ..plot import require_matplotlib

        require_matplotlib()
    result = _run(args, config)
    rows = compare(result, tolerance=tolerance)
    if args.json:
        record_out = result.to_dict()
        record_out["formulas"] = [row.to_dict() for row in rows]
        print(json.dumps(record_out, indent=2, allow_nan=True))
    else:
        print(_settings(args))
        source = (
            config.to_dict()
            == SimulationConfig.source(
                steps=config.steps, n=config.n, seed=config.seed, record_steps=config.record_steps
            ).to_dict()
        )
        if source:
            print("the source's script settings (its printed value: about 0.0707)")
        print(result)
        print()
        print(comparison_table(rows) if rows else "no formula applies to this configuration")
    if args.plot:
        from ..plot import plot_trajectory

        plot_trajectory(result, args.plot)
        if not args.json:
            print(f"\nwrote {args.plot}")
    return 0

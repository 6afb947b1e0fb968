"""``adamw-rms estimate`` and ``adamw-rms solve``: the estimators from the command line.

``estimate`` predicts the weight RMS of a run (constant or scheduled learning rate) without
simulating it; ``solve`` gives the weight decay that reaches a target RMS. Both print the
settings they ran with first; ``--json`` prints one object instead.

Weight-decay convention (PyTorch's ``torch.optim.AdamW``):
``theta <- theta - lr_t * (u + weight_decay_t * theta)``. Under a schedule, a *constant* weight
decay (``solve``'s default, what PyTorch does when only the lr is scheduled) keeps
``weight_decay_t`` fixed, so the decay per step ``lr_t * weight_decay`` follows the lr; a
*proportional* one (``solve --proportional``) schedules the weight decay with the lr as well,
``weight_decay_t = weight_decay * lr_t / max(lr)`` (decay per step proportional to
``lr_t**2``), and reports ``weight_decay``, its value at the peak rate.

Examples
--------
>>> from adamw_rms.__main__ import main
>>> main(["solve", "--target-rms", "0.05", "--lr", "1e-3"])  # doctest: +ELLIPSIS
settings: lr 0.001, target RMS 0.05, at equilibrium, SNR 0
weight decay 0.2 ...
0
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from .cli_options import (
    add_optimizer_arguments,
    add_schedule_arguments,
    learning_rates,
    resolve_settings,
    schedule_text,
    settings_line,
)

__all__ = [
    "add_estimate_arguments",
    "add_solve_arguments",
    "estimate",
    "measured_accuracy",
    "run_estimate",
    "run_solve",
    "solve",
]

ESTIMATE_DESCRIPTION = (
    "Predict the weight RMS of an AdamW run from the derived formulas (no simulation): the "
    "final value, the peak, the equilibrium at the peak learning rate and the timescale "
    "1/(lr*wd), with the method used and its measured accuracy. The default preset is torch "
    "(PyTorch AdamW's defaults), since that is what most runs use; --preset source gives the "
    "blog's script."
)
SOLVE_DESCRIPTION = (
    "The weight decay that gives a target weight RMS: at equilibrium (default), after --steps "
    "steps at a constant lr, or at the end of a --schedule (needs --steps). Under a schedule "
    "the weight decay is constant by default (PyTorch: only the lr is scheduled, the decay per "
    "step lr_t*wd follows it); --proportional schedules it with the lr, wd_t = wd * lr_t / "
    "max(lr), and reports wd at the peak."
)


def add_estimate_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``estimate`` (the optimizer settings of ``simulate``, preset torch)."""
    add_optimizer_arguments(parser, default_preset="torch")
    parser.add_argument(
        "--formula",
        choices=("mean_field", "corrected"),
        default="mean_field",
        help="mean_field: the source's formula (default); corrected: with --beta2, "
        "--bias-correction and --eps (gradient std 1): within 0.5%% + 2 SE of simulated AdamW",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument(
        "--trajectory",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="also write step, lr, weight_rms for every step (CSV)",
    )


def add_solve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``solve``."""
    parser.add_argument(
        "--target-rms", type=float, required=True, help="the weight RMS wanted (> 0)"
    )
    add_schedule_arguments(parser, lr_required=True)
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="the length of the run (default: the equilibrium, infinitely many steps; needed "
        "with --schedule)",
    )
    parser.add_argument(
        "--proportional",
        action="store_true",
        help="with --schedule: the weight decay follows the lr (wd_t = wd * lr_t / max lr)",
    )
    parser.add_argument(
        "--beta1", type=float, default=0.9, help="momentum, used under a schedule (0.9)"
    )
    parser.add_argument("--snr", type=float, default=None, help="gradient mean^2 / variance (0)")
    parser.add_argument(
        "--init-rms", type=float, default=None, help="RMS of theta_0 (0.1; not at equilibrium)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")


def measured_accuracy(
    *, scheduled: bool, bias_correction: bool, formula: str = "mean_field"
) -> dict[str, Any]:
    """The measured range of ``predicted / simulated - 1`` of the method ``estimate`` uses.

    Constant lr: eq:theta-rms (``theta_rms`` rows of ``data/accuracy.csv``; ``formula=
    "corrected"``: the ``theta_rms_corrected`` rows) at the same bias correction; schedule: the
    trajectory of the same formula (``mean_field`` or ``corrected`` rows of
    ``data/accuracy_schedules.csv``, measured at the source's settings). Keys ``low``,
    ``high``, ``points`` and ``where`` (what was measured); ``low``/``high`` are ``None`` when
    the data are not there.

    Examples
    --------
    >>> band = measured_accuracy(scheduled=True, bias_correction=False)
    >>> band["low"] < 0 < band["high"] < 0.01
    True
    """
    from .data import accuracy_table, schedule_table

    if scheduled:
        table = schedule_table()
        pick = table["method"] == formula if table else []
        errors = [float(e) for e in table["rel_error"][pick]] if table else []
        runs = len(set(table["schedule"][pick])) if table else 0
        where = (
            f"the schedule study: {runs} schedules x {len(errors) // max(runs, 1)} points, "
            "source settings (docs/accuracy.md)"
        )
    else:
        table = accuracy_table()
        if table:
            name = "theta_rms_corrected" if formula == "corrected" else "theta_rms"
            pick = (
                (table["formula"] == name)
                & (table["bias_correction"] == float(bias_correction))
                & (table["weight_decay"] > 0)
            )
            errors = [float(e) for e in table["rel_error"][pick]]
        else:
            errors = []
        state = "with" if bias_correction else "without"
        where = f"the accuracy grid {state} bias correction (docs/accuracy.md)"
    if not errors:
        return {"low": None, "high": None, "points": 0, "where": where}
    return {"low": min(errors), "high": max(errors), "points": len(errors), "where": where}


def estimate(args: argparse.Namespace) -> dict[str, Any]:
    """The answers of ``estimate`` for resolved ``args`` (:func:`resolve_settings`).

    Keys: ``weight_rms`` (after the last step), ``peak_weight_rms`` and ``peak_step``,
    ``equilibrium_weight_rms`` (at the peak lr), ``timescale`` (steps, ``1/(lr*wd)`` at the
    peak lr), ``method``, ``measured_error`` (:func:`measured_accuracy`), ``settings`` and
    ``trajectory`` (``(lr, weight_rms)`` per step, not in the JSON).
    """
    import numpy as np

    from .estimators import equilibrium_weight_rms, timescale, weight_rms, weight_rms_trajectory

    if args.steps < 1:
        raise ValueError(f"--steps must be at least 1; got {args.steps}")
    lr = learning_rates(args)
    scheduled = not isinstance(lr, float)
    wd = args.weight_decay
    formula = getattr(args, "formula", "mean_field")
    corrected = formula == "corrected"
    options = (
        {"beta2": args.beta2, "bias_correction": bool(args.bias_correction), "eps": args.eps}
        if corrected
        else {}
    )
    if scheduled:
        rates = np.asarray(lr, dtype=float)
        method_name = "corrected" if corrected else "mean_field"
        trajectory = weight_rms_trajectory(
            rates, wd, beta1=args.beta1, snr=args.snr, init_rms=args.init_rms,
            method=method_name, **options,
        )  # fmt: skip
        method = f"{method_name.replace('_', ' ')} trajectory (weight_rms_trajectory, " + (
            f"method='{method_name}')"
        )
    else:
        rates = np.full(args.steps, lr)
        if corrected:
            trajectory = weight_rms_trajectory(
                rates, wd, beta1=args.beta1, snr=args.snr, init_rms=args.init_rms,
                method="corrected", **options,
            )  # fmt: skip
            method = "corrected (weight_rms_trajectory, method='corrected')"
        else:
            trajectory = np.asarray(
                weight_rms(
                    lr, wd, steps=np.arange(1, args.steps + 1), snr=args.snr,
                    init_rms=args.init_rms,
                ),
                dtype=float,
            )  # fmt: skip
            method = "eq:theta-rms (weight_rms)"
    peak_lr = float(rates.max())
    if wd > 0 and peak_lr > 0:
        if corrected:
            equilibrium = weight_rms(
                peak_lr, wd, beta1=args.beta1, steps=math.inf, snr=args.snr,
                formula="corrected", **options,
            )  # fmt: skip
        elif args.snr == 0:
            equilibrium = equilibrium_weight_rms(peak_lr, wd)
        else:
            equilibrium = weight_rms(peak_lr, wd, steps=math.inf, snr=args.snr)
        time = timescale(peak_lr, wd)
    else:  # no decay: the weights never settle
        equilibrium, time = math.inf, math.inf
    peak = int(np.argmax(trajectory))
    return {
        "weight_rms": float(trajectory[-1]),
        "peak_weight_rms": float(trajectory[peak]),
        "peak_step": peak + 1,
        "equilibrium_weight_rms": float(equilibrium),
        "peak_lr": peak_lr,
        "timescale": float(time),
        "method": method,
        "measured_error": measured_accuracy(
            scheduled=scheduled, bias_correction=args.bias_correction, formula=formula
        ),
        "settings": _settings(args),
        "trajectory": (rates, trajectory),
    }


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "preset", "lr", "schedule", "lr_final", "warmup_steps", "decay_steps", "weight_decay",
        "beta1", "beta2", "eps", "bias_correction", "steps", "snr", "init_rms",
    )  # fmt: skip
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:+.2f}%"


def _guarded(body):
    def handler(args: argparse.Namespace) -> int:
        try:
            return body(args)
        except (ValueError, TypeError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    handler.__doc__ = body.__doc__
    return handler


@_guarded
def run_estimate(args: argparse.Namespace) -> int:
    """``adamw-rms estimate``: print the answers (or ``--json``), write ``--trajectory``."""
    resolve_settings(args)
    answers = estimate(args)
    rates, trajectory = answers.pop("trajectory")
    if args.trajectory is not None:
        from .artifacts import write_file_atomically

        lines = ["step,lr,weight_rms"]
        lines += [
            f"{k + 1},{float(r)!r},{float(w)!r}"
            for k, (r, w) in enumerate(zip(rates, trajectory, strict=True))
        ]
        try:
            write_file_atomically("\n".join(lines) + "\n", args.trajectory)
        except OSError as error:
            print(f"error: --trajectory: {error}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps(answers, indent=2, allow_nan=True))
        return 0
    band = answers["measured_error"]
    print(settings_line(args))
    equilibrium = f"{answers['equilibrium_weight_rms']:.6g}"
    if args.snr == 0 and getattr(args, "formula", "mean_field") == "mean_field":
        equilibrium += "  (sqrt(lr / (2 wd)))"
    rows = [
        (f"weight RMS after {args.steps} steps", f"{answers['weight_rms']:.6g}"),
        (
            "peak over the run",
            f"{answers['peak_weight_rms']:.6g} (after step {answers['peak_step']})",
        ),
        (f"equilibrium at lr {answers['peak_lr']:g}", equilibrium),
        ("timescale 1/(lr wd)", f"{answers['timescale']:.6g} steps"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    print(
        f"method: {answers['method']}; measured {_percent(band['low'])} ... "
        f"{_percent(band['high'])} of simulated AdamW over {band['points']} points of "
        f"{band['where']}"
    )
    if args.trajectory is not None:
        print(f"wrote {args.trajectory}")
    return 0


def solve(args: argparse.Namespace) -> dict[str, Any]:
    """The weight decay of ``solve`` for ``args``: keys ``weight_decay``, ``mode``,
    ``weight_rms`` (the estimate at that weight decay, a round trip) and ``settings``."""
    from .estimators import solve_schedule_weight_decay, solve_weight_decay, weight_rms

    snr = 0.0 if args.snr is None else args.snr
    settings = {
        "target_rms": args.target_rms, "lr": args.lr, "schedule": args.schedule,
        "lr_final": args.lr_final, "warmup_steps": args.warmup_steps,
        "decay_steps": args.decay_steps, "steps": args.steps, "beta1": args.beta1, "snr": snr,
        "init_rms": args.init_rms, "proportional": args.proportional,
    }  # fmt: skip
    if args.schedule == "constant":
        if args.proportional:
            raise ValueError("--proportional needs --schedule (with a constant lr it is constant)")
        learning_rates(args)  # rejects schedule options without --schedule
        if args.steps is None:
            if args.init_rms is not None:
                raise ValueError("--init-rms needs --steps (the equilibrium forgets it)")
            decay = solve_weight_decay(args.target_rms, args.lr, snr=snr)
            reached = weight_rms(args.lr, decay, steps=math.inf, snr=snr)
            mode = "at equilibrium"
        else:
            init = 0.1 if args.init_rms is None else args.init_rms
            settings["init_rms"] = init
            decay = solve_weight_decay(
                args.target_rms, args.lr, steps=args.steps, snr=snr, init_rms=init
            )
            reached = weight_rms(args.lr, decay, steps=args.steps, snr=snr, init_rms=init)
            mode = f"after {args.steps} steps (eq:theta-rms)"
    else:
        import numpy as np

        from .estimators import weight_rms_trajectory

        rates = np.asarray(learning_rates(args), dtype=float)
        init = 0.1 if args.init_rms is None else args.init_rms
        settings["init_rms"] = init
        shape = rates / rates.max() if args.proportional else None
        decay = solve_schedule_weight_decay(
            args.target_rms, rates, weight_decay_shape=shape, beta1=args.beta1, snr=snr,
            init_rms=init, method="mean_field",
        )  # fmt: skip
        applied = decay if shape is None else decay * shape
        reached = float(
            weight_rms_trajectory(rates, applied, beta1=args.beta1, snr=snr, init_rms=init)[-1]
        )
        kind = "proportional to the lr, value at the peak" if args.proportional else "constant"
        mode = f"at the end of the {args.schedule} schedule, mean field; weight decay {kind}"
    return {
        "weight_decay": float(decay),
        "mode": mode,
        "weight_rms": float(reached),
        "settings": settings,
    }


@_guarded
def run_solve(args: argparse.Namespace) -> int:
    """``adamw-rms solve``: print the weight decay (or ``--json``)."""
    answer = solve(args)
    if args.json:
        print(json.dumps(answer, indent=2, allow_nan=True))
        return 0
    s = answer["settings"]
    parts = [schedule_text(args), f"target RMS {args.target_rms:g}"]
    parts.append("at equilibrium" if args.steps is None else f"steps {args.steps}")
    if args.schedule != "constant":
        parts.append(f"beta1 {args.beta1:g}")
    if s["init_rms"] is not None:
        parts.append(f"init RMS {s['init_rms']:g}")
    parts.append(f"SNR {s['snr']:g}")
    print("settings: " + ", ".join(parts))
    print(
        f"weight decay {answer['weight_decay']:.10g}  ({answer['mode']}; the estimate there: "
        f"RMS {answer['weight_rms']:.6g})"
    )
    return 0

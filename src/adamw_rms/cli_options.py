"""Options shared by ``simulate``, ``check``, ``estimate`` and ``solve``: presets and schedules.

One definition of the optimizer settings (``--preset``, ``--lr``, ``--schedule`` ...), of how a
preset and explicit options combine, of the learning-rate schedule they describe and of the
one-line summary every text output starts with. Light: NumPy and the schedules are imported
only when a schedule is built, so that building the parser stays fast.

Examples
--------
>>> import argparse
>>> from adamw_rms.cli_options import add_optimizer_arguments, resolve_settings
>>> parser = argparse.ArgumentParser()
>>> add_optimizer_arguments(parser, default_preset="torch")
>>> args = resolve_settings(parser.parse_args(["--beta2", "0.95"]))
>>> args.beta1, args.beta2, args.eps, args.bias_correction
(0.9, 0.95, 1e-08, True)
"""

from __future__ import annotations

import argparse
import math
from typing import Any

__all__ = [
    "PRESETS",
    "SCHEDULE_CHOICES",
    "add_optimizer_arguments",
    "add_schedule_arguments",
    "learning_rates",
    "resolve_settings",
    "schedule_text",
    "settings_line",
]

#: The optimizer settings of each preset: what ``--preset`` fills in where no option is given.
PRESETS: dict[str, dict[str, Any]] = {
    # torch.optim.AdamW's defaults (it always applies Adam's bias correction).
    "torch": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "bias_correction": True},
    # The source's script: betas 0.9/0.95, no eps, no bias correction.
    "source": {"beta1": 0.9, "beta2": 0.95, "eps": 0.0, "bias_correction": False},
}
PRESET_HELP = {
    "torch": "PyTorch AdamW's defaults (betas 0.9/0.999, eps 1e-8, bias correction on)",
    "source": "the blog's script (betas 0.9/0.95, eps 0, no bias correction)",
}

#: Defaults of the settings that no preset sets (the source's run).
COMMON_DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,
    "weight_decay": 0.1,
    "steps": 100_000,
    "snr": 0.0,
    "init_rms": 0.1,
}

#: ``--schedule`` values (the shapes of :data:`adamw_rms.schedules.SCHEDULES`, kept in step by a
#: test; listed here so that the parser needs no NumPy).
SCHEDULE_CHOICES = ("constant", "linear", "cosine", "wsd")


def add_schedule_arguments(group: Any, *, lr_required: bool = False) -> None:
    """``--lr`` and the schedule options (``--schedule``, ``--lr-final``, ``--warmup-steps``,
    ``--decay-steps``), all defaulting to ``None`` (resolved by :func:`resolve_settings`)."""
    group.add_argument(
        "--lr",
        type=float,
        default=None,
        required=lr_required,
        help="learning rate, the peak of a schedule" + ("" if lr_required else " (default 1e-3)"),
    )
    group.add_argument(
        "--schedule", choices=SCHEDULE_CHOICES, default="constant",
        help="learning-rate schedule (default constant); --lr is its peak or start",
    )  # fmt: skip
    group.add_argument(
        "--lr-final", type=float, default=None,
        help="linear / cosine: the final learning rate (default lr / 10)",
    )  # fmt: skip
    group.add_argument(
        "--warmup-steps", type=int, default=None, help="linear warmup from 0 (default 0)"
    )
    group.add_argument(
        "--decay-steps", type=int, default=None, help="wsd: length of the final decay (20%%)"
    )


def add_optimizer_arguments(parser: Any, *, default_preset: str) -> None:
    """``--preset`` and the optimizer settings, every one defaulting to ``None``.

    Call :func:`resolve_settings` after parsing: an option given explicitly wins over the
    preset, the preset over :data:`COMMON_DEFAULTS`.
    """
    parser.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default=default_preset,
        help=f"optimizer defaults (default {default_preset}): "
        + "; ".join(f"{k} = {v}" for k, v in PRESET_HELP.items())
        + ". Options given explicitly override it",
    )
    add_schedule_arguments(parser)
    parser.add_argument("--weight-decay", type=float, default=None, help="default 0.1")
    for name in ("--beta1", "--beta2", "--eps"):
        parser.add_argument(name, type=float, default=None, help="default: the preset's")
    parser.add_argument(
        "--bias-correction",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Adam's bias correction (preset; torch always applies it)",
    )
    parser.add_argument("--steps", type=int, default=None, help="default 100000")
    parser.add_argument(
        "--snr", type=float, default=None, help="gradient mean^2 / variance (default 0)"
    )
    parser.add_argument("--init-rms", type=float, default=None, help="RMS of theta_0 (default 0.1)")


def resolve_settings(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the options left at ``None`` from the preset, then :data:`COMMON_DEFAULTS`.

    Returns ``args`` itself, changed in place.
    """
    preset = PRESETS[getattr(args, "preset", None) or "source"]
    for name, value in {**COMMON_DEFAULTS, **preset}.items():
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, value)
    if getattr(args, "warmup_steps", 0) is None:
        args.warmup_steps = 0
    if hasattr(args, "snr") and not (math.isfinite(args.snr) and args.snr >= 0):
        raise ValueError(f"--snr must be in [0, inf); got {args.snr!r}")
    return args


def learning_rates(args: argparse.Namespace) -> Any:
    """``--lr`` itself (a float), or the per-step array of ``--schedule`` over ``--steps``."""
    warmup = args.warmup_steps or 0
    if args.schedule == "constant":
        if args.lr_final is not None or args.decay_steps is not None or warmup:
            raise ValueError("--lr-final, --warmup-steps and --decay-steps need --schedule")
        return args.lr
    from .schedules import SCHEDULES

    if args.steps is None:
        raise ValueError(f"--schedule {args.schedule} needs --steps (the length of the run)")
    final = args.lr / 10 if args.lr_final is None else args.lr_final
    if args.schedule == "wsd":
        if args.lr_final is not None:
            raise ValueError("--lr-final does not apply to --schedule wsd (it decays to 0)")
        return SCHEDULES["wsd"](args.lr, args.steps, warmup=warmup, decay=args.decay_steps)
    if args.decay_steps is not None:
        raise ValueError("--decay-steps applies to --schedule wsd only")
    return SCHEDULES[args.schedule](args.lr, final, args.steps, warmup=warmup)


def schedule_text(args: argparse.Namespace) -> str:
    """``--lr`` and ``--schedule`` in words (``lr cosine 0.0003 -> 3e-05, warmup 2000``)."""
    if args.schedule == "constant":
        return f"lr {args.lr:g}"
    warmup = f", warmup {args.warmup_steps}" if args.warmup_steps else ""
    if args.schedule == "wsd":
        decay = args.decay_steps if args.decay_steps is not None else max(1, args.steps // 5)
        return f"lr wsd, peak {args.lr:g}{warmup}, decay {decay}"
    final = args.lr / 10 if args.lr_final is None else args.lr_final
    return f"lr {args.schedule} {args.lr:g} -> {final:g}{warmup}"


def settings_line(args: argparse.Namespace) -> str:
    """The settings a command ran with, on one line (every text output starts with it)."""
    parts = [f"settings ({args.preset} preset):", schedule_text(args)]
    if getattr(args, "weight_decay", None) is not None:
        parts.append(f"weight decay {args.weight_decay:g}")
    parts.append(f"betas {args.beta1:g}/{args.beta2:g}, eps {args.eps:g}")
    parts.append(f"bias correction {'on' if args.bias_correction else 'off'}")
    if getattr(args, "steps", None) is not None:
        parts.append(f"steps {args.steps}")
    if getattr(args, "init_rms", None) is not None:
        parts.append(f"init RMS {args.init_rms:g}")
    parts.append(f"SNR {args.snr:g}")
    return parts[0] + " " + ", ".join(parts[1:])

"""``accuracy.md``: each study's section, assembled from the CSVs; the shared number formats."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..data import FILES, read_csv, read_muon_csv, read_optimizer_csv, read_schedule_csv

__all__ = ["document", "error_range", "pct", "power_of_ten", "scientific"]

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def pct(value: float) -> str:
    """A signed percentage with two decimals, ``n/a`` when not finite."""
    return f"{value:+.2%}" if math.isfinite(value) else "n/a"


def error_range(errors: np.ndarray) -> str:
    """``min … max`` of relative errors as percentages, ``-`` when there are none."""
    if not errors.size:
        return "-"
    return f"{pct(float(errors.min()))} … {pct(float(errors.max()))}"


def power_of_ten(count: int) -> str:
    """``100000`` as ``10⁵``; a count that is not a power of ten as it is."""
    exponent = round(math.log10(count)) if count > 0 else 0
    if count > 1 and 10**exponent == count:
        return "10" + str(exponent).translate(_SUPERSCRIPTS)
    return str(count)


def scientific(value: float) -> str:
    """``1e-4`` for 0.0001: the shortest mantissa, the exponent without padding."""
    mantissa, exponent = f"{value:.12e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def document(directory: Path, size: str = "full") -> str:
    """``accuracy.md`` from the CSVs in ``directory``.

    Parameters
    ----------
    directory
        Holds ``accuracy.csv`` (required) and, optionally, the other studies' files; each
        present file adds its section.
    size
        The size the CSVs were measured at (``"full"`` or ``"small"``): the grids and the
        target SE the text quotes.

    Returns
    -------
    str
        The Markdown text; a pure function of the files, so the committed report is
        reproduced byte for byte from the committed CSVs.
    """
    from . import eps, grid, muon, optimizers, schedules, sign

    directory = Path(directory)
    text = grid.report(read_csv(directory / FILES["grid"]), size)
    if (directory / FILES["eps"]).exists():
        text += "\n" + eps.report(read_csv(directory / FILES["eps"]), size)
    if (directory / FILES["sign"]).exists():
        text += "\n" + sign.report(read_csv(directory / FILES["sign"]), size)
    if (directory / FILES["schedules"]).exists():
        text += "\n" + schedules.report(read_schedule_csv(directory / FILES["schedules"]), size)
    if (directory / FILES["optimizers"]).exists():
        text += "\n" + optimizers.report(read_optimizer_csv(directory / FILES["optimizers"]), size)
    if (directory / FILES["muon"]).exists():
        text += "\n" + muon.report(read_muon_csv(directory / FILES["muon"]), size)
    return text

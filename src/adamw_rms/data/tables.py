"""The accuracy tables as files: columns, one row's derived fields, CSV writer and readers.

Every study writes one CSV (:data:`FILES`); numbers are printed with 10 significant digits, so
a file is a pure function of its rows and two runs that agree bit for bit write the same bytes.
"""

from __future__ import annotations

import csv
import io
import math
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ACCURACY_FILES",
    "COLUMNS",
    "EPS_COLUMNS",
    "FILES",
    "MUON_COLUMNS",
    "OPTIMIZER_COLUMNS",
    "SCHEDULE_COLUMNS",
    "accuracy_table",
    "eps_table",
    "point_row",
    "read_csv",
    "read_muon_csv",
    "read_optimizer_csv",
    "read_schedule_csv",
    "schedule_table",
    "write_csv",
    "z_score",
]

#: The columns of ``accuracy.csv`` and ``accuracy_sign.csv``.
COLUMNS = (
    "formula", "beta1", "beta2", "snr", "decay", "t_decay", "step", "bias_correction",
    "init_rms", "lr", "weight_decay", "n", "predicted", "simulated", "se", "rel_se",
    "rel_error", "z",
)  # fmt: skip
#: ``accuracy_eps.csv``: the grid's columns after eps, the gradient std sigma and eps / sigma.
EPS_COLUMNS = ("eps", "grad_std", "eps_over_sigma", *COLUMNS)
#: ``accuracy_schedules.csv``.
SCHEDULE_COLUMNS = ("schedule", "method", "step", "n", "predicted", "simulated", "se", "rel_se",
                    "rel_error", "z")  # fmt: skip
#: ``accuracy_optimizers.csv``: Lion, SGD with momentum, Adam with L2.
OPTIMIZER_COLUMNS = (
    "optimizer", "setting", "formula", "snr", "grad_std", "lr", "weight_decay", "t_decay",
    "step", "n", "predicted", "simulated", "se", "rel_se", "rel_error", "z",
)  # fmt: skip
#: ``accuracy_muon.csv``: one row per run of the real ``torch.optim.Muon`` (shape ``rows x cols``,
#: ``matrices`` parameters, the weight RMS at the last step) and the three predictions of it:
#: ``muon_weight_rms`` (``estimate``) and the models ``kappa = 1`` and ``kappa = (1+b)/(1-b)``.
MUON_COLUMNS = (
    "rows", "cols", "adjust_lr_fn", "momentum", "nesterov", "lr", "weight_decay", "steps",
    "timescales", "matrices", "simulated", "se", "rel_se", "estimate", "kappa_one",
    "kappa_linear", "rel_error_estimate", "rel_error_kappa_one", "rel_error_kappa_linear",
    "z_estimate", "effective_kappa",
)  # fmt: skip
#: Study -> the file its rows are written to (the same names in any output folder).
FILES = {
    "grid": "accuracy.csv",
    "eps": "accuracy_eps.csv",
    "sign": "accuracy_sign.csv",
    "schedules": "accuracy_schedules.csv",
    "optimizers": "accuracy_optimizers.csv",
    "muon": "accuracy_muon.csv",
}
#: The files whose points give the measured accuracy bands (:mod:`adamw_rms.comparison`).
ACCURACY_FILES = (FILES["grid"], FILES["sign"])


def point_row(
    formula: str, beta1: float, beta2: float, snr: float, n: int, predicted: float,
    simulated: float, se: float, **where: Any,
) -> dict[str, Any]:  # fmt: skip
    """One row of :data:`COLUMNS`: ``where`` holds the columns between ``snr`` and ``n``;
    ``rel_se``, ``rel_error`` and ``z`` are computed here (``z`` is ``±inf`` where a sample
    without spread differs from the prediction, as :attr:`adamw_rms.comparison.Comparison.z`)."""
    return {
        "formula": formula, "beta1": beta1, "beta2": beta2, "snr": snr, **where, "n": n,
        "predicted": predicted, "simulated": simulated, "se": se, "rel_se": se / simulated,
        "rel_error": predicted / simulated - 1.0, "z": z_score(predicted, simulated, se),
    }  # fmt: skip


def z_score(predicted: float, simulated: float, se: float) -> float:
    """``(predicted - simulated) / se``; with ``se = 0``: 0 if they agree, else ``±inf``."""
    if se > 0:
        return (predicted - simulated) / se
    return 0.0 if predicted == simulated else math.copysign(math.inf, predicted - simulated)


def write_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    """The CSV text of ``rows`` (floats with 10 significant digits, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows written by :func:`write_csv`, numbers as floats."""
    rows = []
    with Path(path).open(encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            rows.append({k: v if k == "formula" else float(v) for k, v in raw.items()})
    return rows


def read_schedule_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of ``accuracy_schedules.csv``, numbers as floats."""
    rows = []
    with Path(path).open(encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            rows.append({k: v if k in ("schedule", "method") else float(v) for k, v in raw.items()})
    return rows


def read_optimizer_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of ``accuracy_optimizers.csv``, numbers as floats."""
    text_columns = ("optimizer", "setting", "formula")
    rows = []
    with Path(path).open(encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            rows.append({k: v if k in text_columns else float(v) for k, v in raw.items()})
    return rows


def read_muon_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of ``accuracy_muon.csv``: ``adjust_lr_fn`` as written (``"None"`` for torch's
    default), ``nesterov`` as a bool, every other column as a float."""
    rows = []
    with Path(path).open(encoding="utf-8") as stream:
        for raw in csv.DictReader(stream):
            row: dict[str, Any] = {k: float(v) for k, v in raw.items()
                                   if k not in ("adjust_lr_fn", "nesterov")}  # fmt: skip
            row["adjust_lr_fn"] = raw["adjust_lr_fn"]
            row["nesterov"] = {"True": True, "False": False}[raw["nesterov"]]
            rows.append({k: row[k] for k in raw})
    return rows


def _columns(rows: list[dict[str, str]]) -> dict[str, np.ndarray]:
    """CSV rows as columns: floats where every value parses, else strings."""
    columns: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        try:
            columns[key] = np.array([float(v) for v in values])
        except ValueError:
            columns[key] = np.array(values)
    return columns


@cache
def eps_table() -> dict[str, np.ndarray]:
    """The committed eps study (``accuracy_eps.csv``) as columns (empty when not generated
    yet): ``eps``, ``grad_std``, ``eps_over_sigma``, ``formula``, ..., ``rel_error``."""
    try:
        text = resources.files("adamw_rms.data").joinpath(FILES["eps"])
        rows = list(csv.DictReader(text.read_text(encoding="utf-8").splitlines()))
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    return _columns(rows) if rows else {}


@cache
def schedule_table() -> dict[str, np.ndarray]:
    """The committed schedule study (``accuracy_schedules.csv``) as columns (empty when not
    generated yet): ``schedule``, ``method``, ``step``, ..., ``rel_error``, ``rel_se``."""
    try:
        text = resources.files("adamw_rms.data").joinpath(FILES["schedules"])
        rows = list(csv.DictReader(text.read_text(encoding="utf-8").splitlines()))
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    return _columns(rows) if rows else {}


@cache
def accuracy_table() -> dict[str, np.ndarray]:
    """The committed grids (:data:`ACCURACY_FILES`) as columns (empty when not generated yet)."""
    rows = []
    for name in ACCURACY_FILES:
        try:
            text = resources.files("adamw_rms.data").joinpath(name).read_text(encoding="utf-8")
        except (FileNotFoundError, ModuleNotFoundError):
            continue
        rows += list(csv.DictReader(text.splitlines()))
    return _columns(rows) if rows else {}

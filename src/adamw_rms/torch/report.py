"""The monitor's report: measured weight RMS, AdamW's iid theory, and the factors between them.

With :math:`S = D + C` (the part of :math:`\\rho` the updates put there) and the iid values
:math:`D^{iid}, C^{iid}` of :mod:`~adamw_rms.torch.decomposition`, the ratio measured/iid of
the weight RMS is the product of three factors, each from its own measured statistic:

* update factor :math:`\\sqrt{D/D^{iid}}` — the size of the updates (:math:`\\langle u^2\\rangle`
  against AdamW's iid value, weighted along the schedule);
* correlation factor :math:`\\sqrt{(S/D)/(S^{iid}/D^{iid})}` — the :math:`\\beta_3`-weighted
  long-run sum of the updates' autocorrelation (from :math:`\\langle\\theta,u\\rangle`);
* init factor :math:`\\sqrt{(1 + I/S)/(1 + I/S^{iid})}` — the initialisation still remembered.

The product is :math:`\\sqrt{(I + D + C)/\\rho^{iid}}`; it equals measured/iid exactly when
the three measured terms add up to the measured :math:`\\rho` (``identity_error``).
Where the updates' net contribution is not positive (:math:`S \\le 0`: they have undone
the initialisation faster than the decay alone would) no such factorisation exists: the
factors are ``None`` and the row says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decomposition import (
    balance,
    iid_terms,
    iid_update_sq,
    measured_terms,
    update_statistics,
)
from .history import RunHistory

__all__ = ["COLUMNS", "Report", "build_report", "last_metrics", "plot_report"]

#: The columns of :meth:`Report.rows`, in order.
COLUMNS = (
    "name",
    "rule",
    "step",
    "measured_rms",
    "iid_rms",
    "ratio",
    "update_factor",
    "correlation_factor",
    "init_factor",
    "identity_error",
    "balance",
    "update_rms",
    "iid_update_rms",
    "note",
)


@dataclass
class Report:
    """The report at every sampled step (arrays ``(S, n)``) and its table at the last one.

    Attributes
    ----------
    names, rules
        Tensor names and the rule of each (``"adamw"``, ``"adam_l2"``, ``"sgd"``, ``"muon"``).
    steps
        The sampled steps ``(S,)``.
    series
        Name -> ``(S, n)`` array: ``measured_rms``, ``iid_rms``, ``update_factor``,
        ``correlation_factor``, ``init_factor``, ``identity_error``, ``balance`` (what the
        updates add over what the decay removes, recently: 1 at equilibrium; see
        :func:`~adamw_rms.torch.decomposition.balance`), ``update_rms``,
        ``iid_update_rms``, ``init``, ``drive``, ``correlation`` (NaN where a value does not
        exist: no iid theory for the rule, or :math:`S \\le 0`).
    """

    names: list[str]
    rules: list[str]
    steps: np.ndarray
    series: dict[str, np.ndarray]

    def rows(self, index: int = -1) -> list[dict[str, Any]]:
        """One dict per tensor (keys :data:`COLUMNS`) at sampled step ``steps[index]``;
        a value that does not exist is ``None`` and ``note`` says why."""
        if self.steps.size == 0:
            return []
        rows = []
        for column, name in enumerate(self.names):
            row: dict[str, Any] = {"name": name, "rule": self.rules[column],
                                   "step": int(self.steps[index])}  # fmt: skip
            for key in COLUMNS[3:-1]:
                value = float(self.series[key][index, column])
                row[key] = value if math.isfinite(value) else None
            row["note"] = _note(row)
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """``{"step": last sampled step, "rows": rows(), "steps": [...], "series": {name:
        {tensor: [...]}}}`` (plain Python values; NaN as None)."""
        series = {
            key: {
                name: [None if not math.isfinite(v) else float(v) for v in values[:, i]]
                for i, name in enumerate(self.names)
            }
            for key, values in self.series.items()
        }
        last = int(self.steps[-1]) if self.steps.size else 0
        return {"step": last, "rows": self.rows(), "steps": self.steps.tolist(),
                "series": series}  # fmt: skip

    def to_pandas(self) -> Any:
        """The last step's table as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas
        except ImportError as error:
            raise ImportError("Report.to_pandas needs pandas: pip install pandas") from error
        return pandas.DataFrame(self.rows(), columns=list(COLUMNS)).set_index("name")

    def __str__(self) -> str:
        rows = self.rows()
        if not rows:
            return "WeightRMSMonitor report: no step recorded yet"
        header = ("tensor", "rms", "iid", "ratio", "update", "corr", "init", "balance", "note")
        keys = ("measured_rms", "iid_rms", "ratio", "update_factor", "correlation_factor",
                "init_factor", "balance")  # fmt: skip
        width = max(len(header[0]), *(len(r["name"]) for r in rows))
        lines = [f"weight RMS at step {rows[0]['step']} (factors: measured / iid AdamW)",
                 "  ".join([header[0].ljust(width), *(h.rjust(9) for h in header[1:-1]),
                            header[-1]])]  # fmt: skip
        for row in rows:
            cells = ["—".rjust(9) if row[k] is None else f"{row[k]:9.4g}" for k in keys]
            lines.append("  ".join([row["name"].ljust(width), *cells, row["note"]]))
        return "\n".join(lines)

    __repr__ = __str__


def _note(row: dict[str, Any]) -> str:
    if row["rule"] != "adamw":
        return f"no iid schedule theory for {row['rule']}: measured terms only"
    if row["measured_rms"] is None or row["measured_rms"] == 0:
        return "all zeros: no RMS to explain"
    if row["update_factor"] is None:
        return "no update recorded yet: no factors"
    if row["update_factor"] is not None and row["correlation_factor"] is None:
        return "the updates' net contribution D + C <= 0: no factors"
    return ""


def build_report(history: RunHistory) -> Report:
    """The :class:`Report` of a recorded run."""
    rows = history.sampled - 1
    terms = measured_terms(history)
    init, drive, correlation = (terms[k][rows] for k in ("init", "drive", "correlation"))
    rho = terms["rho"]
    iid_available = history.per_rule("has_iid_theory")
    nan = np.full_like(rho, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if iid_available.any():
            iid = iid_terms(history)
            iid_drive, iid_corr = iid["drive"][rows], iid["correlation"][rows]
            iid_drive = np.where(iid_available, iid_drive, np.nan)
            iid_corr = np.where(iid_available, iid_corr, np.nan)
        else:
            iid_drive, iid_corr = nan, nan
        noise = drive + correlation
        iid_noise = iid_drive + iid_corr
        iid_rho = init + iid_noise
        valid = (noise > 0) & (drive > 0) & (iid_noise > 0) & (iid_drive > 0)
        update_factor = np.where(drive > 0, np.sqrt(drive / iid_drive), np.nan)
        correlation_factor = np.where(valid, np.sqrt(noise / drive * iid_drive / iid_noise),
                                      np.nan)  # fmt: skip
        init_factor = np.where(valid, np.sqrt((1 + init / noise) / (1 + init / iid_noise)),
                               np.nan)  # fmt: skip
        stats = update_statistics(history)
        update_rms = np.sqrt(stats["update_sq"])
        iid_update_rms = np.where(iid_available, np.sqrt(iid_update_sq(history)[rows]), np.nan)
        series = {
            "measured_rms": np.sqrt(rho),
            "iid_rms": np.sqrt(iid_rho),
            "ratio": np.sqrt(rho / iid_rho),
            "update_factor": update_factor,
            "correlation_factor": correlation_factor,
            "init_factor": init_factor,
            "identity_error": (init + noise) / rho - 1,
            "balance": balance(history),
            "update_rms": update_rms,
            "iid_update_rms": iid_update_rms,
            "init": init,
            "drive": drive,
            "correlation": correlation,
        }
    return Report(
        names=list(history.names),
        rules=[history.rules[g].name for g in history.group],
        steps=history.sampled.copy(),
        series=series,
    )


def last_metrics(history: RunHistory) -> dict[str, float]:
    """The scalars of :meth:`WeightRMSMonitor.metrics`."""
    if history.sampled.size == 0:
        return {}
    stats = update_statistics(history)
    sums = history.sums[-1]
    theta_sq, theta_dot_d, d_sq, _ = sums
    lr = stats["lr"][-1]
    decay = stats["decay_factor"][-1]
    # Delta = theta_{t-1} - theta_t = (1 - beta3) theta_{t-1} + d; the decay is along theta, so
    # only d has a part across it.
    along = (1 - decay) * theta_sq + theta_dot_d
    delta_sq = (1 - decay) ** 2 * theta_sq + 2 * (1 - decay) * theta_dot_d + d_sq
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.sqrt(theta_sq)
        across = np.sqrt(np.maximum(d_sq - theta_dot_d**2 / theta_sq, 0.0))
        angle = np.arctan2(across, norm - along / norm)
        relative = np.sqrt(delta_sq / theta_sq)
    out: dict[str, float] = {}
    values = {
        "weight_rms": np.sqrt(stats["rho_after"][-1]),
        "update_rms": np.where(lr > 0, np.sqrt(stats["update_sq"][-1]), 0.0),
        "relative_update": relative,
        "angular_update": angle,
    }
    for key, array in values.items():
        for name, value in zip(history.names, array, strict=True):
            if math.isfinite(float(value)):
                out[f"{key}/{name}"] = float(value)
    return out


def plot_report(report: Report, names: Any = None, *, axes: Any = None) -> Any:
    """Measured weight RMS (solid) against AdamW's iid theory (dashed) along the run.

    Returns the matplotlib ``Axes``. ``names``: the tensors to draw (default: all).
    """
    from ..plot.style import styled

    chosen = report.names if names is None else list(names)
    unknown = [n for n in chosen if n not in report.names]
    if unknown:
        raise ValueError(f"names: unknown tensors {unknown}; known: {report.names}")
    with styled():
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(figsize=(6.4, 4.0))
        for name in chosen:
            column = report.names.index(name)
            (line,) = axes.plot(report.steps, report.series["measured_rms"][:, column],
                                lw=1.2, label=name)  # fmt: skip
            iid = report.series["iid_rms"][:, column]
            if np.isfinite(iid).any():
                axes.plot(report.steps, iid, lw=0.9, ls="--", color=line.get_color())
        axes.set_xlabel("step")
        axes.set_ylabel("weight RMS (dashed: iid AdamW)")
        axes.legend(fontsize="small")
    return axes

"""Muon study: :func:`muon_weight_rms` and the two momentum models against ``torch.optim.Muon``.

``python -m adamw_rms.accuracy.muon`` prints the table of ``docs/muon.md`` (about ten minutes
on one core; the 512 x 512 rows take most of it). Each row runs :func:`simulate_muon` to the
end of ``steps`` (several timescales ``1/(lr wd)``, so near equilibrium) and compares the
weight RMS there with

* ``muon_weight_rms`` (this package: measured output correlation ``G``, exact lag structure);
* the model ``kappa = 1``: ``lr_adj^2 C_0 / (1 - beta3^2)`` times ``1 - beta3^(2t)``
  (orthogonalised updates uncorrelated across steps);
* the model ``kappa = (1 + beta)/(1 - beta)``: the same times the linear-momentum factor.

Both models get the derived ``C_0``, so only their momentum factor is tested.
"""

from __future__ import annotations

import math
from typing import Any

from ..estimators.muon import adjusted_lr_ratio, muon_weight_rms, update_mean_square

__all__ = ["ROWS", "study", "table"]

#: (shape, adjust_lr_fn, momentum, nesterov, lr, weight_decay, steps, matrices)
ROWS: tuple[tuple[Any, ...], ...] = (
    ((64, 64), None, 0.95, True, 0.02, 0.5, 600, 8),
    ((64, 64), "match_rms_adamw", 0.95, True, 0.02, 0.5, 600, 8),
    ((64, 64), None, 0.95, True, 0.02, 0.1, 2000, 8),
    ((64, 64), None, 0.9, False, 0.02, 0.5, 600, 8),
    ((64, 64), None, 0.0, True, 0.02, 0.5, 600, 8),
    ((64, 256), None, 0.95, True, 0.02, 0.5, 600, 8),
    ((64, 256), "match_rms_adamw", 0.95, True, 0.02, 0.5, 600, 8),
    ((256, 64), None, 0.95, True, 0.02, 0.5, 600, 8),
    ((256, 64), "match_rms_adamw", 0.95, True, 0.02, 0.5, 600, 8),
    ((512, 512), None, 0.95, True, 0.02, 1.0, 300, 4),
    ((512, 512), "match_rms_adamw", 0.95, True, 0.02, 1.0, 300, 4),
)


def _model(lr, decay, shape, adjust, steps, kappa) -> float:
    q = lr * decay
    lr_adj = lr * adjusted_lr_ratio(shape, adjust)
    square = lr_adj**2 * update_mean_square(shape) * kappa * -math.expm1(2 * steps * math.log1p(-q))
    return math.sqrt(square / (q * (2 - q)))


def study(rows: tuple[tuple[Any, ...], ...] = ROWS, seed: int = 0) -> list[dict[str, Any]]:
    """Simulate every row and return the comparisons (relative errors of the RMS)."""
    import torch

    from ..simulation.muon import simulate_muon

    torch.set_num_threads(1)
    results = []
    for shape, adjust, momentum, nesterov, lr, decay, steps, matrices in rows:
        run = simulate_muon(
            lr,
            decay,
            shape=shape,
            steps=steps,
            matrices=matrices,
            momentum=momentum,
            nesterov=nesterov,
            adjust_lr_fn=adjust,
            seed=seed,
            record_every=steps,
        )
        simulated, se = float(run.weight_rms[-1]), float(run.weight_rms_se[-1])
        common = {"shape": shape, "adjust_lr_fn": adjust, "steps": steps}
        estimate = muon_weight_rms(lr, decay, momentum=momentum, nesterov=nesterov, **common)
        q = lr * decay
        kappa = estimate**2 / _model(lr, decay, shape, adjust, steps, 1.0) ** 2
        linear = (1 + momentum) / (1 - momentum)
        results.append(
            {
                "shape": shape,
                "adjust_lr_fn": adjust,
                "momentum": momentum,
                "nesterov": nesterov,
                "lr": lr,
                "weight_decay": decay,
                "steps": steps,
                "timescales": steps * q,
                "simulated": simulated,
                "se": se,
                "estimate": estimate / simulated - 1,
                "kappa_one": _model(lr, decay, shape, adjust, steps, 1.0) / simulated - 1,
                "kappa_linear": _model(lr, decay, shape, adjust, steps, linear) / simulated - 1,
                "kappa_effective": kappa,
            }
        )
    return results


def table(results: list[dict[str, Any]]) -> str:
    """The study as a Markdown table (errors of the RMS in percent)."""
    lines = [
        "| shape | adjust_lr_fn | momentum | nesterov | lr, wd | steps (timescales) "
        "| simulated RMS (SE) | estimate | kappa = 1 | kappa = (1+b)/(1-b) | effective kappa |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['shape'][0]}x{r['shape'][1]} | {r['adjust_lr_fn'] or 'None'} | {r['momentum']} "
            f"| {r['nesterov']} | {r['lr']}, {r['weight_decay']} "
            f"| {r['steps']} ({r['timescales']:g}) | {r['simulated']:.5f} ({r['se']:.5f}) "
            f"| {100 * r['estimate']:+.2f}% | {100 * r['kappa_one']:+.1f}% "
            f"| {100 * r['kappa_linear']:+.1f}% | {r['kappa_effective']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - the study run
    print(table(study()))

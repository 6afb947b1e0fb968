"""The real ``torch.optim.Muon`` on iid Gaussian gradient matrices (extra ``torch``).

``matrices`` independent ``shape`` parameters (one optimizer, one parameter each; Muon treats
every parameter on its own) start at ``init_rms * N(0, 1)``; every step each gets an iid
N(0, 1) gradient from a ``torch.Generator`` seeded with ``seed``, then ``optimizer.step()``
runs. Parameters are float32 (torch's default; Muon's Newton--Schulz runs in bfloat16 inside
the optimizer whatever the parameter's dtype). The weight RMS is recorded after every
``record_every``-th step as ``sqrt(mean over matrices of ||theta||_F^2 / (AB))`` with its
delta-method standard error over the matrices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    import torch
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the Muon simulation needs PyTorch: pip install 'adamw-rms[torch]'"
    ) from error

from .result import rms_with_se

__all__ = ["MuonSimulation", "simulate_muon"]


@dataclass(frozen=True, eq=False)
class MuonSimulation:
    """Simulated Muon: the ``steps`` recorded, ``weight_rms`` there and its ``weight_rms_se``."""

    steps: np.ndarray
    weight_rms: np.ndarray
    weight_rms_se: np.ndarray
    matrices: int


def simulate_muon(
    lr: float,
    weight_decay: float,
    *,
    shape: tuple[int, int],
    steps: int,
    matrices: int = 8,
    momentum: float = 0.95,
    nesterov: bool = True,
    adjust_lr_fn: str | None = None,
    ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
    ns_steps: int = 5,
    eps: float = 1e-7,
    init_rms: float = 0.0,
    seed: int = 0,
    record_every: int = 1,
) -> MuonSimulation:
    """Run ``torch.optim.Muon`` for ``steps`` steps on ``matrices`` independent parameters.

    Examples
    --------
    >>> from adamw_rms.simulation.muon import simulate_muon
    >>> run = simulate_muon(0.02, 0.5, shape=(8, 16), steps=20, matrices=4, record_every=10)
    >>> run.steps.tolist(), run.weight_rms.shape
    ([10, 20], (2,))
    """
    if matrices < 2:
        raise ValueError(f"matrices must be >= 2 for a standard error; got {matrices!r}")
    if steps < 1 or record_every < 1:
        raise ValueError("steps and record_every must be >= 1")
    if not hasattr(torch.optim, "Muon"):
        raise ImportError(f"torch.optim.Muon needs a newer PyTorch (this is {torch.__version__})")
    rows, cols = shape
    generator = torch.Generator().manual_seed(seed)
    params = [
        torch.nn.Parameter(init_rms * torch.randn(rows, cols, generator=generator))
        for _ in range(matrices)
    ]
    optimizer = torch.optim.Muon(
        params,
        lr=lr,
        weight_decay=weight_decay,
        momentum=momentum,
        nesterov=nesterov,
        ns_coefficients=ns_coefficients,
        eps=eps,
        ns_steps=ns_steps,
        adjust_lr_fn=adjust_lr_fn,
    )
    recorded, rms, se = [], [], []
    for step in range(1, steps + 1):
        for p in params:
            p.grad = torch.randn(rows, cols, generator=generator)
        optimizer.step()
        if step % record_every == 0:
            with torch.no_grad():
                squares = np.array([float(p.double().square().mean()) for p in params])
            value, error = rms_with_se(squares.sum(), (squares**2).sum(), matrices)
            recorded.append(step)
            rms.append(float(value))
            se.append(float(error))
    return MuonSimulation(np.array(recorded), np.array(rms), np.array(se), matrices)

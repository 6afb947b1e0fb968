"""Monte Carlo simulation of AdamW (and SignSGDMW, Lion, SGD, Adam with L2) on synthetic
gradients: three engines, one result type.

>>> from adamw_rms.simulation import SimulationConfig, simulate
>>> config = SimulationConfig.source(n=2000, steps=300, seed=1)
>>> result = simulate(config, engine="numpy")
>>> result.engine, result.steps.tolist()
('numpy', [300])
>>> 0.0 < result.final_weight_rms_se < 0.05 * result.final_weight_rms
True
"""

from __future__ import annotations

from typing import Any

from .config import UPDATE_RULES, SimulationConfig
from .result import SimulationResult, rms_with_se

__all__ = [
    "ENGINES",
    "UPDATE_RULES",
    "SimulationConfig",
    "SimulationResult",
    "available_engines",
    "rms_with_se",
    "simulate",
]

#: Engine name -> (module, what installs it).
ENGINES = {
    "numpy": ("numpy_engine", "the core package"),
    "numba": ("numba_engine", "pip install 'adamw-rms[sim]'"),
    "torch": ("torch_engine", "pip install 'adamw-rms[torch]'"),
}


def _engine_module(engine: str) -> Any:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {tuple(ENGINES)}; got {engine!r}")
    from importlib import import_module

    module, install = ENGINES[engine]
    try:
        return import_module(f".{module}", __name__)
    except ImportError as error:
        raise ImportError(f"engine {engine!r} is not available ({error}); {install}") from error


def available_engines() -> list[str]:
    """The engines whose dependencies are installed, fastest first where it matters."""
    from importlib.util import find_spec

    needs = {"numpy": "numpy", "numba": "numba", "torch": "torch"}
    return [name for name in ("numba", "numpy", "torch") if find_spec(needs[name])]


def simulate(config: SimulationConfig, engine: str = "numba", **options: Any) -> SimulationResult:
    """Run ``config`` on ``engine`` (``"numpy"``, ``"numba"`` or ``"torch"``).

    ``options`` go to the engine's ``run``: ``progress`` for all; ``random_source`` for numpy
    (``"numpy"``: the source's ``RandomState`` stream; ``"counter"``: the numba engine's
    numbers); ``threads`` for numba; ``device``, ``scheduler``, ``fused``
    (``torch.optim.AdamW(fused=...)``, default ``None``: PyTorch's choice) and
    ``random_source`` (``"torch"`` or ``"counter"``: the other engines' numbers) for torch. Every
    engine returns a :class:`SimulationResult` with standard errors over coordinates.
    """
    if not isinstance(config, SimulationConfig):
        raise TypeError(f"config must be a SimulationConfig; got {type(config).__name__}")
    return _engine_module(engine).run(config, **options)

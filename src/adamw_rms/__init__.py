"""adamw-rms: the mean-field weight RMS of AdamW, re-derived step by step with SymPy.

The symbolic side (SymPy) is imported lazily, so ``import adamw_rms`` stays light; the first
use of :func:`derivation` loads it. The estimators (``weight_rms``, ``update_rms``, ...) are
NumPy code printed from the derivations and never load SymPy. :func:`simulate` runs AdamW on
synthetic gradients (:mod:`adamw_rms.simulation`) and :func:`compare` joins a simulation with
the formulas (:mod:`adamw_rms.comparison`; the registry of formulas: :mod:`adamw_rms.formulas`).

Examples
--------
>>> import adamw_rms
>>> step = adamw_rms.derivation("weight_rms").step("theta_rms")
>>> step.label
'eq:theta-rms'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accuracy_warning import AccuracyWarning, MonitorWarning  # no imports: stays light

__version__ = "0.1.0"
__all__ = [
    "DERIVATION_NAMES",
    "AccuracyWarning",
    "Derivation",
    "MonitorWarning",
    "SimulationConfig",
    "SimulationResult",
    "Step",
    "adam_l2_weight_rms",
    "compare",
    "decay_per_step",
    "derivation",
    "equilibrium_weight_rms",
    "find_step",
    "lambdify_result",
    "lion_bound",
    "lion_weight_rms",
    "muon_weight_rms",
    "pytorch_weight_decay",
    "schedule_weight_rms",
    "sgd_weight_rms",
    "sign_sgdm_weight_rms",
    "simulate",
    "solve_schedule_weight_decay",
    "solve_weight_decay",
    "timescale",
    "update_rms",
    "weight_rms",
    "weight_rms_large_snr",
    "weight_rms_quick",
    "weight_rms_trajectory",
]
_SYMBOLIC = frozenset({"DERIVATION_NAMES", "Derivation", "Step", "derivation", "find_step"})
_SIMULATION = frozenset({"SimulationConfig", "SimulationResult", "simulate"})
_WARNINGS = frozenset({"AccuracyWarning", "MonitorWarning"})
_NUMERIC = frozenset(__all__) - _SYMBOLIC - _SIMULATION - _WARNINGS - {"compare"}

if TYPE_CHECKING:
    from .comparison import compare
    from .estimators import (
        decay_per_step,
        equilibrium_weight_rms,
        lambdify_result,
        lion_bound,
        lion_weight_rms,
        muon_weight_rms,
        pytorch_weight_decay,
        schedule_weight_rms,
        sgd_weight_rms,
        sign_sgdm_weight_rms,
        solve_schedule_weight_decay,
        solve_weight_decay,
        timescale,
        update_rms,
        weight_rms,
        weight_rms_large_snr,
        weight_rms_quick,
        weight_rms_trajectory,
    )
    from .estimators.adam_l2 import adam_l2_weight_rms
    from .simulation import SimulationConfig, SimulationResult, simulate
    from .steps import DERIVATION_NAMES, Derivation, Step, derivation, find_step


def __getattr__(name: str) -> Any:
    # Lazy: the numeric estimators never load SymPy; the symbolic side loads it on first use.
    if name in _SYMBOLIC:
        from . import steps as _module

        return getattr(_module, name)
    if name in _NUMERIC:
        from . import estimators as _module

        return getattr(_module, name)
    if name in _SIMULATION:
        from . import simulation as _module

        return getattr(_module, name)
    if name == "compare":
        from .comparison import compare

        return compare
    raise AttributeError(f"module 'adamw_rms' has no attribute {name!r}")

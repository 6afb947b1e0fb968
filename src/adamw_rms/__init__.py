"""adamw-rms: the mean-field weight RMS of AdamW, re-derived step by step with SymPy.

The symbolic side (SymPy) is imported lazily, so ``import adamw_rms`` stays light; the first
use of :func:`derivation` loads it.

Examples
--------
>>> import adamw_rms
>>> step = adamw_rms.derivation("weight_rms").step("theta_rms")
>>> step.label
'eq:theta-rms'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["DERIVATION_NAMES", "Derivation", "Step", "derivation", "find_step"]

if TYPE_CHECKING:
    from .steps import DERIVATION_NAMES, Derivation, Step, derivation, find_step


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import steps as _module

        return getattr(_module, name)
    raise AttributeError(f"module 'adamw_rms' has no attribute {name!r}")

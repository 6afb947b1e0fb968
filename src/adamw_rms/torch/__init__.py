"""The training-time monitor (needs PyTorch: ``pip install 'adamw-rms[torch]'``).

:class:`WeightRMSMonitor` hooks into ``optimizer.step`` and measures, per parameter tensor, the
terms of the weight RMS's exact per-step identity; its :meth:`~WeightRMSMonitor.report`
explains the measured RMS against AdamW's iid theory, :meth:`~WeightRMSMonitor.forecast`
predicts it along the learning rates still to come, :meth:`~WeightRMSMonitor.metrics` gives
scalars for any logger. Single process only (no DDP/FSDP).
"""

from .monitor import WeightRMSMonitor

__all__ = ["WeightRMSMonitor"]

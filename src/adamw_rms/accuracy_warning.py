"""The package's warning class for an estimate used where its measured accuracy is poor.

Kept free of imports so that :mod:`adamw_rms` can export it without loading NumPy.
Filter it like any warning, e.g. ``warnings.simplefilter("error", AccuracyWarning)`` in a test.

Examples
--------
>>> from adamw_rms import AccuracyWarning
>>> issubclass(AccuracyWarning, UserWarning)
True
"""

__all__ = ["AccuracyWarning", "MonitorWarning"]


class AccuracyWarning(UserWarning):
    """An estimate was asked for where its measured error is large (the message says how
    large and what to use instead)."""


class MonitorWarning(UserWarning):
    """The training-time monitor (:mod:`adamw_rms.torch`) has news for you: e.g. a schedule
    that will shrink a layer's weight norm by more than half."""

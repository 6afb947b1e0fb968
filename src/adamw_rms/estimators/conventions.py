r"""Weight-decay conventions: what each library multiplies the weights by at every step.

Every estimator in this package takes PyTorch's convention: at step :math:`t` the weights are
multiplied by :math:`1 - \eta_t\lambda_t` (``lr[t] * weight_decay[t]``), so
:math:`\beta_3 = 1 - \eta\lambda`. Other libraries spell the same decoupled decay differently;
what matters for the weight norm is only the factor per step, :math:`1 - d_t`:

* ``"pytorch"`` (aliases ``"optax"``, ``"keras"``): :math:`d_t = \eta_t\lambda` --
  ``torch.optim.AdamW``, ``optax.adamw``, Keras ``AdamW`` and the source;
* ``"independent"`` (alias ``"tf_addons"``): :math:`d_t = \lambda_t` -- TF-Addons ``AdamW``,
  whose weight decay is the factor itself (users schedule it);
* ``"composer"``: :math:`d_t = \lambda\,\eta_t/\eta_0` -- Composer's ``DecoupledAdamW`` and
  ``DecoupledSGDW``, scaled by the schedule's multiplier;
* ``"corrected"`` (alias ``"adamc"``): :math:`d_t = \lambda\,\eta_t^2/\eta_{\max}` -- "AdamC",
  whose coefficient follows the schedule, :math:`\lambda_t = \lambda\,\eta_t/\eta_{\max}`.

:math:`\eta_0` is the optimizer's base learning rate (before the scheduler's multiplier) and
:math:`\eta_{\max}` the schedule's peak; both default to ``max(lr)``.

:func:`decay_per_step` gives :math:`d_t` for any of them; :func:`pytorch_weight_decay` gives the
PyTorch-convention ``weight_decay`` with the same :math:`d_t`
(:math:`\lambda'_t = d_t/\eta_t`), which any estimator of this package accepts; and
:func:`adamw_rms.weight_rms_trajectory` takes ``decay_convention=`` directly.

Consequences worth knowing (AdamW at zero-mean gradients, where the equilibrium weight RMS is
:math:`\sqrt{\eta/2\lambda'}`): ``"composer"`` is PyTorch's convention with
:math:`\lambda' = \lambda/\eta_0`, so its equilibrium is :math:`\sqrt{\eta_t\eta_0/2\lambda}`;
under ``"independent"`` with a constant :math:`\lambda` it is :math:`\eta_t/\sqrt{2\lambda}`,
linear in the learning rate (a decay of the lr to 0 shrinks the weights towards 0); under
``"corrected"`` it is :math:`\sqrt{\eta_{\max}/2\lambda}` whatever :math:`\eta_t` is -- the
point of that correction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import check_range, raise_where

__all__ = ["DECAY_CONVENTIONS", "decay_per_step", "pytorch_weight_decay"]

#: The conventions :func:`decay_per_step` knows, with the libraries' names as aliases.
DECAY_CONVENTIONS: dict[str, str] = {
    "pytorch": "pytorch",
    "optax": "pytorch",
    "keras": "pytorch",
    "independent": "independent",
    "tf_addons": "independent",
    "composer": "composer",
    "corrected": "corrected",
    "adamc": "corrected",
}


def _convention(convention: Any) -> str:
    if not isinstance(convention, str) or convention not in DECAY_CONVENTIONS:
        raise ValueError(
            f"convention must be one of {tuple(DECAY_CONVENTIONS)}; got {convention!r}"
        )
    return DECAY_CONVENTIONS[convention]


def decay_per_step(
    lr: Any,
    weight_decay: Any,
    *,
    convention: str = "pytorch",
    reference_lr: float | None = None,
) -> Any:
    r"""The fraction :math:`d_t` of the weights removed at each step, in a library's convention.

    The weights are multiplied by :math:`1 - d_t` at step :math:`t` (the table in
    :mod:`adamw_rms.estimators.conventions`): ``"pytorch"`` :math:`\eta_t\lambda_t`,
    ``"independent"`` :math:`\lambda_t`, ``"composer"`` :math:`\lambda_t\eta_t/\eta_0`,
    ``"corrected"`` :math:`\lambda_t\eta_t^2/\eta_{\max}`.

    Parameters
    ----------
    lr, weight_decay
        Scalars or per-step 1-d arrays (broadcast together), ``>= 0``, as given to the library.
    convention
        A key of :data:`DECAY_CONVENTIONS`.
    reference_lr
        :math:`\eta_0` of ``"composer"`` (the optimizer's base learning rate, before the
        scheduler's multiplier) or :math:`\eta_{\max}` of ``"corrected"``, ``> 0``. Default:
        ``max(lr)``, right for a schedule whose multiplier peaks at 1 (warmup to the base lr,
        then decay). Not used by the other conventions. A single number (``TypeError`` for an
        array: it is one value for the whole schedule).

    Returns
    -------
    float or ndarray
        :math:`d_t` (a float for scalar inputs), each in ``[0, 1]``; a ``ValueError`` names
        the first step where it is not.

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms.estimators.conventions import decay_per_step
    >>> lr = np.array([1e-3, 5e-4, 1e-4])
    >>> decay_per_step(lr, 0.1)                          # PyTorch: lr * weight_decay
    array([1.e-04, 5.e-05, 1.e-05])
    >>> decay_per_step(lr, 1e-4, convention="tf_addons")  # the factor itself
    array([0.0001, 0.0001, 0.0001])
    >>> decay_per_step(lr, 1e-4, convention="composer")   # scaled by lr / base lr
    array([1.e-04, 5.e-05, 1.e-05])
    """
    kind = _convention(convention)
    lr_array = check_range("lr", lr, 0.0)
    decay_array = check_range("weight_decay", weight_decay, 0.0)
    if lr_array.ndim > 1 or decay_array.ndim > 1:
        raise ValueError("lr and weight_decay must be scalars or per-step 1-d arrays")
    try:
        lr_array, decay_array = np.broadcast_arrays(lr_array, decay_array)
    except ValueError as error:
        raise ValueError(
            f"lr and weight_decay must have the same length; got {lr_array.size} and "
            f"{decay_array.size}"
        ) from error
    if kind in ("composer", "corrected"):
        if reference_lr is None:
            reference = float(lr_array.max()) if lr_array.size else 0.0
            if reference <= 0:
                raise ValueError(
                    f"convention {convention!r} scales the decay by lr / reference_lr, and the "
                    "default reference_lr = max(lr) is 0; give lr > 0 somewhere"
                )
        else:
            reference_array = check_range("reference_lr", reference_lr, 0.0, low_open=True)
            if reference_array.ndim:  # one base (or peak) lr for the whole schedule
                raise TypeError(
                    f"reference_lr must be a single number > 0 (the schedule's base or peak lr), "
                    f"not an array; got {reference_lr!r}"
                )
            reference = float(reference_array)
    if kind == "pytorch":
        decay = lr_array * decay_array
    elif kind == "independent":
        decay = decay_array.astype(np.float64, copy=True)
    elif kind == "composer":
        decay = decay_array * (lr_array / reference)
    else:
        decay = decay_array * lr_array * (lr_array / reference)
    formula = {
        "pytorch": "lr * weight_decay",
        "independent": "weight_decay",
        "composer": "weight_decay * lr / reference_lr",
        "corrected": "weight_decay * lr**2 / reference_lr",
    }[kind]
    # d = 1 is a legal step (the weights are replaced by the update); beyond it they flip sign.
    raise_where(~(decay <= 1), f"the decay per step ({formula})", decay, "[0, 1]")
    return float(decay) if decay.ndim == 0 else decay


def pytorch_weight_decay(
    lr: Any,
    weight_decay: Any,
    *,
    convention: str = "pytorch",
    reference_lr: float | None = None,
) -> Any:
    r"""The PyTorch-convention ``weight_decay`` that decays as ``convention`` does.

    :math:`\lambda'_t = d_t/\eta_t` with :math:`d_t` from :func:`decay_per_step`, so that
    ``lr * pytorch_weight_decay(lr, ...)`` is the decay per step; pass it to any estimator of
    this package. At a step with ``lr = 0`` only ``d = 0`` can be expressed (a decay without a
    step is outside PyTorch's convention); :math:`\lambda'` is 0 there.

    Parameters
    ----------
    lr, weight_decay, convention, reference_lr
        As :func:`decay_per_step`.

    Returns
    -------
    float or ndarray
        :math:`\lambda'_t`, ``>= 0`` (a float for scalar inputs).

    Examples
    --------
    >>> import numpy as np
    >>> from adamw_rms import weight_rms
    >>> from adamw_rms.estimators.conventions import pytorch_weight_decay
    >>> wd = pytorch_weight_decay(1e-3, 1e-4, convention="tf_addons")  # TF-Addons AdamW
    >>> wd
    0.1
    >>> round(weight_rms(1e-3, wd), 4)
    0.0707
    """
    lr_array = check_range("lr", lr, 0.0)
    decay = np.asarray(
        decay_per_step(lr, weight_decay, convention=convention, reference_lr=reference_lr)
    )
    lr_array = np.broadcast_to(lr_array, decay.shape)
    stepless = (lr_array == 0) & (decay > 0)
    if stepless.any():
        raise_where(
            stepless,
            "the decay per step where lr = 0",
            decay,
            "{0} (PyTorch's convention cannot decay without a step)",
        )
    safe = np.where(lr_array > 0, lr_array, 1.0)
    result = np.where(lr_array > 0, decay / safe, 0.0)
    return float(result) if result.ndim == 0 else result

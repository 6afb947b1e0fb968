"""The formula registry: every derived formula, what it predicts, and where it applies.

A :class:`Formula` predicts a simulated quantity (the weight RMS at a recorded step, or the
update RMS) from a :class:`~adamw_rms.simulation.SimulationConfig`. Where it applies is
declared, not computed ad hoc: each formula lists named :class:`Predicate` objects
(:data:`requires_decay`, :data:`constant_schedule`, :data:`sign_update`, ...), and
:meth:`Formula.applies` returns the reason of the first one a configuration fails. Both
``adamw-rms check`` (:func:`adamw_rms.comparison.compare`) and the accuracy studies
(:mod:`adamw_rms.accuracy`) iterate :data:`FORMULAS` and ask, so the two can never disagree on
which formula a point measures.

Examples
--------
>>> from adamw_rms.formulas import FORMULAS, formula
>>> from adamw_rms.simulation import SimulationConfig
>>> config = SimulationConfig(lr=1e-3, weight_decay=0.0, steps=100, n=2)
>>> [f.name for f in FORMULAS if f.applies(config) is None]
['theta_rms_corrected', 'no_decay', 'update_rms', 'update_rms_corrected']
>>> formula("theta_rms").applies(config)
'needs weight_decay > 0'
>>> [p.name for p in formula("equilibrium").requires]
['constant_schedule', 'adamw_update', 'requires_zero_mean', 'requires_decay']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import estimators
from .simulation import SimulationConfig

if TYPE_CHECKING:
    from .comparison import Band

__all__ = [
    "FORMULAS",
    "PREDICATES",
    "Formula",
    "Predicate",
    "adam_l2_update",
    "adamw_update",
    "constant_schedule",
    "formula",
    "lion_update",
    "requires_decay",
    "requires_mean",
    "requires_no_decay",
    "requires_noise",
    "requires_zero_mean",
    "scheduled",
    "sgd_update",
    "sign_update",
]


@dataclass(frozen=True)
class Predicate:
    """A named condition on a configuration.

    Calling it returns ``None`` where ``holds(config)`` is true, else ``reason`` (why a
    formula that requires it does not apply).
    """

    name: str
    holds: Callable[[SimulationConfig], bool]
    reason: str

    def __call__(self, config: SimulationConfig) -> str | None:
        return None if self.holds(config) else self.reason


constant_schedule = Predicate(
    "constant_schedule",
    lambda c: not c.has_schedule,
    "the part-1 formulas assume constant lr and weight decay",
)
scheduled = Predicate(
    "scheduled",
    lambda c: c.has_schedule,
    "a part-2 formula (constant lr and weight decay: use the part-1 formulas)",
)


def _rule(update: str, title: str) -> Predicate:
    return Predicate(f"{update}_update", lambda c: c.update == update, f"{title} formula")


adamw_update = _rule("adamw", "an AdamW")
sign_update = Predicate("sign_update", lambda c: c.update == "sign_sgdm", "a SignSGDMW formula")
lion_update = _rule("lion", "a Lion")
sgd_update = _rule("sgd", "an SGD")
adam_l2_update = _rule("adam_l2", "an Adam-with-L2")
requires_zero_mean = Predicate(
    "requires_zero_mean", lambda c: c.grad_mean == 0, "needs grad_mean = 0"
)
requires_mean = Predicate(
    "requires_mean", lambda c: c.grad_mean != 0, "needs grad_mean != 0 (SNR > 0)"
)
requires_decay = Predicate(
    "requires_decay",
    lambda c: bool(np.all(c.weight_decay_per_step() > 0)),
    "needs weight_decay > 0",
)
requires_no_decay = Predicate(
    "requires_no_decay",
    lambda c: bool(np.all(c.weight_decay_per_step() == 0)),
    "needs weight_decay = 0",
)
#: Noiseless gradients (grad_std = 0, a pure decay towards a drift) have snr = inf, which no
#: estimator takes; the zero-mean formulas never see it (grad_mean = grad_std = 0 is refused).
requires_noise = Predicate(
    "requires_noise",
    lambda c: c.grad_std > 0,
    "needs grad_std > 0 (snr = grad_mean^2 / grad_std^2 is infinite without noise)",
)


def _lion(formula_name: str) -> Callable[[SimulationConfig, int], float]:
    def predict(config: SimulationConfig, step: int) -> float:
        options = {"steps": step, "snr": config.snr, "init_rms": config.init_rms}
        if formula_name == "req":  # an equilibrium, zero-mean formula
            options = {}
        return estimators.lion_weight_rms(
            config.lr, config.weight_decay, beta1=config.beta1, beta2=config.beta2,
            formula=formula_name, **options,
        )  # fmt: skip

    return predict


def _adam_l2(formula_name: str) -> Callable[[SimulationConfig, int], float]:
    def predict(config: SimulationConfig, step: int) -> float:
        options = {"steps": step, "snr": config.snr, "init_rms": config.init_rms}
        if formula_name == "req":  # an equilibrium, zero-mean formula
            options = {}
        return estimators.adam_l2_weight_rms(
            config.lr, config.weight_decay, beta1=config.beta1, beta2=config.beta2,
            eps=config.eps, grad_std=config.grad_std, formula=formula_name, **options,
        )  # fmt: skip

    return predict


#: Adam with L2 as the mean field describes it: PyTorch's Adam, with its bias correction.
requires_bias_correction = Predicate(
    "requires_bias_correction",
    lambda c: c.bias_correction,
    "torch.optim.Adam always corrects the bias (bias_correction=True)",
)
#: REQ's SGDM formula: coupled decay, heavy ball without dampening.
requires_req_sgd = Predicate(
    "requires_req_sgd",
    lambda c: not (c.decoupled or c.nesterov or c.dampening),
    "REQ's SGDM formula is for coupled decay, no Nesterov and no dampening",
)

#: The update rule each rule predicate stands for.
_RULES = {
    adamw_update: "adamw",
    sign_update: "sign_sgdm",
    lion_update: "lion",
    sgd_update: "sgd",
    adam_l2_update: "adam_l2",
}

#: Every predicate by name.
PREDICATES: dict[str, Predicate] = {
    p.name: p
    for p in (
        constant_schedule,
        scheduled,
        adamw_update,
        sign_update,
        lion_update,
        sgd_update,
        adam_l2_update,
        requires_zero_mean,
        requires_mean,
        requires_decay,
        requires_no_decay,
        requires_noise,
        requires_req_sgd,
        requires_bias_correction,
    )
}


@dataclass(frozen=True)
class Formula:
    """A derived formula as a prediction of a simulated quantity.

    ``target`` is ``"weight_rms"`` (at a recorded step) or ``"update_rms"``; ``predict``
    takes the configuration and the step; ``requires`` are the predicates a configuration
    must meet; ``predict_steps`` (optional) predicts many steps at once where that is cheaper
    than one call per step (a schedule's trajectory is computed once).
    """

    name: str
    label: str
    step_id: str
    target: str
    predict: Callable[[SimulationConfig, int], float]
    requires: tuple[Predicate, ...]
    predict_steps: Callable[[SimulationConfig, Sequence[int]], np.ndarray] | None = None

    @property
    def update(self) -> str:
        """The update rule the formula describes (``SimulationConfig.update``)."""
        for predicate in self.requires:
            if predicate in _RULES:
                return _RULES[predicate]
        return "adamw"

    def applies(self, config: SimulationConfig) -> str | None:
        """``None`` where the formula applies to ``config``, else the first reason it does not."""
        for predicate in self.requires:
            reason = predicate(config)
            if reason is not None:
                return reason
        return None

    def predictions(self, config: SimulationConfig, steps: Sequence[int]) -> np.ndarray:
        """The predicted values at each of ``steps``."""
        if self.predict_steps is not None:
            return np.asarray(self.predict_steps(config, steps), dtype=float)
        return np.array([self.predict(config, int(step)) for step in steps], dtype=float)

    def band(self, config: SimulationConfig, step: int) -> Band | None:
        """The measured accuracy band for ``config`` at ``step`` (None: never measured)."""
        from .comparison import measured_band

        return measured_band(self, config, step)


def _sign(formula_name: str) -> Callable[[SimulationConfig, int], float]:
    def predict(config: SimulationConfig, step: int) -> float:
        return estimators.sign_sgdm_weight_rms(
            config.lr, config.weight_decay, beta1=config.beta1, steps=step, snr=config.snr,
            init_rms=config.init_rms, formula=formula_name,
        )  # fmt: skip

    return predict


def _trajectory_steps(method: str) -> Callable[[SimulationConfig, Sequence[int]], np.ndarray]:
    """Part 2's ``method`` at several steps from one O(T) trajectory."""

    def predict_steps(config: SimulationConfig, steps: Sequence[int]) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.int64)
        last = int(steps.max(initial=0))
        if last == 0:
            return np.full(steps.shape, config.init_rms)
        options = {}
        if method == "corrected":
            options = {key: value for key, value in _corrected(config).items()
                       if key not in ("formula", "snr")}  # fmt: skip
        with_mean = method in ("mean_field", "corrected")
        trajectory = estimators.weight_rms_trajectory(
            config.lr_per_step()[:last], config.weight_decay_per_step()[:last],
            beta1=config.beta1, snr=config.snr if with_mean else 0.0,
            init_rms=config.init_rms, method=method, **options,
        )  # fmt: skip
        # Step 0 is the initial RMS; step s is the trajectory's entry s - 1.
        with_start = np.concatenate(([config.init_rms], trajectory))
        return with_start[steps]

    return predict_steps


def _trajectory(method: str) -> Callable[[SimulationConfig, int], float]:
    predict_steps = _trajectory_steps(method)
    return lambda config, step: float(predict_steps(config, [step])[0])


def _weight_rms(config: SimulationConfig, step: int, snr: float | None = None) -> float:
    return estimators.weight_rms(
        config.lr,
        config.weight_decay,
        beta1=config.beta1,
        steps=step,
        snr=config.snr if snr is None else snr,
        init_rms=config.init_rms,
    )


def _corrected(config: SimulationConfig) -> dict[str, Any]:
    """The corrected formula's options from ``config``: beta2, bias correction, eps and the
    gradient std (which enters only through eps / grad_std), with SNR = (mean / std)^2."""
    return {
        "formula": "corrected",
        "snr": config.snr,
        "beta2": config.beta2,
        "bias_correction": config.bias_correction,
        "eps": config.eps,
        "grad_std": config.grad_std,
    }


def _weight_rms_corrected(config: SimulationConfig, step: int) -> float:
    return estimators.weight_rms(
        config.lr, config.weight_decay, beta1=config.beta1, steps=step,
        init_rms=config.init_rms, **_corrected(config),
    )  # fmt: skip


def _update_rms_corrected(config: SimulationConfig, step: int) -> float:
    return estimators.update_rms(config.beta1, **_corrected(config))


def _sgd(formula_name: str) -> Callable[[SimulationConfig, int], float]:
    def predict(config: SimulationConfig, step: int) -> float:
        options = {"steps": step, "snr": config.snr, "init_rms": config.init_rms}
        if formula_name == "req":  # an equilibrium, zero-mean formula
            options = {}
        return estimators.sgd_weight_rms(
            config.lr, config.weight_decay, momentum=config.momentum,
            dampening=config.dampening, nesterov=config.nesterov, decoupled=config.decoupled,
            grad_std=config.grad_std, formula=formula_name, **options,
        )  # fmt: skip

    return predict


_CONSTANT_ADAMW = (constant_schedule, adamw_update)
# eq:theta-rms (and its mu = 0 and large-SNR forms) is finite at weight_decay = 0, but that limit
# is a formula of its own (no_decay): one formula per case keeps compare() and the accuracy grid
# free of duplicate rows that would carry the same number under two names.
_SCHEDULED_ADAMW = (scheduled, adamw_update)

FORMULAS: tuple[Formula, ...] = (
    Formula(
        "theta_rms",
        "eq:theta-rms (general)",
        "weight_rms.theta_rms",
        "weight_rms",
        _weight_rms,
        (*_CONSTANT_ADAMW, requires_decay, requires_noise),
    ),
    Formula(
        "theta_rms_corrected",
        "corrected (beta2, bias correction, eps)",
        "corrected.weight_second_moment",
        "weight_rms",
        _weight_rms_corrected,
        (*_CONSTANT_ADAMW, requires_noise),
    ),
    Formula(
        "theta_rms_mu0",
        "eq:theta-rms-mu0 (mu = 0)",
        "weight_rms.theta_rms_mu0",
        "weight_rms",
        lambda c, t: _weight_rms(c, t, snr=0.0),
        (*_CONSTANT_ADAMW, requires_zero_mean, requires_decay),
    ),
    Formula(
        "equilibrium",
        "eq:theta-rms-simple (t -> inf)",
        "weight_rms.theta_rms_simple",
        "weight_rms",
        lambda c, t: estimators.equilibrium_weight_rms(c.lr, c.weight_decay),
        (*_CONSTANT_ADAMW, requires_zero_mean, requires_decay),
    ),
    Formula(
        "no_decay",
        "lambda -> 0 (no weight decay)",
        "weight_rms.theta_rms_no_decay",
        "weight_rms",
        _weight_rms,
        (*_CONSTANT_ADAMW, requires_no_decay, requires_noise),
    ),
    Formula(
        "large_snr",
        "large SNR",
        "weight_rms.theta_rms_large_snr",
        "weight_rms",
        lambda c, t: estimators.weight_rms_large_snr(
            c.lr, c.weight_decay, steps=t, snr=c.snr, init_rms=c.init_rms
        ),
        (*_CONSTANT_ADAMW, requires_mean, requires_decay, requires_noise),
    ),
    Formula(
        "quick",
        "quick estimate",
        "weight_rms.quick_estimate",
        "weight_rms",
        lambda c, t: estimators.weight_rms_quick(c.lr, c.weight_decay, beta1=c.beta1),
        (*_CONSTANT_ADAMW, requires_zero_mean, requires_decay),
    ),
    Formula(
        "update_rms",
        "update RMS (with SNR)",
        "update_rms.update_rms_sq",
        "update_rms",
        lambda c, t: estimators.update_rms(c.beta1, snr=c.snr),
        (*_CONSTANT_ADAMW, requires_noise),
    ),
    Formula(
        "update_rms_corrected",
        "update RMS, corrected (beta2, bias correction, eps)",
        "corrected.update_rms_sq",
        "update_rms",
        _update_rms_corrected,
        (*_CONSTANT_ADAMW, requires_noise),
    ),
    Formula(
        "schedule_mean_field",
        "schedule: general mean field",
        "schedules.theta_rms_dynamic",
        "weight_rms",
        _trajectory("mean_field"),
        (*_SCHEDULED_ADAMW, requires_noise),
        predict_steps=_trajectory_steps("mean_field"),
    ),
    Formula(
        "schedule_corrected",
        "schedule: corrected (beta2, bias correction, eps)",
        "corrected.weight_second_moment_schedule",
        "weight_rms",
        _trajectory("corrected"),
        (*_SCHEDULED_ADAMW, requires_noise),
        predict_steps=_trajectory_steps("corrected"),
    ),
    Formula(
        "schedule_series",
        "schedule: series (eq:w-rms-simp)",
        "schedules.theta_rms_series",
        "weight_rms",
        _trajectory("series"),
        (*_SCHEDULED_ADAMW, requires_zero_mean),
        predict_steps=_trajectory_steps("series"),
    ),
    Formula(
        "schedule_ode",
        "schedule: ODE / integral form",
        "schedules.rho_ode",
        "weight_rms",
        _trajectory("ode"),
        (*_SCHEDULED_ADAMW, requires_zero_mean),
        predict_steps=_trajectory_steps("ode"),
    ),
    Formula(
        "schedule_single_epoch",
        "schedule: single-epoch mean field",
        "schedules.single_epoch",
        "weight_rms",
        _trajectory("single_epoch"),
        (*_SCHEDULED_ADAMW, requires_zero_mean),
        predict_steps=_trajectory_steps("single_epoch"),
    ),
    Formula(
        "sign_arcsine",
        "SignSGDMW, arcsine law (corrected)",
        "sign_sgdm.theta_rms_arcsine_general",
        "weight_rms",
        _sign("arcsine"),
        (constant_schedule, sign_update, requires_noise),
    ),
    Formula(
        "sign_source",
        "SignSGDMW, source's mean field",
        "sign_sgdm.theta_rms_sign",
        "weight_rms",
        _sign("source"),
        (constant_schedule, sign_update, requires_noise),
    ),
    Formula(
        "sgd_exact",
        "SGD with momentum, exact (coupled or decoupled)",
        "sgd.theta_sq_recursion",
        "weight_rms",
        _sgd("exact"),
        (constant_schedule, sgd_update, requires_noise),
    ),
    Formula(
        "sgd_req",
        "SGD with momentum, REQ's equilibrium",
        "sgd.req_prediction",
        "weight_rms",
        _sgd("req"),
        (constant_schedule, sgd_update, requires_zero_mean, requires_decay, requires_req_sgd),
    ),
    Formula(
        "lion_arcsine",
        "Lion, exact (arcsine and orthant laws)",
        "lion.theta_rms_lion",
        "weight_rms",
        _lion("arcsine"),
        (constant_schedule, lion_update, requires_noise),
    ),
    Formula(
        "lion_req",
        "Lion, REQ's linearised equilibrium",
        "lion.req_equilibrium",
        "weight_rms",
        _lion("req"),
        (constant_schedule, lion_update, requires_zero_mean, requires_decay),
    ),
    Formula(
        "adam_l2_mean_field",
        "Adam with L2, mean field (frozen sqrt(v))",
        "adam_l2.theta_recursion",
        "weight_rms",
        _adam_l2("mean_field"),
        (constant_schedule, adam_l2_update, requires_bias_correction, requires_noise),
    ),
    Formula(
        "adam_l2_req",
        "Adam with L2, REQ's balance (decay divided by sigma)",
        "adam_l2.theta_rms_small_decay",
        "weight_rms",
        _adam_l2("req"),
        (constant_schedule, adam_l2_update, requires_zero_mean, requires_decay),
    ),
)


def formula(name: str) -> Formula:
    """The formula called ``name``; ValueError lists the known names."""
    for item in FORMULAS:
        if item.name == name:
            return item
    raise ValueError(f"unknown formula {name!r}; known: {', '.join(f.name for f in FORMULAS)}")

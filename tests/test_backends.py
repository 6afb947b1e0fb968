"""The NumPy and mpmath backends of every estimator give the same numbers, edges included."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adamw_rms import estimators

REL = 1e-9

# Each argument: its edge values (0, inf, large) mixed with ordinary floats. The float ranges
# keep squares such as init_rms**2 and lr**2 * steps**2 inside float64 (an underflow or overflow
# there is float64's limit, not a disagreement of the formulas).
LR = st.one_of(st.sampled_from([0.0, 1e-3, 0.5]), st.floats(1e-8, 1.0))
DECAY = st.one_of(st.sampled_from([0.0, 0.1, 1.0, 1.5]), st.floats(1e-8, 10.0))
STEPS = st.one_of(st.sampled_from([0.0, 1.0, 2.0, math.inf]), st.integers(0, 10**9).map(float))
SNR = st.one_of(st.sampled_from([0.0, 1e6, 1e12]), st.floats(0.0, 1e12))
INIT = st.one_of(st.sampled_from([0.0, 0.1, 3.0]), st.floats(1e-6, 1e3))
BETA1 = st.one_of(st.sampled_from([0.0, 0.5, 0.9]), st.floats(0.0, 0.99))


def _same(function, *args, **kwargs) -> None:
    """``function`` agrees with itself across the backends: the same error, or the same value."""
    try:
        expected = function(*args, **kwargs)
    except (ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            function(*args, **kwargs, backend="mpmath")
        return
    got = float(function(*args, **kwargs, backend="mpmath"))
    assert not math.isnan(expected), (args, kwargs)
    if math.isinf(expected) or math.isinf(got) or expected == 0 or got == 0:
        assert got == expected, (args, kwargs, expected, got)
    else:
        assert math.isclose(got, expected, rel_tol=REL, abs_tol=0.0), (args, kwargs, expected, got)


@settings(max_examples=200, deadline=None)
@given(lr=LR, decay=DECAY, beta1=BETA1, steps=STEPS, snr=SNR, init=INIT)
def test_weight_rms_backends_agree(lr, decay, beta1, steps, snr, init):
    """Guards the edges where the mpmath path used to take its own limits: ``lr = 0`` with
    ``steps = inf`` gave ``inf`` (the ``q = 0`` decay sum is infinite, but nothing is learned:
    the answer is ``init_rms``), and ``lr = 0`` with a huge no-decay sum gave NaN in NumPy."""
    _same(estimators.weight_rms, lr, decay, beta1=beta1, steps=steps, snr=snr, init_rms=init)


@settings(max_examples=200, deadline=None)
@given(lr=LR, decay=DECAY, steps=STEPS, snr=SNR, init=INIT)
def test_weight_rms_large_snr_backends_agree(lr, decay, steps, snr, init):
    """As for :func:`weight_rms`: ``lr = 0`` at ``steps = inf`` is ``init_rms``, not ``inf``."""
    _same(estimators.weight_rms_large_snr, lr, decay, steps=steps, snr=snr, init_rms=init)


@settings(max_examples=200, deadline=None)
@given(lr=LR, decay=DECAY, beta1=BETA1)
def test_closed_forms_backends_agree(lr, decay, beta1):
    """The steady-state closed forms, including the inputs they refuse (``weight_decay = 0``,
    ``lr = 0`` for the timescale, ``lr * weight_decay >= 1``): the same error from both."""
    _same(estimators.weight_rms_quick, lr, decay, beta1=beta1)
    _same(estimators.equilibrium_weight_rms, lr, decay)
    _same(estimators.timescale, lr, decay)


@settings(max_examples=200, deadline=None)
@given(beta1=BETA1, snr=SNR)
def test_update_rms_backends_agree(beta1, snr):
    """``update_rms`` at ``beta1 = 0`` (exactly 1), ``snr = 0`` and large SNR."""
    _same(estimators.update_rms, beta1, snr=snr)


@settings(max_examples=200, deadline=None)
@given(lr=LR, decay=DECAY, beta1=BETA1, steps=STEPS, snr=SNR, init=INIT)
def test_sign_sgdm_source_backends_agree(lr, decay, beta1, steps, snr, init):
    """The source's SignSGDMW formula: ``lr = 0`` with no decay and ``steps = inf`` is
    ``init_rms`` in both (NumPy used to return NaN there)."""
    _same(
        estimators.sign_sgdm_weight_rms,
        lr,
        decay,
        beta1=beta1,
        steps=steps,
        snr=snr,
        init_rms=init,
        formula="source",
    )


@settings(max_examples=60, deadline=None)
@given(
    lr=LR,
    decay=DECAY,
    beta1=st.one_of(st.sampled_from([0.0, 0.5]), st.floats(0.0, 0.9)),
    steps=st.one_of(st.sampled_from([0.0, 1.0, 2.0, math.inf]), st.integers(0, 10**6).map(float)),
    snr=st.one_of(st.sampled_from([0.0, 1e3]), st.floats(0.0, 1e3)),
    init=INIT,
)
def test_sign_sgdm_arcsine_backends_agree(lr, decay, beta1, steps, snr, init):
    """The arcsine series (Gauss-Legendre in NumPy, ``mpmath.quad`` in mpmath): ``lr = 0``
    with no decay and ``steps = inf`` is ``init_rms`` in both (NumPy used to raise
    OverflowError or return NaN there). ``beta1 <= 0.9`` keeps the mpmath series short."""
    _same(
        estimators.sign_sgdm_weight_rms,
        lr,
        decay,
        beta1=beta1,
        steps=steps,
        snr=snr,
        init_rms=init,
    )


@pytest.mark.parametrize("steps", [0.0, 1.0, 1e6, math.inf])
@pytest.mark.parametrize("decay", [0.0, 0.1])
@pytest.mark.parametrize("backend", ["numpy", "mpmath"])
def test_no_learning_rate_keeps_the_initialisation(backend, decay, steps):
    """The reported case: ``weight_rms(0.0, 0.1, init_rms=0.1)`` is 0.1 in both backends
    (mpmath gave ``inf``), at every ``steps`` and with or without weight decay."""
    kwargs = {"steps": steps, "init_rms": 0.1, "backend": backend}
    assert float(estimators.weight_rms(0.0, decay, **kwargs)) == 0.1
    assert float(estimators.weight_rms_large_snr(0.0, decay, **kwargs)) == 0.1
    for formula in ("arcsine", "source"):  # the square root of init_rms**2: to rounding
        value = estimators.sign_sgdm_weight_rms(0.0, decay, formula=formula, **kwargs)
        assert math.isclose(float(value), 0.1, rel_tol=1e-15)

"""Kernels printed by ``adamw-rms derive`` from the derivations. Do not edit by hand.

Each function is one derived expression after the stable reparametrisation described
in :mod:`adamw_rms.codegen`; ``*_numpy`` takes float64 arrays, ``*_mpmath`` mpmath
numbers. Validation and special cases live in :mod:`adamw_rms.estimators`.
"""

# ruff: noqa
import numpy


def weight_rms_sq_mpmath(lr, weight_decay, decay_power, decay_sum, snr, init_rms):
    """weight_rms_sq from step weight_rms.theta_rms: decay_power**2*init_rms**2 + decay_sum*lr**2*(-decay_sum*lr*weight_decay + 2*decay_sum*snr + 2)/(2*(snr + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _scale = 1/(2*snr + 2)
    _poly = 2*decay_power**2*init_rms**2*snr + 2*decay_power**2*init_rms**2 + decay_sum*(decay_sum*(-lr**3*weight_decay + 2*lr**2*snr) + 2*lr**2)
    return _poly*_scale


def weight_rms_init_factor_numpy(decay_power):
    """weight_rms_init_factor from step weight_rms.theta_rms: decay_power."""
    return decay_power


def weight_rms_noise_sq_numpy(lr, decay_per_step, decay_sum, snr):
    """weight_rms_noise_sq from step weight_rms.theta_rms: -decay_sum*lr**2*(decay_per_step*decay_sum - 2*decay_sum*snr - 2)/(2*snr + 2)."""
    _scale = lr**2/(2*snr + 2)
    _poly = decay_sum*(decay_sum*(-decay_per_step + 2*snr) + 2)
    return _poly*_scale


def weight_rms_large_snr_sq_numpy(lr, weight_decay, decay_power, decay_sum, snr, init_rms):
    """weight_rms_large_snr_sq from step weight_rms.theta_rms_large_snr: decay_power**2*init_rms**2 + decay_sum**2*lr**2*snr/(snr + 1)."""
    _scale = (snr + 1)**(-1.0)
    _poly = decay_power**2*init_rms**2*snr + decay_power**2*init_rms**2 + decay_sum**2*lr**2*snr
    return _poly*_scale


def weight_rms_large_snr_sq_mpmath(lr, weight_decay, decay_power, decay_sum, snr, init_rms):
    """weight_rms_large_snr_sq from step weight_rms.theta_rms_large_snr: decay_power**2*init_rms**2 + decay_sum**2*lr**2*snr/(snr + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _scale = 1/(snr + 1)
    _poly = decay_power**2*init_rms**2*snr + decay_power**2*init_rms**2 + decay_sum**2*lr**2*snr
    return _poly*_scale


def weight_rms_quick_numpy(lr, weight_decay, beta1):
    """weight_rms_quick from step weight_rms.quick_estimate: sqrt(2)*sqrt(lr)*sqrt(1 - beta1)/(2*sqrt(weight_decay)*sqrt(beta1 + 1))."""
    return (1/2)*numpy.sqrt(2)*numpy.sqrt(-lr*(beta1 - 1)/(weight_decay*(beta1 + 1)))


def weight_rms_quick_mpmath(lr, weight_decay, beta1):
    """weight_rms_quick from step weight_rms.quick_estimate: sqrt(2)*sqrt(lr)*sqrt(1 - beta1)/(2*sqrt(weight_decay)*sqrt(beta1 + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(2))*mpmath.sqrt(2)*mpmath.sqrt(-lr*(beta1 - 1)/(weight_decay*(beta1 + 1)))


def equilibrium_weight_rms_numpy(lr, weight_decay):
    """equilibrium_weight_rms from step weight_rms.theta_rms_simple: sqrt(2)*sqrt(lr)/(2*sqrt(weight_decay))."""
    return (1/2)*numpy.sqrt(2)*numpy.sqrt(lr/weight_decay)


def equilibrium_weight_rms_mpmath(lr, weight_decay):
    """equilibrium_weight_rms from step weight_rms.theta_rms_simple: sqrt(2)*sqrt(lr)/(2*sqrt(weight_decay))."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(2))*mpmath.sqrt(2)*mpmath.sqrt(lr/weight_decay)


def update_rms_numpy(beta1, snr):
    """update_rms from step update_rms.update_rms_sq: sqrt(snr + (1 - beta1)/(beta1 + 1))/sqrt(snr + 1)."""
    _t0 = beta1*snr + snr + 1
    return numpy.sqrt((_t0 - beta1)/(_t0 + beta1))


def update_rms_mpmath(beta1, snr):
    """update_rms from step update_rms.update_rms_sq: sqrt(snr + (1 - beta1)/(beta1 + 1))/sqrt(snr + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1*snr + snr + 1
    return mpmath.sqrt((_t0 - beta1)/(_t0 + beta1))


def timescale_numpy(lr, weight_decay):
    """timescale from step weight_rms.beta3_def: 1/(lr*weight_decay)."""
    return 1/(lr*weight_decay)


def timescale_mpmath(lr, weight_decay):
    """timescale from step weight_rms.beta3_def: 1/(lr*weight_decay)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 1/(lr*weight_decay)

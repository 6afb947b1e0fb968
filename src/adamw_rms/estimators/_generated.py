"""Kernels printed by ``adamw-rms derive`` from the derivations. Do not edit by hand.

Each function is one derived expression after the stable reparametrisation described
in :mod:`adamw_rms.codegen`; ``*_numpy`` takes float64 arrays, ``*_mpmath`` mpmath
numbers. Validation and special cases live in :mod:`adamw_rms.estimators`.
"""

# ruff: noqa
import math

import numpy

# NumPy has no erf; the standard library's, elementwise (exact to float64 rounding).
_erf = numpy.vectorize(math.erf, otypes=[float])


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


def equilibrium_weight_decay_numpy(lr, target_rms, snr):
    """equilibrium_weight_decay from step weight_rms.weight_decay_for_rms: (lr_over_rms + sqrt(lr_over_rms**2 + 16*snr**2 + 16*snr))/(4*target_rms*(snr + 1)), lr_over_rms = lr/target_rms."""
    lr_over_rms = lr/target_rms
    return (1/4)*(lr_over_rms + numpy.sqrt(lr_over_rms**2 + 16*snr**2 + 16*snr))/(target_rms*(snr + 1))


def equilibrium_weight_decay_mpmath(lr, target_rms, snr):
    """equilibrium_weight_decay from step weight_rms.weight_decay_for_rms: (lr_over_rms + sqrt(lr_over_rms**2 + 16*snr**2 + 16*snr))/(4*target_rms*(snr + 1)), lr_over_rms = lr/target_rms."""
    import mpmath  # only the arbitrary-precision backend needs it
    lr_over_rms = lr/target_rms
    return (mpmath.mpf(1)/mpmath.mpf(4))*(lr_over_rms + mpmath.sqrt(lr_over_rms**2 + 16*snr**2 + 16*snr))/(target_rms*(snr + 1))


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


def sign_sgdm_source_weight_rms_sq_numpy(lr, weight_decay, beta1, decay_power, decay_sum, snr, init_rms):
    """sign_sgdm_source_weight_rms_sq from step sign_sgdm.theta_rms_sign: decay_power**2*init_rms**2 + decay_sum*lr**2*(beta1 + 1)*(-decay_sum*lr*weight_decay + 2*decay_sum*snr + 2)/(2*(beta1*snr - beta1 + snr + 1))."""
    _scale = (2*beta1*snr - 2*beta1 + 2*snr + 2)**(-1.0)
    _poly = 2*beta1*decay_power**2*init_rms**2*snr - 2*beta1*decay_power**2*init_rms**2 + 2*decay_power**2*init_rms**2*snr + 2*decay_power**2*init_rms**2 + decay_sum*(2*beta1*lr**2 + decay_sum*(-beta1*lr**3*weight_decay + 2*beta1*lr**2*snr - lr**3*weight_decay + 2*lr**2*snr) + 2*lr**2)
    return _poly*_scale


def sign_sgdm_source_weight_rms_sq_mpmath(lr, weight_decay, beta1, decay_power, decay_sum, snr, init_rms):
    """sign_sgdm_source_weight_rms_sq from step sign_sgdm.theta_rms_sign: decay_power**2*init_rms**2 + decay_sum*lr**2*(beta1 + 1)*(-decay_sum*lr*weight_decay + 2*decay_sum*snr + 2)/(2*(beta1*snr - beta1 + snr + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _scale = 1/(2*beta1*snr - 2*beta1 + 2*snr + 2)
    _poly = 2*beta1*decay_power**2*init_rms**2*snr - 2*beta1*decay_power**2*init_rms**2 + 2*decay_power**2*init_rms**2*snr + 2*decay_power**2*init_rms**2 + decay_sum*(2*beta1*lr**2 + decay_sum*(-beta1*lr**3*weight_decay + 2*beta1*lr**2*snr - lr**3*weight_decay + 2*lr**2*snr) + 2*lr**2)
    return _poly*_scale


def sign_update_mean_numpy(beta1, snr):
    """sign_update_mean from step sign_sgdm.u_mean: erf(sqrt(2)*sqrt(snr)*sqrt(beta1 + 1)*sqrt(1/(1 - beta1))/2)."""
    return _erf((1/2)*numpy.sqrt(2)*numpy.sqrt(snr)*numpy.sqrt(-1/(beta1 - 1))*numpy.sqrt(beta1 + 1))


def sign_update_mean_mpmath(beta1, snr):
    """sign_update_mean from step sign_sgdm.u_mean: erf(sqrt(2)*sqrt(snr)*sqrt(beta1 + 1)*sqrt(1/(1 - beta1))/2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return mpmath.erf((mpmath.mpf(1)/mpmath.mpf(2))*mpmath.sqrt(2)*mpmath.sqrt(snr)*mpmath.sqrt(-1/(beta1 - 1))*mpmath.sqrt(beta1 + 1))


def sign_covariance_scale_numpy():
    """sign_covariance_scale from step sign_sgdm.u_autocovariance_with_mean: 2/pi."""
    return 2/numpy.pi


def sign_covariance_scale_mpmath():
    """sign_covariance_scale from step sign_sgdm.u_autocovariance_with_mean: 2/pi."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 2/mpmath.pi


def sign_covariance_upper_numpy(beta1, lag):
    """sign_covariance_upper from step sign_sgdm.u_autocovariance_with_mean: asin(beta1**lag)."""
    return numpy.arcsin(beta1**lag)


def sign_covariance_upper_mpmath(beta1, lag):
    """sign_covariance_upper from step sign_sgdm.u_autocovariance_with_mean: asin(beta1**lag)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return mpmath.asin(beta1**lag)


def sign_covariance_integrand_numpy(beta1, snr, angle):
    """sign_covariance_integrand from step sign_sgdm.u_autocovariance_with_mean: exp(-snr*(beta1 + 1)/((1 - beta1)*(sin(angle) + 1)))."""
    return numpy.exp(snr*(beta1 + 1)/((beta1 - 1)*(numpy.sin(angle) + 1)))


def sign_covariance_integrand_mpmath(beta1, snr, angle):
    """sign_covariance_integrand from step sign_sgdm.u_autocovariance_with_mean: exp(-snr*(beta1 + 1)/((1 - beta1)*(sin(angle) + 1)))."""
    import mpmath  # only the arbitrary-precision backend needs it
    return mpmath.exp(snr*(beta1 + 1)/((beta1 - 1)*(mpmath.sin(angle) + 1)))


def kappa_linear_closed_form_numpy(end, start, steps, weight_decay):
    """kappa_linear_closed_form from step schedules.kappa_linear: steps*weight_decay*(end + start)/2."""
    return (1/2)*steps*weight_decay*(end + start)


def kappa_linear_closed_form_mpmath(end, start, steps, weight_decay):
    """kappa_linear_closed_form from step schedules.kappa_linear: steps*weight_decay*(end + start)/2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(2))*steps*weight_decay*(end + start)


def nu_linear_closed_form_numpy(end, start, steps):
    """nu_linear_closed_form from step schedules.nu_linear: steps*(end**2 + end*start + start**2)/3."""
    return (1/3)*steps*(end**2 + end*start + start**2)


def nu_linear_closed_form_mpmath(end, start, steps):
    """nu_linear_closed_form from step schedules.nu_linear: steps*(end**2 + end*start + start**2)/3."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(3))*steps*(end**2 + end*start + start**2)


def kappa_cosine_closed_form_numpy(final, peak, steps, weight_decay):
    """kappa_cosine_closed_form from step schedules.kappa_cosine: steps*weight_decay*(final + peak)/2."""
    return (1/2)*steps*weight_decay*(final + peak)


def kappa_cosine_closed_form_mpmath(final, peak, steps, weight_decay):
    """kappa_cosine_closed_form from step schedules.kappa_cosine: steps*weight_decay*(final + peak)/2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(2))*steps*weight_decay*(final + peak)


def nu_cosine_closed_form_numpy(final, peak, steps):
    """nu_cosine_closed_form from step schedules.nu_cosine: steps*(3*final**2 + 2*final*peak + 3*peak**2)/8."""
    return (1/8)*steps*(3*final**2 + 2*final*peak + 3*peak**2)


def nu_cosine_closed_form_mpmath(final, peak, steps):
    """nu_cosine_closed_form from step schedules.nu_cosine: steps*(3*final**2 + 2*final*peak + 3*peak**2)/8."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(8))*steps*(3*final**2 + 2*final*peak + 3*peak**2)


def kappa_wsd_closed_form_numpy(decay_start, peak, steps, warmup_end, weight_decay):
    """kappa_wsd_closed_form from step schedules.kappa_wsd: peak*weight_decay*(decay_start + steps - warmup_end)/2."""
    return (1/2)*peak*weight_decay*(decay_start + steps - warmup_end)


def kappa_wsd_closed_form_mpmath(decay_start, peak, steps, warmup_end, weight_decay):
    """kappa_wsd_closed_form from step schedules.kappa_wsd: peak*weight_decay*(decay_start + steps - warmup_end)/2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(2))*peak*weight_decay*(decay_start + steps - warmup_end)


def nu_wsd_closed_form_numpy(decay_start, peak, steps, warmup_end):
    """nu_wsd_closed_form from step schedules.nu_wsd: peak**2*(2*decay_start + steps - 2*warmup_end)/3."""
    return (1/3)*peak**2*(2*decay_start + steps - 2*warmup_end)


def nu_wsd_closed_form_mpmath(decay_start, peak, steps, warmup_end):
    """nu_wsd_closed_form from step schedules.nu_wsd: peak**2*(2*decay_start + steps - 2*warmup_end)/3."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(3))*peak**2*(2*decay_start + steps - 2*warmup_end)

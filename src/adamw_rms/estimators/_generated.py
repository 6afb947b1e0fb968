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

# The separable lag terms of step corrected.update_covariance (corrected_lag_*_n).
CORRECTED_LAG_TERMS = 9


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


def corrected_update_mean_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_update_mean from step corrected.update_mean: -sqrt(snr)*sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*(1 - beta1)*(1 - beta2)*(-beta1**step*beta2**step + 1)/((1 - beta2**step)*(eps_ratio + sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1))**2*sqrt(snr + 1)*(-beta1*beta2 + 1)*(-beta1**step*bias + 1)) + sqrt(snr)*(1 - beta1**step)*(1 - beta2)*(beta2**step + 1)*(2*snr + 1)*(eps_ratio*sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1) + 3*(1 - beta2**step)*(snr + 1)/(-beta2**step*bias + 1))/(4*(1 - beta2**step)*(beta2 + 1)*(eps_ratio + sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1))**3*(snr + 1)**2*(-beta1**step*bias + 1)) + sqrt(snr)*(1 - beta1**step)/((eps_ratio + sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1))*(-beta1**step*bias + 1))."""
    _t0 = beta1**step
    _t1 = snr + 1
    _t2 = numpy.sqrt(_t1)
    _t3 = beta2**step
    _t4 = _t3 - 1
    _t5 = _t4/(_t3*bias - 1)
    _t6 = numpy.sqrt(_t5)
    _t7 = _t2*_t6
    _t8 = _t7 + eps_ratio
    _t9 = _t8**(-1.0)
    _t10 = (beta2 - 1)/_t4
    _t11 = _t0 - 1
    return _t9*numpy.sqrt(snr)*(-_t10*_t6*_t9*(beta1 - 1)*(_t0*_t3 - 1)/(_t2*(beta1*beta2 - 1)) + _t11 + (1/4)*_t10*_t11*(_t3 + 1)*(2*snr + 1)*(3*_t1*_t5 + _t7*eps_ratio)/(_t1**2*_t8**2*(beta2 + 1)))/(_t0*bias - 1)


def corrected_update_mean_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_update_mean from step corrected.update_mean: -sqrt(snr)*sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*(1 - beta1)*(1 - beta2)*(-beta1**step*beta2**step + 1)/((1 - beta2**step)*(eps_ratio + sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1))**2*sqrt(snr + 1)*(-beta1*beta2 + 1)*(-beta1**step*bias + 1)) + sqrt(snr)*(1 - beta1**step)*(1 - beta2)*(beta2**step + 1)*(2*snr + 1)*(eps_ratio*sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1) + 3*(1 - beta2**step)*(snr + 1)/(-beta2**step*bias + 1))/(4*(1 - beta2**step)*(beta2 + 1)*(eps_ratio + sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1))**3*(snr + 1)**2*(-beta1**step*bias + 1)) + sqrt(snr)*(1 - beta1**step)/((eps_ratio + sqrt((1 - beta2**step)/(-beta2**step*bias + 1))*sqrt(snr + 1))*(-beta1**step*bias + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = snr + 1
    _t2 = mpmath.sqrt(_t1)
    _t3 = beta2**step
    _t4 = _t3 - 1
    _t5 = _t4/(_t3*bias - 1)
    _t6 = mpmath.sqrt(_t5)
    _t7 = _t2*_t6
    _t8 = _t7 + eps_ratio
    _t9 = 1/_t8
    _t10 = (beta2 - 1)/_t4
    _t11 = _t0 - 1
    return _t9*mpmath.sqrt(snr)*(-_t10*_t6*_t9*(beta1 - 1)*(_t0*_t3 - 1)/(_t2*(beta1*beta2 - 1)) + _t11 + (mpmath.mpf(1)/mpmath.mpf(4))*_t10*_t11*(_t3 + 1)*(2*snr + 1)*(3*_t1*_t5 + _t7*eps_ratio)/(_t1**2*_t8**2*(beta2 + 1)))/(_t0*bias - 1)


def corrected_lag_early_0_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_0 from step corrected.update_covariance: (beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)/((beta1 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    _t0 = beta1**step
    _t1 = beta2**step
    return (_t0 - 1)*(_t0 + 1)*(beta1 - 1)/((beta1 + 1)*(eps_ratio + numpy.sqrt(-1/(_t1*bias - 1))*numpy.sqrt(1 - _t1)*numpy.sqrt(snr + 1))*(_t0*bias - 1))


def corrected_lag_early_0_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_0 from step corrected.update_covariance: (beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)/((beta1 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = beta2**step
    return (_t0 - 1)*(_t0 + 1)*(beta1 - 1)/((beta1 + 1)*(eps_ratio + mpmath.sqrt(-1/(_t1*bias - 1))*mpmath.sqrt(1 - _t1)*mpmath.sqrt(snr + 1))*(_t0*bias - 1))


def corrected_lag_late_0_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_0 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    _t0 = beta2**step
    return 1/((eps_ratio + numpy.sqrt(-1/(_t0*bias - 1))*numpy.sqrt(1 - _t0)*numpy.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_late_0_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_0 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    return 1/((eps_ratio + mpmath.sqrt(-1/(_t0*bias - 1))*mpmath.sqrt(1 - _t0)*mpmath.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_ratio_0_numpy(beta1, beta2):
    """corrected_lag_ratio_0 from step corrected.update_covariance: beta1."""
    return beta1


def corrected_lag_ratio_0_mpmath(beta1, beta2):
    """corrected_lag_ratio_0 from step corrected.update_covariance: beta1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1


def corrected_lag_early_1_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_1 from step corrected.update_covariance: (beta1 - 1)**2*(beta2 - 1)*(beta1**(2*step)*beta2**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*sqrt(snr + 1)*(beta1**2*beta2 - 1)*(beta1**step*bias - 1))."""
    _t0 = numpy.sqrt(snr + 1)
    _t1 = beta2**step
    _t2 = numpy.sqrt(1 - _t1)
    _t3 = numpy.sqrt(-1/(_t1*bias - 1))
    return _t3*(beta1 - 1)**2*(beta2 - 1)*(_t1*beta1**(2*step) - 1)/(_t0*_t2*(beta1**2*beta2 - 1)*(beta1**step*bias - 1)*(_t0*_t2*_t3 + eps_ratio)**2)


def corrected_lag_early_1_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_1 from step corrected.update_covariance: (beta1 - 1)**2*(beta2 - 1)*(beta1**(2*step)*beta2**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*sqrt(snr + 1)*(beta1**2*beta2 - 1)*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = mpmath.sqrt(snr + 1)
    _t1 = beta2**step
    _t2 = mpmath.sqrt(1 - _t1)
    _t3 = mpmath.sqrt(-1/(_t1*bias - 1))
    return _t3*(beta1 - 1)**2*(beta2 - 1)*(_t1*beta1**(2*step) - 1)/(_t0*_t2*(beta1**2*beta2 - 1)*(beta1**step*bias - 1)*(_t0*_t2*_t3 + eps_ratio)**2)


def corrected_lag_late_1_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_1 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    _t0 = beta2**step
    return 1/((eps_ratio + numpy.sqrt(-1/(_t0*bias - 1))*numpy.sqrt(1 - _t0)*numpy.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_late_1_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_1 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    return 1/((eps_ratio + mpmath.sqrt(-1/(_t0*bias - 1))*mpmath.sqrt(1 - _t0)*mpmath.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_ratio_1_numpy(beta1, beta2):
    """corrected_lag_ratio_1 from step corrected.update_covariance: beta1."""
    return beta1


def corrected_lag_ratio_1_mpmath(beta1, beta2):
    """corrected_lag_ratio_1 from step corrected.update_covariance: beta1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1


def corrected_lag_early_2_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_2 from step corrected.update_covariance: (beta1 - 1)**2*(beta2 - 1)*(beta1**(2*step)*beta2**step - 1)/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*sqrt(snr + 1)*(beta1**2*beta2 - 1)*(beta1**step*bias - 1))."""
    _t0 = numpy.sqrt(snr + 1)
    _t1 = beta2**step
    return (beta1 - 1)**2*(beta2 - 1)*(_t1*beta1**(2*step) - 1)/(_t0*(beta1**2*beta2 - 1)*(beta1**step*bias - 1)*(_t0*numpy.sqrt(-1/(_t1*bias - 1))*numpy.sqrt(1 - _t1) + eps_ratio))


def corrected_lag_early_2_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_2 from step corrected.update_covariance: (beta1 - 1)**2*(beta2 - 1)*(beta1**(2*step)*beta2**step - 1)/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*sqrt(snr + 1)*(beta1**2*beta2 - 1)*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = mpmath.sqrt(snr + 1)
    _t1 = beta2**step
    return (beta1 - 1)**2*(beta2 - 1)*(_t1*beta1**(2*step) - 1)/(_t0*(beta1**2*beta2 - 1)*(beta1**step*bias - 1)*(_t0*mpmath.sqrt(-1/(_t1*bias - 1))*mpmath.sqrt(1 - _t1) + eps_ratio))


def corrected_lag_late_2_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_2 from step corrected.update_covariance: sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    _t0 = beta2**step
    _t1 = numpy.sqrt(1 - _t0)
    _t2 = numpy.sqrt(-1/(_t0*bias - 1))
    return _t2/(_t1*(beta1**step*bias - 1)*(_t1*_t2*numpy.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_late_2_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_2 from step corrected.update_covariance: sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    _t1 = mpmath.sqrt(1 - _t0)
    _t2 = mpmath.sqrt(-1/(_t0*bias - 1))
    return _t2/(_t1*(beta1**step*bias - 1)*(_t1*_t2*mpmath.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_ratio_2_numpy(beta1, beta2):
    """corrected_lag_ratio_2 from step corrected.update_covariance: beta1*beta2."""
    return beta1*beta2


def corrected_lag_ratio_2_mpmath(beta1, beta2):
    """corrected_lag_ratio_2 from step corrected.update_covariance: beta1*beta2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1*beta2


def corrected_lag_early_3_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_3 from step corrected.update_covariance: snr*(beta1 - 1)*(beta1**step - 1)*(beta2 - 1)*(beta1**step*beta2**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*sqrt(snr + 1)*(beta1*beta2 - 1)*(beta1**step*bias - 1))."""
    _t0 = beta1**step
    _t1 = numpy.sqrt(snr + 1)
    _t2 = beta2**step
    _t3 = numpy.sqrt(1 - _t2)
    _t4 = numpy.sqrt(-1/(_t2*bias - 1))
    return _t4*snr*(_t0 - 1)*(beta1 - 1)*(beta2 - 1)*(_t0*_t2 - 1)/(_t1*_t3*(_t0*bias - 1)*(beta1*beta2 - 1)*(_t1*_t3*_t4 + eps_ratio)**2)


def corrected_lag_early_3_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_3 from step corrected.update_covariance: snr*(beta1 - 1)*(beta1**step - 1)*(beta2 - 1)*(beta1**step*beta2**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*sqrt(snr + 1)*(beta1*beta2 - 1)*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = mpmath.sqrt(snr + 1)
    _t2 = beta2**step
    _t3 = mpmath.sqrt(1 - _t2)
    _t4 = mpmath.sqrt(-1/(_t2*bias - 1))
    return _t4*snr*(_t0 - 1)*(beta1 - 1)*(beta2 - 1)*(_t0*_t2 - 1)/(_t1*_t3*(_t0*bias - 1)*(beta1*beta2 - 1)*(_t1*_t3*_t4 + eps_ratio)**2)


def corrected_lag_late_3_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_3 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    _t0 = beta2**step
    return 1/((eps_ratio + numpy.sqrt(-1/(_t0*bias - 1))*numpy.sqrt(1 - _t0)*numpy.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_late_3_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_3 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    return 1/((eps_ratio + mpmath.sqrt(-1/(_t0*bias - 1))*mpmath.sqrt(1 - _t0)*mpmath.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_ratio_3_numpy(beta1, beta2):
    """corrected_lag_ratio_3 from step corrected.update_covariance: beta1."""
    return beta1


def corrected_lag_ratio_3_mpmath(beta1, beta2):
    """corrected_lag_ratio_3 from step corrected.update_covariance: beta1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1


def corrected_lag_early_4_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_4 from step corrected.update_covariance: (beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)*(beta2 - 1)*(beta2**step + 1)*(2*snr + 1)*(beta2**step*bias*eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) + 3*beta2**step*snr + 3*beta2**step - eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) - 3*snr - 3)/(4*(beta1 + 1)*(beta2 + 1)*(beta2**step - 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**3*(snr + 1)**2*(beta1**step*bias - 1)*(beta2**step*bias - 1))."""
    _t0 = beta1**step
    _t1 = beta2**step
    _t2 = snr + 1
    _t3 = _t1 - 1
    _t4 = _t1*bias
    _t5 = (_t4 - 1)**(-1.0)
    _t6 = numpy.sqrt(_t2)*numpy.sqrt(-_t3)*numpy.sqrt(-_t5)
    _t7 = 3*snr
    _t8 = _t6*eps_ratio
    return (1/4)*_t5*(_t0 - 1)*(_t0 + 1)*(_t1 + 1)*(beta1 - 1)*(beta2 - 1)*(2*snr + 1)*(_t1*_t7 + 3*_t1 + _t4*_t8 - _t7 - _t8 - 3)/(_t2**2*_t3*(_t6 + eps_ratio)**3*(beta1 + 1)*(beta2 + 1)*(_t0*bias - 1))


def corrected_lag_early_4_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_4 from step corrected.update_covariance: (beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)*(beta2 - 1)*(beta2**step + 1)*(2*snr + 1)*(beta2**step*bias*eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) + 3*beta2**step*snr + 3*beta2**step - eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) - 3*snr - 3)/(4*(beta1 + 1)*(beta2 + 1)*(beta2**step - 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**3*(snr + 1)**2*(beta1**step*bias - 1)*(beta2**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = beta2**step
    _t2 = snr + 1
    _t3 = _t1 - 1
    _t4 = _t1*bias
    _t5 = 1/(_t4 - 1)
    _t6 = mpmath.sqrt(_t2)*mpmath.sqrt(-_t3)*mpmath.sqrt(-_t5)
    _t7 = 3*snr
    _t8 = _t6*eps_ratio
    return (mpmath.mpf(1)/mpmath.mpf(4))*_t5*(_t0 - 1)*(_t0 + 1)*(_t1 + 1)*(beta1 - 1)*(beta2 - 1)*(2*snr + 1)*(_t1*_t7 + 3*_t1 + _t4*_t8 - _t7 - _t8 - 3)/(_t2**2*_t3*(_t6 + eps_ratio)**3*(beta1 + 1)*(beta2 + 1)*(_t0*bias - 1))


def corrected_lag_late_4_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_4 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    _t0 = beta2**step
    return 1/((eps_ratio + numpy.sqrt(-1/(_t0*bias - 1))*numpy.sqrt(1 - _t0)*numpy.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_late_4_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_4 from step corrected.update_covariance: 1/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    return 1/((eps_ratio + mpmath.sqrt(-1/(_t0*bias - 1))*mpmath.sqrt(1 - _t0)*mpmath.sqrt(snr + 1))*(beta1**step*bias - 1))


def corrected_lag_ratio_4_numpy(beta1, beta2):
    """corrected_lag_ratio_4 from step corrected.update_covariance: beta1."""
    return beta1


def corrected_lag_ratio_4_mpmath(beta1, beta2):
    """corrected_lag_ratio_4 from step corrected.update_covariance: beta1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1


def corrected_lag_early_5_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_5 from step corrected.update_covariance: snr*(beta1 - 1)*(beta2 - 1)*(beta1**step*beta2**step - 1)/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*sqrt(snr + 1)*(beta1*beta2 - 1)*(beta1**step*bias - 1))."""
    _t0 = numpy.sqrt(snr + 1)
    _t1 = beta1**step
    _t2 = beta2**step
    return snr*(beta1 - 1)*(beta2 - 1)*(_t1*_t2 - 1)/(_t0*(_t1*bias - 1)*(beta1*beta2 - 1)*(_t0*numpy.sqrt(-1/(_t2*bias - 1))*numpy.sqrt(1 - _t2) + eps_ratio))


def corrected_lag_early_5_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_5 from step corrected.update_covariance: snr*(beta1 - 1)*(beta2 - 1)*(beta1**step*beta2**step - 1)/((eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*sqrt(snr + 1)*(beta1*beta2 - 1)*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = mpmath.sqrt(snr + 1)
    _t1 = beta1**step
    _t2 = beta2**step
    return snr*(beta1 - 1)*(beta2 - 1)*(_t1*_t2 - 1)/(_t0*(_t1*bias - 1)*(beta1*beta2 - 1)*(_t0*mpmath.sqrt(-1/(_t2*bias - 1))*mpmath.sqrt(1 - _t2) + eps_ratio))


def corrected_lag_late_5_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_5 from step corrected.update_covariance: (beta1**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    _t0 = beta1**step
    _t1 = beta2**step
    _t2 = numpy.sqrt(1 - _t1)
    _t3 = numpy.sqrt(-1/(_t1*bias - 1))
    return _t3*(_t0 - 1)/(_t2*(_t0*bias - 1)*(_t2*_t3*numpy.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_late_5_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_5 from step corrected.update_covariance: (beta1**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = beta2**step
    _t2 = mpmath.sqrt(1 - _t1)
    _t3 = mpmath.sqrt(-1/(_t1*bias - 1))
    return _t3*(_t0 - 1)/(_t2*(_t0*bias - 1)*(_t2*_t3*mpmath.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_ratio_5_numpy(beta1, beta2):
    """corrected_lag_ratio_5 from step corrected.update_covariance: beta2."""
    return beta2


def corrected_lag_ratio_5_mpmath(beta1, beta2):
    """corrected_lag_ratio_5 from step corrected.update_covariance: beta2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta2


def corrected_lag_early_6_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_6 from step corrected.update_covariance: (beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)*(beta2 - 1)*(2*snr + 1)/(4*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(snr + 1)**2*(beta1**step*bias - 1))."""
    _t0 = beta1**step
    _t1 = snr + 1
    _t2 = beta2**step
    return (1/4)*(_t0 - 1)*(_t0 + 1)*(beta1 - 1)*(beta2 - 1)*(2*snr + 1)/(_t1**2*(beta1 + 1)*(beta2 + 1)*(_t0*bias - 1)*(numpy.sqrt(_t1)*numpy.sqrt(-1/(_t2*bias - 1))*numpy.sqrt(1 - _t2) + eps_ratio))


def corrected_lag_early_6_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_6 from step corrected.update_covariance: (beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)*(beta2 - 1)*(2*snr + 1)/(4*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))*(snr + 1)**2*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = snr + 1
    _t2 = beta2**step
    return (mpmath.mpf(1)/mpmath.mpf(4))*(_t0 - 1)*(_t0 + 1)*(beta1 - 1)*(beta2 - 1)*(2*snr + 1)/(_t1**2*(beta1 + 1)*(beta2 + 1)*(_t0*bias - 1)*(mpmath.sqrt(_t1)*mpmath.sqrt(-1/(_t2*bias - 1))*mpmath.sqrt(1 - _t2) + eps_ratio))


def corrected_lag_late_6_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_6 from step corrected.update_covariance: (beta2**step + 1)*(beta2**step*bias*eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) + 3*beta2**step*snr + 3*beta2**step - eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) - 3*snr - 3)/((beta2**step - 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**3*(beta1**step*bias - 1)*(beta2**step*bias - 1))."""
    _t0 = beta2**step
    _t1 = _t0 - 1
    _t2 = _t0*bias
    _t3 = (_t2 - 1)**(-1.0)
    _t4 = numpy.sqrt(-_t1)*numpy.sqrt(-_t3)*numpy.sqrt(snr + 1)
    _t5 = 3*snr
    _t6 = _t4*eps_ratio
    return _t3*(_t0 + 1)*(_t0*_t5 + 3*_t0 + _t2*_t6 - _t5 - _t6 - 3)/(_t1*(_t4 + eps_ratio)**3*(beta1**step*bias - 1))


def corrected_lag_late_6_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_6 from step corrected.update_covariance: (beta2**step + 1)*(beta2**step*bias*eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) + 3*beta2**step*snr + 3*beta2**step - eps_ratio*sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)) - 3*snr - 3)/((beta2**step - 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**3*(beta1**step*bias - 1)*(beta2**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    _t1 = _t0 - 1
    _t2 = _t0*bias
    _t3 = 1/(_t2 - 1)
    _t4 = mpmath.sqrt(-_t1)*mpmath.sqrt(-_t3)*mpmath.sqrt(snr + 1)
    _t5 = 3*snr
    _t6 = _t4*eps_ratio
    return _t3*(_t0 + 1)*(_t0*_t5 + 3*_t0 + _t2*_t6 - _t5 - _t6 - 3)/(_t1*(_t4 + eps_ratio)**3*(beta1**step*bias - 1))


def corrected_lag_ratio_6_numpy(beta1, beta2):
    """corrected_lag_ratio_6 from step corrected.update_covariance: beta1."""
    return beta1


def corrected_lag_ratio_6_mpmath(beta1, beta2):
    """corrected_lag_ratio_6 from step corrected.update_covariance: beta1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1


def corrected_lag_early_7_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_7 from step corrected.update_covariance: -sqrt(1 - beta2**step)*(beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)*(beta2 - 1)*(beta2**step + 1)*(2*snr + 1)*sqrt(1/(-beta2**step*bias + 1))/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(snr + 1)*(beta1**step*bias - 1))."""
    _t0 = snr + 1
    _t1 = beta1**step
    _t2 = beta2**step
    _t3 = numpy.sqrt(-1/(_t2*bias - 1))*numpy.sqrt(1 - _t2)
    return -1/2*_t3*(_t1 - 1)*(_t1 + 1)*(_t2 + 1)*(beta1 - 1)*(beta2 - 1)*(2*snr + 1)/(_t0*(beta1 + 1)*(beta2 + 1)*(numpy.sqrt(_t0)*_t3 + eps_ratio)**2*(_t1*bias - 1))


def corrected_lag_early_7_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_7 from step corrected.update_covariance: -sqrt(1 - beta2**step)*(beta1 - 1)*(beta1**step - 1)*(beta1**step + 1)*(beta2 - 1)*(beta2**step + 1)*(2*snr + 1)*sqrt(1/(-beta2**step*bias + 1))/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(snr + 1)*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = snr + 1
    _t1 = beta1**step
    _t2 = beta2**step
    _t3 = mpmath.sqrt(-1/(_t2*bias - 1))*mpmath.sqrt(1 - _t2)
    return -mpmath.mpf(1)/mpmath.mpf(2)*_t3*(_t1 - 1)*(_t1 + 1)*(_t2 + 1)*(beta1 - 1)*(beta2 - 1)*(2*snr + 1)/(_t0*(beta1 + 1)*(beta2 + 1)*(mpmath.sqrt(_t0)*_t3 + eps_ratio)**2*(_t1*bias - 1))


def corrected_lag_late_7_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_7 from step corrected.update_covariance: sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    _t0 = beta2**step
    _t1 = numpy.sqrt(1 - _t0)
    _t2 = numpy.sqrt(-1/(_t0*bias - 1))
    return _t2/(_t1*(beta1**step*bias - 1)*(_t1*_t2*numpy.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_late_7_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_7 from step corrected.update_covariance: sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2**step
    _t1 = mpmath.sqrt(1 - _t0)
    _t2 = mpmath.sqrt(-1/(_t0*bias - 1))
    return _t2/(_t1*(beta1**step*bias - 1)*(_t1*_t2*mpmath.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_ratio_7_numpy(beta1, beta2):
    """corrected_lag_ratio_7 from step corrected.update_covariance: beta1*beta2."""
    return beta1*beta2


def corrected_lag_ratio_7_mpmath(beta1, beta2):
    """corrected_lag_ratio_7 from step corrected.update_covariance: beta1*beta2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1*beta2


def corrected_lag_early_8_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_8 from step corrected.update_covariance: -snr*sqrt(1 - beta2**step)*(beta1**step - 1)*(beta2 - 1)*(beta2**step + 1)*(2*snr + 1)*sqrt(1/(-beta2**step*bias + 1))/(2*(beta2 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(snr + 1)*(beta1**step*bias - 1))."""
    _t0 = snr + 1
    _t1 = beta1**step
    _t2 = beta2**step
    _t3 = numpy.sqrt(-1/(_t2*bias - 1))*numpy.sqrt(1 - _t2)
    return -1/2*_t3*snr*(_t1 - 1)*(_t2 + 1)*(beta2 - 1)*(2*snr + 1)/(_t0*(beta2 + 1)*(numpy.sqrt(_t0)*_t3 + eps_ratio)**2*(_t1*bias - 1))


def corrected_lag_early_8_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_early_8 from step corrected.update_covariance: -snr*sqrt(1 - beta2**step)*(beta1**step - 1)*(beta2 - 1)*(beta2**step + 1)*(2*snr + 1)*sqrt(1/(-beta2**step*bias + 1))/(2*(beta2 + 1)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(snr + 1)*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = snr + 1
    _t1 = beta1**step
    _t2 = beta2**step
    _t3 = mpmath.sqrt(-1/(_t2*bias - 1))*mpmath.sqrt(1 - _t2)
    return -mpmath.mpf(1)/mpmath.mpf(2)*_t3*snr*(_t1 - 1)*(_t2 + 1)*(beta2 - 1)*(2*snr + 1)/(_t0*(beta2 + 1)*(mpmath.sqrt(_t0)*_t3 + eps_ratio)**2*(_t1*bias - 1))


def corrected_lag_late_8_numpy(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_8 from step corrected.update_covariance: (beta1**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    _t0 = beta1**step
    _t1 = beta2**step
    _t2 = numpy.sqrt(1 - _t1)
    _t3 = numpy.sqrt(-1/(_t1*bias - 1))
    return _t3*(_t0 - 1)/(_t2*(_t0*bias - 1)*(_t2*_t3*numpy.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_late_8_mpmath(beta1, beta2, snr, eps_ratio, bias, step):
    """corrected_lag_late_8 from step corrected.update_covariance: (beta1**step - 1)*sqrt(1/(-beta2**step*bias + 1))/(sqrt(1 - beta2**step)*(eps_ratio + sqrt(1 - beta2**step)*sqrt(snr + 1)*sqrt(1/(-beta2**step*bias + 1)))**2*(beta1**step*bias - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1**step
    _t1 = beta2**step
    _t2 = mpmath.sqrt(1 - _t1)
    _t3 = mpmath.sqrt(-1/(_t1*bias - 1))
    return _t3*(_t0 - 1)/(_t2*(_t0*bias - 1)*(_t2*_t3*mpmath.sqrt(snr + 1) + eps_ratio)**2)


def corrected_lag_ratio_8_numpy(beta1, beta2):
    """corrected_lag_ratio_8 from step corrected.update_covariance: beta2."""
    return beta2


def corrected_lag_ratio_8_mpmath(beta1, beta2):
    """corrected_lag_ratio_8 from step corrected.update_covariance: beta2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta2


def corrected_update_rms_sq_numpy(beta1, beta2, snr, eps_ratio):
    """corrected_update_rms_sq from step corrected.update_rms_sq: -2*snr*(1 - beta1)*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(-beta1*beta2 + 1)) + snr*(1 - beta2)*(2*snr + 1)/(2*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) - 2*(1 - beta1)**2*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(-beta1**2*beta2 + 1)) + (1 - beta1)*(1 - beta2)*(2*snr + 1)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) + (1 - beta1)*(1 - beta2)*(2*snr + 1)*(eps_ratio*sqrt(snr + 1) + 3*snr + 3)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)**2) + (1 - beta1)/((beta1 + 1)*(eps_ratio + sqrt(snr + 1))**2) + (-sqrt(snr)*(1 - beta1)*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**2*sqrt(snr + 1)*(-beta1*beta2 + 1)) + sqrt(snr)*(1 - beta2)*(2*snr + 1)*(eps_ratio*sqrt(snr + 1) + 3*snr + 3)/(4*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**3*(snr + 1)**2) + sqrt(snr)/(eps_ratio + sqrt(snr + 1)))**2."""
    _t0 = snr + 1
    _t1 = numpy.sqrt(_t0)
    _t2 = _t1 + eps_ratio
    _t3 = _t2**(-2.0)
    _t4 = beta1 - 1
    _t5 = _t4/(beta1 + 1)
    _t6 = 2*snr
    _t7 = beta2 - 1
    _t8 = _t7/(_t1*_t2)
    _t9 = _t4*_t8/(beta1*beta2 - 1)
    _t10 = _t3*_t7*(_t6 + 1)/(beta2 + 1)
    _t11 = (1/2)*_t10/_t0
    _t12 = _t10*(_t1*eps_ratio + 3*snr + 3)/_t0**2
    return _t3*(_t11*_t5 - _t11*snr + (1/2)*_t12*_t5 - 2*_t4**2*_t8/(beta1**2*beta2 - 1) - _t5 + _t6*_t9 + (1/16)*snr*(-_t12 + 4*_t9 + 4)**2)


def corrected_update_rms_sq_mpmath(beta1, beta2, snr, eps_ratio):
    """corrected_update_rms_sq from step corrected.update_rms_sq: -2*snr*(1 - beta1)*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(-beta1*beta2 + 1)) + snr*(1 - beta2)*(2*snr + 1)/(2*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) - 2*(1 - beta1)**2*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(-beta1**2*beta2 + 1)) + (1 - beta1)*(1 - beta2)*(2*snr + 1)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) + (1 - beta1)*(1 - beta2)*(2*snr + 1)*(eps_ratio*sqrt(snr + 1) + 3*snr + 3)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)**2) + (1 - beta1)/((beta1 + 1)*(eps_ratio + sqrt(snr + 1))**2) + (-sqrt(snr)*(1 - beta1)*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**2*sqrt(snr + 1)*(-beta1*beta2 + 1)) + sqrt(snr)*(1 - beta2)*(2*snr + 1)*(eps_ratio*sqrt(snr + 1) + 3*snr + 3)/(4*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**3*(snr + 1)**2) + sqrt(snr)/(eps_ratio + sqrt(snr + 1)))**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = snr + 1
    _t1 = mpmath.sqrt(_t0)
    _t2 = _t1 + eps_ratio
    _t3 = _t2**(-2)
    _t4 = beta1 - 1
    _t5 = _t4/(beta1 + 1)
    _t6 = 2*snr
    _t7 = beta2 - 1
    _t8 = _t7/(_t1*_t2)
    _t9 = _t4*_t8/(beta1*beta2 - 1)
    _t10 = _t3*_t7*(_t6 + 1)/(beta2 + 1)
    _t11 = (mpmath.mpf(1)/mpmath.mpf(2))*_t10/_t0
    _t12 = _t10*(_t1*eps_ratio + 3*snr + 3)/_t0**2
    return _t3*(_t11*_t5 - _t11*snr + (mpmath.mpf(1)/mpmath.mpf(2))*_t12*_t5 - 2*_t4**2*_t8/(beta1**2*beta2 - 1) - _t5 + _t6*_t9 + (mpmath.mpf(1)/mpmath.mpf(16))*snr*(-_t12 + 4*_t9 + 4)**2)


def corrected_weight_rms_sq_numpy(lr, decay_per_step, beta1, beta2, snr, eps_ratio):
    """corrected_weight_rms_sq from step corrected.weight_rms_sq: lr**2*(snr*(beta1 - 1)*(beta2 - 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1*beta2 - 1)) + snr*(beta1 - 1)*(beta2 - 1)*(beta2*(2 - 2*decay_per_step)/(-beta2*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1*beta2 - 1)) - snr*(beta2 - 1)*(2*snr + 1)*(beta2*(2 - 2*decay_per_step)/(-beta2*(1 - decay_per_step) + 1) + 1)/(2*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) - (beta1 - 1)**2*(beta2 - 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1**2*beta2 - 1)) - (beta1 - 1)**2*(beta2 - 1)*(beta1*beta2*(2 - 2*decay_per_step)/(-beta1*beta2*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1**2*beta2 - 1)) + (beta1 - 1)*(beta2 - 1)*(2*snr + 1)*(beta1*beta2*(2 - 2*decay_per_step)/(-beta1*beta2*(1 - decay_per_step) + 1) + 1)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) - (beta1 - 1)*(beta2 - 1)*(2*snr + 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)*(-eps_ratio*sqrt(snr + 1) - 3*snr - 3)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)**2) - (beta1 - 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)/((beta1 + 1)*(eps_ratio + sqrt(snr + 1))**2))/(decay_per_step*(2 - decay_per_step)) + lr**2*(-sqrt(snr)*(1 - beta1)*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**2*sqrt(snr + 1)*(-beta1*beta2 + 1)) + sqrt(snr)*(1 - beta2)*(2*snr + 1)*(eps_ratio*sqrt(snr + 1) + 3*snr + 3)/(4*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**3*(snr + 1)**2) + sqrt(snr)/(eps_ratio + sqrt(snr + 1)))**2/decay_per_step**2."""
    _t0 = decay_per_step**(-1.0)
    _t1 = snr + 1
    _t2 = numpy.sqrt(_t1)
    _t3 = _t2 + eps_ratio
    _t4 = _t3**(-2.0)
    _t5 = beta1 - 1
    _t6 = beta1*beta2
    _t7 = _t2**(-1.0)
    _t8 = _t3**(-1.0)
    _t9 = beta2 - 1
    _t10 = _t5*_t7*_t8*_t9/(_t6 - 1)
    _t11 = (beta2 + 1)**(-1.0)
    _t12 = 2*snr
    _t13 = _t12 + 1
    _t14 = _t11*_t13*_t4*_t9
    _t15 = _t14*(_t2*eps_ratio + 3*snr + 3)/_t1**2
    _t16 = (beta1 + 1)**(-1.0)
    _t17 = decay_per_step - 1
    _t18 = -_t17
    _t19 = _t18*beta1
    _t20 = 2*_t17
    _t21 = _t20*beta1/(_t19 - 1) + 1
    _t22 = _t10*_t12
    _t23 = _t20*beta2/(_t18*beta2 - 1) + 1
    _t24 = _t1**(-1.0)
    _t25 = _t5**2
    _t26 = (beta1**2*beta2 - 1)**(-1.0)
    _t27 = _t20*_t6/(_t19*beta2 - 1) + 1
    _t28 = _t16*_t5
    return (1/16)*_t0*_t4*lr**2*(_t0*snr*(4*_t10 - _t15 + 4)**2 + 8*(_t11*_t13*_t23*_t24*_t4*_t9*snr - _t14*_t24*_t27*_t28 - _t15*_t21*_t28 + 2*_t16*_t21*_t5 - _t21*_t22 + 2*_t21*_t25*_t26*_t7*_t8*_t9 - _t22*_t23 + 2*_t25*_t26*_t27*_t7*_t8*_t9)/(decay_per_step - 2))


def corrected_weight_rms_sq_mpmath(lr, decay_per_step, beta1, beta2, snr, eps_ratio):
    """corrected_weight_rms_sq from step corrected.weight_rms_sq: lr**2*(snr*(beta1 - 1)*(beta2 - 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1*beta2 - 1)) + snr*(beta1 - 1)*(beta2 - 1)*(beta2*(2 - 2*decay_per_step)/(-beta2*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1*beta2 - 1)) - snr*(beta2 - 1)*(2*snr + 1)*(beta2*(2 - 2*decay_per_step)/(-beta2*(1 - decay_per_step) + 1) + 1)/(2*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) - (beta1 - 1)**2*(beta2 - 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1**2*beta2 - 1)) - (beta1 - 1)**2*(beta2 - 1)*(beta1*beta2*(2 - 2*decay_per_step)/(-beta1*beta2*(1 - decay_per_step) + 1) + 1)/((eps_ratio + sqrt(snr + 1))**3*sqrt(snr + 1)*(beta1**2*beta2 - 1)) + (beta1 - 1)*(beta2 - 1)*(2*snr + 1)*(beta1*beta2*(2 - 2*decay_per_step)/(-beta1*beta2*(1 - decay_per_step) + 1) + 1)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)) - (beta1 - 1)*(beta2 - 1)*(2*snr + 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)*(-eps_ratio*sqrt(snr + 1) - 3*snr - 3)/(2*(beta1 + 1)*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**4*(snr + 1)**2) - (beta1 - 1)*(beta1*(2 - 2*decay_per_step)/(-beta1*(1 - decay_per_step) + 1) + 1)/((beta1 + 1)*(eps_ratio + sqrt(snr + 1))**2))/(decay_per_step*(2 - decay_per_step)) + lr**2*(-sqrt(snr)*(1 - beta1)*(1 - beta2)/((eps_ratio + sqrt(snr + 1))**2*sqrt(snr + 1)*(-beta1*beta2 + 1)) + sqrt(snr)*(1 - beta2)*(2*snr + 1)*(eps_ratio*sqrt(snr + 1) + 3*snr + 3)/(4*(beta2 + 1)*(eps_ratio + sqrt(snr + 1))**3*(snr + 1)**2) + sqrt(snr)/(eps_ratio + sqrt(snr + 1)))**2/decay_per_step**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = 1/decay_per_step
    _t1 = snr + 1
    _t2 = mpmath.sqrt(_t1)
    _t3 = _t2 + eps_ratio
    _t4 = _t3**(-2)
    _t5 = beta1 - 1
    _t6 = beta1*beta2
    _t7 = 1/_t2
    _t8 = 1/_t3
    _t9 = beta2 - 1
    _t10 = _t5*_t7*_t8*_t9/(_t6 - 1)
    _t11 = 1/(beta2 + 1)
    _t12 = 2*snr
    _t13 = _t12 + 1
    _t14 = _t11*_t13*_t4*_t9
    _t15 = _t14*(_t2*eps_ratio + 3*snr + 3)/_t1**2
    _t16 = 1/(beta1 + 1)
    _t17 = decay_per_step - 1
    _t18 = -_t17
    _t19 = _t18*beta1
    _t20 = 2*_t17
    _t21 = _t20*beta1/(_t19 - 1) + 1
    _t22 = _t10*_t12
    _t23 = _t20*beta2/(_t18*beta2 - 1) + 1
    _t24 = 1/_t1
    _t25 = _t5**2
    _t26 = 1/(beta1**2*beta2 - 1)
    _t27 = _t20*_t6/(_t19*beta2 - 1) + 1
    _t28 = _t16*_t5
    return (mpmath.mpf(1)/mpmath.mpf(16))*_t0*_t4*lr**2*(_t0*snr*(4*_t10 - _t15 + 4)**2 + 8*(_t11*_t13*_t23*_t24*_t4*_t9*snr - _t14*_t24*_t27*_t28 - _t15*_t21*_t28 + 2*_t16*_t21*_t5 - _t21*_t22 + 2*_t21*_t25*_t26*_t7*_t8*_t9 - _t22*_t23 + 2*_t25*_t26*_t27*_t7*_t8*_t9)/(decay_per_step - 2))


def sgd_change_theta_sq_theta_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_theta_sq from step sgd.theta_sq_recursion: lr*weight_decay*(coupled*dampening*momentum*nesterov - coupled*dampening*nesterov + coupled*dampening - coupled*momentum*nesterov - 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 2)."""
    _t0 = coupled*dampening
    _t1 = _t0*nesterov
    _t2 = coupled*momentum*nesterov
    _t3 = _t1*momentum
    _t4 = lr*weight_decay
    return -_t4*(-_t0 + _t1 + _t2 - _t3 + 1)*(_t0*_t4 - _t1*_t4 - _t2*_t4 + _t3*_t4 - _t4 + 2)


def sgd_change_theta_sq_theta_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_theta_sq from step sgd.theta_sq_recursion: lr*weight_decay*(coupled*dampening*momentum*nesterov - coupled*dampening*nesterov + coupled*dampening - coupled*momentum*nesterov - 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = coupled*dampening
    _t1 = _t0*nesterov
    _t2 = coupled*momentum*nesterov
    _t3 = _t1*momentum
    _t4 = lr*weight_decay
    return -_t4*(-_t0 + _t1 + _t2 - _t3 + 1)*(_t0*_t4 - _t1*_t4 - _t2*_t4 + _t3*_t4 - _t4 + 2)


def sgd_change_theta_sq_theta_buf_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_theta_buf from step sgd.theta_sq_recursion: -2*lr*momentum*(momentum*nesterov - nesterov + 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 1)."""
    _t0 = momentum*nesterov
    _t1 = lr*weight_decay
    _t2 = _t1*coupled
    _t3 = _t2*dampening
    return -2*lr*momentum*(_t0 - nesterov + 1)*(-_t0*_t2 + _t0*_t3 - _t1 - _t3*nesterov + _t3 + 1)


def sgd_change_theta_sq_theta_buf_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_theta_buf from step sgd.theta_sq_recursion: -2*lr*momentum*(momentum*nesterov - nesterov + 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = momentum*nesterov
    _t1 = lr*weight_decay
    _t2 = _t1*coupled
    _t3 = _t2*dampening
    return -2*lr*momentum*(_t0 - nesterov + 1)*(-_t0*_t2 + _t0*_t3 - _t1 - _t3*nesterov + _t3 + 1)


def sgd_change_theta_sq_buf_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_buf_sq from step sgd.theta_sq_recursion: lr**2*momentum**2*(momentum*nesterov - nesterov + 1)**2."""
    return lr**2*momentum**2*(momentum*nesterov - nesterov + 1)**2


def sgd_change_theta_sq_buf_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_buf_sq from step sgd.theta_sq_recursion: lr**2*momentum**2*(momentum*nesterov - nesterov + 1)**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return lr**2*momentum**2*(momentum*nesterov - nesterov + 1)**2


def sgd_change_theta_sq_theta_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_theta_mean from step sgd.theta_sq_recursion: 2*grad_mean*lr*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 1)."""
    _t0 = dampening*nesterov
    _t1 = momentum*nesterov
    _t2 = _t0*momentum
    _t3 = lr*weight_decay
    _t4 = _t3*coupled
    return -2*grad_mean*lr*(_t0 + _t1 - _t2 - dampening + 1)*(-_t0*_t4 - _t1*_t4 + _t2*_t4 - _t3 + _t4*dampening + 1)


def sgd_change_theta_sq_theta_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_theta_mean from step sgd.theta_sq_recursion: 2*grad_mean*lr*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = dampening*nesterov
    _t1 = momentum*nesterov
    _t2 = _t0*momentum
    _t3 = lr*weight_decay
    _t4 = _t3*coupled
    return -2*grad_mean*lr*(_t0 + _t1 - _t2 - dampening + 1)*(-_t0*_t4 - _t1*_t4 + _t2*_t4 - _t3 + _t4*dampening + 1)


def sgd_change_theta_sq_buf_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_buf_mean from step sgd.theta_sq_recursion: -2*grad_mean*lr**2*momentum*(momentum*nesterov - nesterov + 1)*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)."""
    _t0 = momentum*nesterov
    _t1 = _t0 + 1
    return 2*grad_mean*lr**2*momentum*(_t1 - nesterov)*(-_t0*dampening + _t1 + dampening*nesterov - dampening)


def sgd_change_theta_sq_buf_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_buf_mean from step sgd.theta_sq_recursion: -2*grad_mean*lr**2*momentum*(momentum*nesterov - nesterov + 1)*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = momentum*nesterov
    _t1 = _t0 + 1
    return 2*grad_mean*lr**2*momentum*(_t1 - nesterov)*(-_t0*dampening + _t1 + dampening*nesterov - dampening)


def sgd_change_theta_sq_const_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_const from step sgd.theta_sq_recursion: lr**2*(grad_mean**2 + grad_std**2)*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)**2."""
    _t0 = dampening*nesterov
    return lr**2*(grad_mean**2 + grad_std**2)*(-_t0*momentum + _t0 - dampening + momentum*nesterov + 1)**2


def sgd_change_theta_sq_const_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_sq_const from step sgd.theta_sq_recursion: lr**2*(grad_mean**2 + grad_std**2)*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = dampening*nesterov
    return lr**2*(grad_mean**2 + grad_std**2)*(-_t0*momentum + _t0 - dampening + momentum*nesterov + 1)**2


def sgd_first_theta_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_theta_sq from step sgd.theta_sq_first: grad_mean**2*lr**2*(momentum*nesterov + 1)**2 + grad_std**2*lr**2*(momentum*nesterov + 1)**2 + init_rms**2*(coupled*lr*momentum*nesterov*weight_decay + lr*weight_decay - 1)**2."""
    _t0 = momentum*nesterov
    _t1 = lr**2*(_t0 + 1)**2
    _t2 = lr*weight_decay
    return _t1*grad_mean**2 + _t1*grad_std**2 + init_rms**2*(_t0*_t2*coupled + _t2 - 1)**2


def sgd_first_theta_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_theta_sq from step sgd.theta_sq_first: grad_mean**2*lr**2*(momentum*nesterov + 1)**2 + grad_std**2*lr**2*(momentum*nesterov + 1)**2 + init_rms**2*(coupled*lr*momentum*nesterov*weight_decay + lr*weight_decay - 1)**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = momentum*nesterov
    _t1 = lr**2*(_t0 + 1)**2
    _t2 = lr*weight_decay
    return _t1*grad_mean**2 + _t1*grad_std**2 + init_rms**2*(_t0*_t2*coupled + _t2 - 1)**2


def sgd_change_theta_buf_theta_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_theta_sq from step sgd.theta_buf_recursion: -coupled*weight_decay*(dampening - 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 1)."""
    _t0 = lr*weight_decay
    _t1 = _t0*coupled
    _t2 = _t1*dampening
    _t3 = _t2*nesterov
    return -coupled*weight_decay*(dampening - 1)*(-_t0 - _t1*momentum*nesterov + _t2 + _t3*momentum - _t3 + 1)


def sgd_change_theta_buf_theta_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_theta_sq from step sgd.theta_buf_recursion: -coupled*weight_decay*(dampening - 1)*(coupled*dampening*lr*momentum*nesterov*weight_decay - coupled*dampening*lr*nesterov*weight_decay + coupled*dampening*lr*weight_decay - coupled*lr*momentum*nesterov*weight_decay - lr*weight_decay + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = lr*weight_decay
    _t1 = _t0*coupled
    _t2 = _t1*dampening
    _t3 = _t2*nesterov
    return -coupled*weight_decay*(dampening - 1)*(-_t0 - _t1*momentum*nesterov + _t2 + _t3*momentum - _t3 + 1)


def sgd_change_theta_buf_theta_buf_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_theta_buf from step sgd.theta_buf_recursion: 2*coupled*dampening*lr*momentum**2*nesterov*weight_decay - 2*coupled*dampening*lr*momentum*nesterov*weight_decay + 2*coupled*dampening*lr*momentum*weight_decay - 2*coupled*lr*momentum**2*nesterov*weight_decay + coupled*lr*momentum*nesterov*weight_decay - coupled*lr*momentum*weight_decay - lr*momentum*weight_decay + momentum - 1."""
    _t0 = lr*weight_decay
    _t1 = _t0*momentum
    _t2 = _t1*coupled
    _t3 = momentum**2
    return -2*_t0*_t3*coupled*nesterov - _t1 - 2*_t2*dampening*nesterov - _t2 + 2*_t3*coupled*dampening*lr*nesterov*weight_decay + 2*coupled*dampening*lr*momentum*weight_decay + coupled*lr*momentum*nesterov*weight_decay + momentum - 1


def sgd_change_theta_buf_theta_buf_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_theta_buf from step sgd.theta_buf_recursion: 2*coupled*dampening*lr*momentum**2*nesterov*weight_decay - 2*coupled*dampening*lr*momentum*nesterov*weight_decay + 2*coupled*dampening*lr*momentum*weight_decay - 2*coupled*lr*momentum**2*nesterov*weight_decay + coupled*lr*momentum*nesterov*weight_decay - coupled*lr*momentum*weight_decay - lr*momentum*weight_decay + momentum - 1."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = lr*weight_decay
    _t1 = _t0*momentum
    _t2 = _t1*coupled
    _t3 = momentum**2
    return -2*_t0*_t3*coupled*nesterov - _t1 - 2*_t2*dampening*nesterov - _t2 + 2*_t3*coupled*dampening*lr*nesterov*weight_decay + 2*coupled*dampening*lr*momentum*weight_decay + coupled*lr*momentum*nesterov*weight_decay + momentum - 1


def sgd_change_theta_buf_buf_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_buf_sq from step sgd.theta_buf_recursion: -lr*momentum**2*(momentum*nesterov - nesterov + 1)."""
    return -lr*momentum**2*(momentum*nesterov - nesterov + 1)


def sgd_change_theta_buf_buf_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_buf_sq from step sgd.theta_buf_recursion: -lr*momentum**2*(momentum*nesterov - nesterov + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -lr*momentum**2*(momentum*nesterov - nesterov + 1)


def sgd_change_theta_buf_theta_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_theta_mean from step sgd.theta_buf_recursion: -grad_mean*(dampening - 1)*(2*coupled*dampening*lr*momentum*nesterov*weight_decay - 2*coupled*dampening*lr*nesterov*weight_decay + 2*coupled*dampening*lr*weight_decay - 2*coupled*lr*momentum*nesterov*weight_decay - coupled*lr*weight_decay - lr*weight_decay + 1)."""
    _t0 = lr*weight_decay
    _t1 = _t0*coupled
    _t2 = 2*_t1
    _t3 = _t2*dampening
    _t4 = _t3*nesterov
    return grad_mean*(dampening - 1)*(_t0 + _t1 + _t2*momentum*nesterov - _t3 - _t4*momentum + _t4 - 1)


def sgd_change_theta_buf_theta_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_theta_mean from step sgd.theta_buf_recursion: -grad_mean*(dampening - 1)*(2*coupled*dampening*lr*momentum*nesterov*weight_decay - 2*coupled*dampening*lr*nesterov*weight_decay + 2*coupled*dampening*lr*weight_decay - 2*coupled*lr*momentum*nesterov*weight_decay - coupled*lr*weight_decay - lr*weight_decay + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = lr*weight_decay
    _t1 = _t0*coupled
    _t2 = 2*_t1
    _t3 = _t2*dampening
    _t4 = _t3*nesterov
    return grad_mean*(dampening - 1)*(_t0 + _t1 + _t2*momentum*nesterov - _t3 - _t4*momentum + _t4 - 1)


def sgd_change_theta_buf_buf_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_buf_mean from step sgd.theta_buf_recursion: grad_mean*lr*momentum*(2*dampening*momentum*nesterov - 2*dampening*nesterov + 2*dampening - 2*momentum*nesterov + nesterov - 2)."""
    _t0 = 2*dampening
    _t1 = _t0*nesterov
    return grad_mean*lr*momentum*(_t0 + _t1*momentum - _t1 - 2*momentum*nesterov + nesterov - 2)


def sgd_change_theta_buf_buf_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_buf_mean from step sgd.theta_buf_recursion: grad_mean*lr*momentum*(2*dampening*momentum*nesterov - 2*dampening*nesterov + 2*dampening - 2*momentum*nesterov + nesterov - 2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = 2*dampening
    _t1 = _t0*nesterov
    return grad_mean*lr*momentum*(_t0 + _t1*momentum - _t1 - 2*momentum*nesterov + nesterov - 2)


def sgd_change_theta_buf_const_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_const from step sgd.theta_buf_recursion: -lr*(dampening - 1)*(grad_mean**2 + grad_std**2)*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)."""
    _t0 = dampening*nesterov
    return lr*(dampening - 1)*(grad_mean**2 + grad_std**2)*(-_t0*momentum + _t0 - dampening + momentum*nesterov + 1)


def sgd_change_theta_buf_const_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_buf_const from step sgd.theta_buf_recursion: -lr*(dampening - 1)*(grad_mean**2 + grad_std**2)*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = dampening*nesterov
    return lr*(dampening - 1)*(grad_mean**2 + grad_std**2)*(-_t0*momentum + _t0 - dampening + momentum*nesterov + 1)


def sgd_first_theta_buf_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_theta_buf from step sgd.theta_buf_first: -coupled*init_rms**2*weight_decay*(coupled*lr*momentum*nesterov*weight_decay + lr*weight_decay - 1) - grad_mean**2*lr*(momentum*nesterov + 1) - grad_std**2*lr*(momentum*nesterov + 1)."""
    _t0 = momentum*nesterov
    _t1 = lr*(_t0 + 1)
    _t2 = lr*weight_decay
    return -_t1*grad_mean**2 - _t1*grad_std**2 - coupled*init_rms**2*weight_decay*(_t0*_t2*coupled + _t2 - 1)


def sgd_first_theta_buf_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_theta_buf from step sgd.theta_buf_first: -coupled*init_rms**2*weight_decay*(coupled*lr*momentum*nesterov*weight_decay + lr*weight_decay - 1) - grad_mean**2*lr*(momentum*nesterov + 1) - grad_std**2*lr*(momentum*nesterov + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = momentum*nesterov
    _t1 = lr*(_t0 + 1)
    _t2 = lr*weight_decay
    return -_t1*grad_mean**2 - _t1*grad_std**2 - coupled*init_rms**2*weight_decay*(_t0*_t2*coupled + _t2 - 1)


def sgd_change_buf_sq_theta_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_theta_sq from step sgd.buf_sq_recursion: coupled**2*weight_decay**2*(dampening - 1)**2."""
    return coupled**2*weight_decay**2*(dampening - 1)**2


def sgd_change_buf_sq_theta_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_theta_sq from step sgd.buf_sq_recursion: coupled**2*weight_decay**2*(dampening - 1)**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return coupled**2*weight_decay**2*(dampening - 1)**2


def sgd_change_buf_sq_theta_buf_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_theta_buf from step sgd.buf_sq_recursion: -2*coupled*momentum*weight_decay*(dampening - 1)."""
    return -2*coupled*momentum*weight_decay*(dampening - 1)


def sgd_change_buf_sq_theta_buf_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_theta_buf from step sgd.buf_sq_recursion: -2*coupled*momentum*weight_decay*(dampening - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -2*coupled*momentum*weight_decay*(dampening - 1)


def sgd_change_buf_sq_buf_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_buf_sq from step sgd.buf_sq_recursion: (momentum - 1)*(momentum + 1)."""
    return (momentum - 1)*(momentum + 1)


def sgd_change_buf_sq_buf_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_buf_sq from step sgd.buf_sq_recursion: (momentum - 1)*(momentum + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (momentum - 1)*(momentum + 1)


def sgd_change_buf_sq_theta_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_theta_mean from step sgd.buf_sq_recursion: 2*coupled*grad_mean*weight_decay*(dampening - 1)**2."""
    return 2*coupled*grad_mean*weight_decay*(dampening - 1)**2


def sgd_change_buf_sq_theta_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_theta_mean from step sgd.buf_sq_recursion: 2*coupled*grad_mean*weight_decay*(dampening - 1)**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 2*coupled*grad_mean*weight_decay*(dampening - 1)**2


def sgd_change_buf_sq_buf_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_buf_mean from step sgd.buf_sq_recursion: -2*grad_mean*momentum*(dampening - 1)."""
    return -2*grad_mean*momentum*(dampening - 1)


def sgd_change_buf_sq_buf_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_buf_mean from step sgd.buf_sq_recursion: -2*grad_mean*momentum*(dampening - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -2*grad_mean*momentum*(dampening - 1)


def sgd_change_buf_sq_const_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_const from step sgd.buf_sq_recursion: (dampening - 1)**2*(grad_mean**2 + grad_std**2)."""
    return (dampening - 1)**2*(grad_mean**2 + grad_std**2)


def sgd_change_buf_sq_const_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_sq_const from step sgd.buf_sq_recursion: (dampening - 1)**2*(grad_mean**2 + grad_std**2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (dampening - 1)**2*(grad_mean**2 + grad_std**2)


def sgd_first_buf_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_buf_sq from step sgd.buf_sq_first: coupled**2*init_rms**2*weight_decay**2 + grad_mean**2 + grad_std**2."""
    return coupled**2*init_rms**2*weight_decay**2 + grad_mean**2 + grad_std**2


def sgd_first_buf_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_buf_sq from step sgd.buf_sq_first: coupled**2*init_rms**2*weight_decay**2 + grad_mean**2 + grad_std**2."""
    import mpmath  # only the arbitrary-precision backend needs it
    return coupled**2*init_rms**2*weight_decay**2 + grad_mean**2 + grad_std**2


def sgd_change_theta_mean_theta_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_theta_sq from step sgd.theta_mean_recursion: 0."""
    return 0


def sgd_change_theta_mean_theta_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_theta_sq from step sgd.theta_mean_recursion: 0."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 0


def sgd_change_theta_mean_theta_buf_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_theta_buf from step sgd.theta_mean_recursion: 0."""
    return 0


def sgd_change_theta_mean_theta_buf_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_theta_buf from step sgd.theta_mean_recursion: 0."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 0


def sgd_change_theta_mean_buf_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_buf_sq from step sgd.theta_mean_recursion: 0."""
    return 0


def sgd_change_theta_mean_buf_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_buf_sq from step sgd.theta_mean_recursion: 0."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 0


def sgd_change_theta_mean_theta_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_theta_mean from step sgd.theta_mean_recursion: lr*weight_decay*(coupled*dampening*momentum*nesterov - coupled*dampening*nesterov + coupled*dampening - coupled*momentum*nesterov - 1)."""
    _t0 = coupled*dampening
    _t1 = _t0*nesterov
    return -lr*weight_decay*(-_t0 - _t1*momentum + _t1 + coupled*momentum*nesterov + 1)


def sgd_change_theta_mean_theta_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_theta_mean from step sgd.theta_mean_recursion: lr*weight_decay*(coupled*dampening*momentum*nesterov - coupled*dampening*nesterov + coupled*dampening - coupled*momentum*nesterov - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = coupled*dampening
    _t1 = _t0*nesterov
    return -lr*weight_decay*(-_t0 - _t1*momentum + _t1 + coupled*momentum*nesterov + 1)


def sgd_change_theta_mean_buf_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_buf_mean from step sgd.theta_mean_recursion: -lr*momentum*(momentum*nesterov - nesterov + 1)."""
    return -lr*momentum*(momentum*nesterov - nesterov + 1)


def sgd_change_theta_mean_buf_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_buf_mean from step sgd.theta_mean_recursion: -lr*momentum*(momentum*nesterov - nesterov + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -lr*momentum*(momentum*nesterov - nesterov + 1)


def sgd_change_theta_mean_const_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_const from step sgd.theta_mean_recursion: grad_mean*lr*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)."""
    _t0 = dampening*nesterov
    return -grad_mean*lr*(-_t0*momentum + _t0 - dampening + momentum*nesterov + 1)


def sgd_change_theta_mean_const_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_theta_mean_const from step sgd.theta_mean_recursion: grad_mean*lr*(dampening*momentum*nesterov - dampening*nesterov + dampening - momentum*nesterov - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = dampening*nesterov
    return -grad_mean*lr*(-_t0*momentum + _t0 - dampening + momentum*nesterov + 1)


def sgd_first_theta_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_theta_mean from step sgd.theta_mean_first: -grad_mean*lr*(momentum*nesterov + 1)."""
    return -grad_mean*lr*(momentum*nesterov + 1)


def sgd_first_theta_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_theta_mean from step sgd.theta_mean_first: -grad_mean*lr*(momentum*nesterov + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -grad_mean*lr*(momentum*nesterov + 1)


def sgd_change_buf_mean_theta_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_theta_sq from step sgd.buf_mean_recursion: 0."""
    return 0


def sgd_change_buf_mean_theta_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_theta_sq from step sgd.buf_mean_recursion: 0."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 0


def sgd_change_buf_mean_theta_buf_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_theta_buf from step sgd.buf_mean_recursion: 0."""
    return 0


def sgd_change_buf_mean_theta_buf_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_theta_buf from step sgd.buf_mean_recursion: 0."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 0


def sgd_change_buf_mean_buf_sq_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_buf_sq from step sgd.buf_mean_recursion: 0."""
    return 0


def sgd_change_buf_mean_buf_sq_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_buf_sq from step sgd.buf_mean_recursion: 0."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 0


def sgd_change_buf_mean_theta_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_theta_mean from step sgd.buf_mean_recursion: -coupled*weight_decay*(dampening - 1)."""
    return -coupled*weight_decay*(dampening - 1)


def sgd_change_buf_mean_theta_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_theta_mean from step sgd.buf_mean_recursion: -coupled*weight_decay*(dampening - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -coupled*weight_decay*(dampening - 1)


def sgd_change_buf_mean_buf_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_buf_mean from step sgd.buf_mean_recursion: momentum - 1."""
    return momentum - 1


def sgd_change_buf_mean_buf_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_buf_mean from step sgd.buf_mean_recursion: momentum - 1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return momentum - 1


def sgd_change_buf_mean_const_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_const from step sgd.buf_mean_recursion: -grad_mean*(dampening - 1)."""
    return -grad_mean*(dampening - 1)


def sgd_change_buf_mean_const_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std):
    """sgd_change_buf_mean_const from step sgd.buf_mean_recursion: -grad_mean*(dampening - 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -grad_mean*(dampening - 1)


def sgd_first_buf_mean_numpy(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_buf_mean from step sgd.buf_mean_first: grad_mean."""
    return grad_mean


def sgd_first_buf_mean_mpmath(lr, weight_decay, momentum, dampening, coupled, nesterov, grad_mean, grad_std, init_rms):
    """sgd_first_buf_mean from step sgd.buf_mean_first: grad_mean."""
    import mpmath  # only the arbitrary-precision backend needs it
    return grad_mean


def sgd_equilibrium_coupled_numpy(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_coupled from step sgd.equilibrium_coupled: grad_mean**2/weight_decay**2 + grad_std**2*lr*(dampening - 1)*(momentum + 1)/(weight_decay*(momentum - 1)*(dampening*lr*weight_decay - lr*weight_decay + 2*momentum + 2))."""
    _t0 = weight_decay**(-1.0)
    _t1 = lr*weight_decay
    return _t0*(_t0*grad_mean**2 + grad_std**2*lr*(dampening - 1)*(momentum + 1)/((momentum - 1)*(_t1*dampening - _t1 + 2*momentum + 2)))


def sgd_equilibrium_coupled_mpmath(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_coupled from step sgd.equilibrium_coupled: grad_mean**2/weight_decay**2 + grad_std**2*lr*(dampening - 1)*(momentum + 1)/(weight_decay*(momentum - 1)*(dampening*lr*weight_decay - lr*weight_decay + 2*momentum + 2))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = 1/weight_decay
    _t1 = lr*weight_decay
    return _t0*(_t0*grad_mean**2 + grad_std**2*lr*(dampening - 1)*(momentum + 1)/((momentum - 1)*(_t1*dampening - _t1 + 2*momentum + 2)))


def sgd_equilibrium_coupled_nesterov_numpy(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_coupled_nesterov from step sgd.equilibrium_coupled_nesterov: grad_mean**2/weight_decay**2 - grad_std**2*lr*(2*lr*momentum**2*weight_decay + lr*momentum*weight_decay + momentum + 1)/(weight_decay*(lr*momentum*weight_decay - momentum + 1)*(2*lr*momentum*weight_decay + lr*weight_decay - 2*momentum - 2))."""
    _t0 = weight_decay**(-1.0)
    _t1 = lr*weight_decay
    _t2 = _t1*momentum + 1
    _t3 = 2*momentum
    return _t0*(_t0*grad_mean**2 - grad_std**2*lr*(2*_t1*momentum**2 + _t2 + momentum)/((_t2 - momentum)*(_t1*_t3 + _t1 - _t3 - 2)))


def sgd_equilibrium_coupled_nesterov_mpmath(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_coupled_nesterov from step sgd.equilibrium_coupled_nesterov: grad_mean**2/weight_decay**2 - grad_std**2*lr*(2*lr*momentum**2*weight_decay + lr*momentum*weight_decay + momentum + 1)/(weight_decay*(lr*momentum*weight_decay - momentum + 1)*(2*lr*momentum*weight_decay + lr*weight_decay - 2*momentum - 2))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = 1/weight_decay
    _t1 = lr*weight_decay
    _t2 = _t1*momentum + 1
    _t3 = 2*momentum
    return _t0*(_t0*grad_mean**2 - grad_std**2*lr*(2*_t1*momentum**2 + _t2 + momentum)/((_t2 - momentum)*(_t1*_t3 + _t1 - _t3 - 2)))


def sgd_equilibrium_decoupled_numpy(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_decoupled from step sgd.equilibrium_decoupled: grad_mean**2*(dampening - 1)**2/(weight_decay**2*(momentum - 1)**2) - grad_std**2*lr*(dampening - 1)**2*(lr*momentum*weight_decay - momentum - 1)/(weight_decay*(momentum - 1)*(momentum + 1)*(lr*weight_decay - 2)*(lr*momentum*weight_decay - momentum + 1))."""
    _t0 = 1/(weight_decay*(momentum - 1))
    _t1 = momentum + 1
    _t2 = lr*weight_decay
    _t3 = _t2*momentum
    return _t0*(dampening - 1)**2*(_t0*grad_mean**2 + grad_std**2*lr*(_t1 - _t3)/(_t1*(_t2 - 2)*(_t3 - momentum + 1)))


def sgd_equilibrium_decoupled_mpmath(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_decoupled from step sgd.equilibrium_decoupled: grad_mean**2*(dampening - 1)**2/(weight_decay**2*(momentum - 1)**2) - grad_std**2*lr*(dampening - 1)**2*(lr*momentum*weight_decay - momentum - 1)/(weight_decay*(momentum - 1)*(momentum + 1)*(lr*weight_decay - 2)*(lr*momentum*weight_decay - momentum + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = 1/(weight_decay*(momentum - 1))
    _t1 = momentum + 1
    _t2 = lr*weight_decay
    _t3 = _t2*momentum
    return _t0*(dampening - 1)**2*(_t0*grad_mean**2 + grad_std**2*lr*(_t1 - _t3)/(_t1*(_t2 - 2)*(_t3 - momentum + 1)))


def sgd_equilibrium_decoupled_nesterov_numpy(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_decoupled_nesterov from step sgd.equilibrium_decoupled_nesterov: grad_mean**2/(weight_decay**2*(momentum - 1)**2) - grad_std**2*lr*(2*lr*momentum**3*weight_decay - lr*momentum*weight_decay - momentum - 1)/(weight_decay*(momentum - 1)*(momentum + 1)*(lr*weight_decay - 2)*(lr*momentum*weight_decay - momentum + 1))."""
    _t0 = 1/(weight_decay*(momentum - 1))
    _t1 = momentum + 1
    _t2 = lr*weight_decay
    _t3 = _t2*momentum
    return _t0*(_t0*grad_mean**2 + grad_std**2*lr*(_t1 - 2*_t2*momentum**3 + _t3)/(_t1*(_t2 - 2)*(_t3 - momentum + 1)))


def sgd_equilibrium_decoupled_nesterov_mpmath(lr, weight_decay, momentum, dampening, grad_mean, grad_std):
    """sgd_equilibrium_decoupled_nesterov from step sgd.equilibrium_decoupled_nesterov: grad_mean**2/(weight_decay**2*(momentum - 1)**2) - grad_std**2*lr*(2*lr*momentum**3*weight_decay - lr*momentum*weight_decay - momentum - 1)/(weight_decay*(momentum - 1)*(momentum + 1)*(lr*weight_decay - 2)*(lr*momentum*weight_decay - momentum + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = 1/(weight_decay*(momentum - 1))
    _t1 = momentum + 1
    _t2 = lr*weight_decay
    _t3 = _t2*momentum
    return _t0*(_t0*grad_mean**2 + grad_std**2*lr*(_t1 - 2*_t2*momentum**3 + _t3)/(_t1*(_t2 - 2)*(_t3 - momentum + 1)))


def sgd_req_numpy(lr, weight_decay, momentum, grad_std):
    """sgd_req from step sgd.req_prediction: -grad_std**2*lr/(2*weight_decay*(momentum - 1))."""
    return -1/2*grad_std**2*lr/(weight_decay*(momentum - 1))


def sgd_req_mpmath(lr, weight_decay, momentum, grad_std):
    """sgd_req from step sgd.req_prediction: -grad_std**2*lr/(2*weight_decay*(momentum - 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -mpmath.mpf(1)/mpmath.mpf(2)*grad_std**2*lr/(weight_decay*(momentum - 1))


def lion_filter_mean_numpy(beta1, beta2, transient):
    """lion_filter_mean from step lion.c_mean: -beta1*transient + 1."""
    return -beta1*transient + 1


def lion_filter_mean_mpmath(beta1, beta2, transient):
    """lion_filter_mean from step lion.c_mean: -beta1*transient + 1."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -beta1*transient + 1


def lion_filter_variance_numpy(beta1, beta2, transient):
    """lion_filter_variance from step lion.c_variance: (beta1**2*beta2*transient**2 - beta1**2*transient**2 + 2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1)/(beta2 + 1)."""
    _t0 = beta2 + 1
    _t1 = 2*beta1
    _t2 = beta1**2
    _t3 = _t2*transient**2
    return (_t0 - _t1*beta2 - _t1 + 2*_t2 + _t3*beta2 - _t3)/_t0


def lion_filter_variance_mpmath(beta1, beta2, transient):
    """lion_filter_variance from step lion.c_variance: (beta1**2*beta2*transient**2 - beta1**2*transient**2 + 2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1)/(beta2 + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2 + 1
    _t1 = 2*beta1
    _t2 = beta1**2
    _t3 = _t2*transient**2
    return (_t0 - _t1*beta2 - _t1 + 2*_t2 + _t3*beta2 - _t3)/_t0


def lion_filter_covariance_numpy(beta1, beta2, transient, lag_power):
    """lion_filter_covariance from step lion.c_covariance: beta1*lag_power*(beta2 - 1)*(beta1*beta2*transient**2 + beta1 - beta2 - 1)/(beta2 + 1)."""
    return beta1*lag_power*(beta2 - 1)*(beta1*beta2*transient**2 + beta1 - beta2 - 1)/(beta2 + 1)


def lion_filter_covariance_mpmath(beta1, beta2, transient, lag_power):
    """lion_filter_covariance from step lion.c_covariance: beta1*lag_power*(beta2 - 1)*(beta1*beta2*transient**2 + beta1 - beta2 - 1)/(beta2 + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return beta1*lag_power*(beta2 - 1)*(beta1*beta2*transient**2 + beta1 - beta2 - 1)/(beta2 + 1)


def lion_stationary_correlation_numpy(beta1, beta2, lag):
    """lion_stationary_correlation from step lion.rho_lag: -beta1*beta2**(lag - 1)*(1 - beta2)*(beta1 - beta2 - 1)/(2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1)."""
    _t0 = beta2 + 1
    _t1 = 2*beta1
    return -beta1*beta2**(lag - 1)*(_t0 - beta1)*(beta2 - 1)/(_t0 - _t1*beta2 - _t1 + 2*beta1**2)


def lion_stationary_correlation_mpmath(beta1, beta2, lag):
    """lion_stationary_correlation from step lion.rho_lag: -beta1*beta2**(lag - 1)*(1 - beta2)*(beta1 - beta2 - 1)/(2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1)."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2 + 1
    _t1 = 2*beta1
    return -beta1*beta2**(lag - 1)*(_t0 - beta1)*(beta2 - 1)/(_t0 - _t1*beta2 - _t1 + 2*beta1**2)


def lion_stationary_shift_numpy(beta1, beta2, snr):
    """lion_stationary_shift from step lion.shift_limit: sqrt(snr)*sqrt(beta2 + 1)*sqrt(1/(2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1))."""
    _t0 = beta2 + 1
    _t1 = 2*beta1
    return numpy.sqrt(_t0*snr/(_t0 - _t1*beta2 - _t1 + 2*beta1**2))


def lion_stationary_shift_mpmath(beta1, beta2, snr):
    """lion_stationary_shift from step lion.shift_limit: sqrt(snr)*sqrt(beta2 + 1)*sqrt(1/(2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2 + 1
    _t1 = 2*beta1
    return mpmath.sqrt(_t0*snr/(_t0 - _t1*beta2 - _t1 + 2*beta1**2))


def lion_sign_mean_numpy(shift):
    """lion_sign_mean from step lion.sign_pair_moment: erf(sqrt(2)*shift/2)."""
    return _erf((1/2)*numpy.sqrt(2)*shift)


def lion_sign_mean_mpmath(shift):
    """lion_sign_mean from step lion.sign_pair_moment: erf(sqrt(2)*shift/2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return mpmath.erf((mpmath.mpf(1)/mpmath.mpf(2))*mpmath.sqrt(2)*shift)


def lion_pair_scale_numpy():
    """lion_pair_scale from step lion.sign_pair_moment: 2/pi."""
    return 2/numpy.pi


def lion_pair_scale_mpmath():
    """lion_pair_scale from step lion.sign_pair_moment: 2/pi."""
    import mpmath  # only the arbitrary-precision backend needs it
    return 2/mpmath.pi


def lion_pair_upper_numpy(correlation):
    """lion_pair_upper from step lion.sign_pair_moment: asin(correlation)."""
    return numpy.arcsin(correlation)


def lion_pair_upper_mpmath(correlation):
    """lion_pair_upper from step lion.sign_pair_moment: asin(correlation)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return mpmath.asin(correlation)


def lion_pair_integrand_numpy(shift, shift_y, angle):
    """lion_pair_integrand from step lion.sign_pair_moment: exp(-(shift**2 - 2*shift*shift_y*sin(angle) + shift_y**2)/(2*cos(angle)**2))."""
    return numpy.exp(-1/2*(shift**2 - 2*shift*shift_y*numpy.sin(angle) + shift_y**2)/numpy.cos(angle)**2)


def lion_pair_integrand_mpmath(shift, shift_y, angle):
    """lion_pair_integrand from step lion.sign_pair_moment: exp(-(shift**2 - 2*shift*shift_y*sin(angle) + shift_y**2)/(2*cos(angle)**2))."""
    import mpmath  # only the arbitrary-precision backend needs it
    return mpmath.exp(-mpmath.mpf(1)/mpmath.mpf(2)*(shift**2 - 2*shift*shift_y*mpmath.sin(angle) + shift_y**2)/mpmath.cos(angle)**2)


def lion_req_weight_rms_numpy(lr, weight_decay, beta1, beta2):
    """lion_req_weight_rms from step lion.req_equilibrium: sqrt(lr)*sqrt(beta2 + 1)/(sqrt(pi)*sqrt(weight_decay)*sqrt(2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1))."""
    _t0 = beta2 + 1
    _t1 = 2*beta1
    return numpy.sqrt(_t0*lr/(weight_decay*(_t0 - _t1*beta2 - _t1 + 2*beta1**2)))/numpy.sqrt(numpy.pi)


def lion_req_weight_rms_mpmath(lr, weight_decay, beta1, beta2):
    """lion_req_weight_rms from step lion.req_equilibrium: sqrt(lr)*sqrt(beta2 + 1)/(sqrt(pi)*sqrt(weight_decay)*sqrt(2*beta1**2 - 2*beta1*beta2 - 2*beta1 + beta2 + 1))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta2 + 1
    _t1 = 2*beta1
    return mpmath.sqrt(_t0*lr/(weight_decay*(_t0 - _t1*beta2 - _t1 + 2*beta1**2)))/mpmath.sqrt(mpmath.pi)


def adam_l2_weight_share_numpy(kappa, beta1):
    """adam_l2_weight_share from step adam_l2.weight_share: kappa*(beta1 + 1)/(beta1*kappa + 2*beta1 - kappa + 2)."""
    return kappa*(beta1 + 1)/(beta1*kappa + 2*beta1 - kappa + 2)


def adam_l2_weight_share_mpmath(kappa, beta1):
    """adam_l2_weight_share from step adam_l2.weight_share: kappa*(beta1 + 1)/(beta1*kappa + 2*beta1 - kappa + 2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return kappa*(beta1 + 1)/(beta1*kappa + 2*beta1 - kappa + 2)


def adam_l2_stationary_var_m_numpy(kappa, beta1):
    """adam_l2_stationary_var_m from step adam_l2.stationary_var_m: 2*(1 - beta1)/(beta1*kappa + 2*beta1 - kappa + 2)."""
    return -2*(beta1 - 1)/(beta1*kappa + 2*beta1 - kappa + 2)


def adam_l2_stationary_var_m_mpmath(kappa, beta1):
    """adam_l2_stationary_var_m from step adam_l2.stationary_var_m: 2*(1 - beta1)/(beta1*kappa + 2*beta1 - kappa + 2)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return -2*(beta1 - 1)/(beta1*kappa + 2*beta1 - kappa + 2)


def adam_l2_lr_decay_ratio_numpy(kappa, beta1, eps_ratio):
    """adam_l2_lr_decay_ratio from step adam_l2.self_consistency: kappa*(eps_ratio + sqrt(2)*sqrt(beta1*kappa + beta1 + 1)*sqrt(1/(beta1*kappa + 2*beta1 - kappa + 2)))."""
    _t0 = beta1*kappa
    return kappa*(eps_ratio + numpy.sqrt(2)*numpy.sqrt(_t0 + beta1 + 1)*numpy.sqrt((_t0 + 2*beta1 - kappa + 2)**(-1.0)))


def adam_l2_lr_decay_ratio_mpmath(kappa, beta1, eps_ratio):
    """adam_l2_lr_decay_ratio from step adam_l2.self_consistency: kappa*(eps_ratio + sqrt(2)*sqrt(beta1*kappa + beta1 + 1)*sqrt(1/(beta1*kappa + 2*beta1 - kappa + 2)))."""
    import mpmath  # only the arbitrary-precision backend needs it
    _t0 = beta1*kappa
    return kappa*(eps_ratio + mpmath.sqrt(2)*mpmath.sqrt(_t0 + beta1 + 1)*mpmath.sqrt(1/(_t0 + 2*beta1 - kappa + 2)))


def adam_l2_req_weight_rms_sq_numpy(lr, weight_decay, grad_std):
    """adam_l2_req_weight_rms_sq from step adam_l2.theta_rms_small_decay: grad_std*lr/(2*weight_decay)."""
    return (1/2)*grad_std*lr/weight_decay


def adam_l2_req_weight_rms_sq_mpmath(lr, weight_decay, grad_std):
    """adam_l2_req_weight_rms_sq from step adam_l2.theta_rms_small_decay: grad_std*lr/(2*weight_decay)."""
    import mpmath  # only the arbitrary-precision backend needs it
    return (mpmath.mpf(1)/mpmath.mpf(2))*grad_std*lr/weight_decay

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

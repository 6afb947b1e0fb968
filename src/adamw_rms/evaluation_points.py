"""Evaluation points of the derivations' checks: where a check is evaluated, not what it claims.

The derivation modules (``adamw_rms.derivations``) verify identities and approximations at
concrete points: exact generic Rational values of the hyperparameters for brute-force
expansions and exact Gaussian moments, the ranges of ``t`` that a brute force iterates, the
hyperparameters of mpmath quadratures and limits, and the working precision of mpmath values.
None of these numbers is mathematics of the derivation: any generic value (no coincidence such
as beta_1 = beta_2, inside the domain of each symbol, a precision well above the tolerance)
verifies the same identity, and a wrong statement fails at any of them. They live here, outside
``derivations/``, so that the derivations hold only mathematics (coefficients, exponents,
regimes, bounds, limits of sums, indices).

Changing a value here is therefore an equivalent change by design: the mutation suite
(``tests/mutation``) mutates the derivation modules and does not mutate this module.
Brute-force points shared by several check classes (``BRUTE_FORCE_POINT``) live in
``adamw_rms.checks``.
"""

from __future__ import annotations

import sympy as sp

from . import symbols as S

t, lam, rho0 = S.t, S.lam, S.rho0
b1, b3, k, snr, sigma = S.beta1, S.beta3, S.k, S.snr, S.sigma

# Brute-force ranges of t (``BruteForce``'s own default is t = 1..4): a shorter one where the
# expansion grows fast, a longer one where a lag sum needs more terms to show every lag.
BRUTE_FORCE_STEPS = (1, 2, 3, 4)
SHORT_BRUTE_FORCE_STEPS = (1, 2, 3)
LONG_BRUTE_FORCE_STEPS = (1, 2, 3, 4, 5)

# schedules: the points of the schedule quadratures, the source's simulation (cosine from 1e-3
# to 1e-4, wd = 0.1, T = 10000) and a short warmup-heavy run.
SCHEDULE_POINTS = (
    {
        S.eta_a: sp.Rational(1, 1000),
        S.eta_b: sp.Rational(1, 10000),
        S.eta_max: sp.Rational(1, 1000),
        S.eta_min: sp.Rational(1, 10000),
        S.t1: sp.Integer(500),
        S.t2: sp.Integer(8000),
        t: sp.Integer(10000),
        lam: sp.Rational(1, 10),
    },
    {
        S.eta_a: sp.Rational(3, 1000),
        S.eta_b: sp.Rational(7, 100),
        S.eta_max: sp.Rational(7, 100),
        S.eta_min: sp.Rational(3, 1000),
        S.t1: sp.Integer(30),
        S.t2: sp.Integer(60),
        t: sp.Integer(100),
        lam: sp.Rational(2, 5),
    },
)

# schedules: points for the exact integral on a linear schedule (with rho_0): decaying, the source's
# simulation (1e-3 down to 1e-4) and a cooldown to nearly 0; rising, its reverse and a warmup.
LINEAR_DECAY_POINTS = (
    {
        S.eta_a: sp.Rational(1, 1000),
        S.eta_b: sp.Rational(1, 10000),
        t: sp.Integer(10000),
        lam: sp.Rational(1, 10),
        rho0: sp.Rational(1, 100),
    },
    {
        S.eta_a: sp.Rational(1, 100),
        S.eta_b: sp.Rational(1, 100000),
        t: sp.Integer(5000),
        lam: sp.Rational(1, 20),
        rho0: sp.Rational(1, 1000),
    },
)
LINEAR_RISE_POINTS = (
    {
        S.eta_a: sp.Rational(1, 10000),
        S.eta_b: sp.Rational(1, 1000),
        t: sp.Integer(10000),
        lam: sp.Rational(1, 10),
        rho0: sp.Rational(1, 100),
    },
    {
        S.eta_a: sp.Rational(3, 1000),
        S.eta_b: sp.Rational(7, 100),
        t: sp.Integer(100),
        lam: sp.Rational(2, 5),
        rho0: sp.Rational(1, 50),
    },
)

# schedules: exact generic values for the brute-force Gaussian moments: kappa_k as a log (so
# e^{kappa_k} is rational), eta_k, beta_1, beta_2. The identities hold for any weights; small
# numbers keep the expansions cheap.
WEIGHT_POINT: dict[sp.Expr, sp.Expr] = {
    **{S.Kappa(sp.Integer(n)): sp.log(sp.Rational(10 + 3 * n, 11 - n)) for n in range(1, 5)},
    **{S.eta_seq[n]: sp.Rational(2 * n + 1, 7 * n + 3) for n in range(1, 5)},
    S.beta1: sp.Rational(9, 11),
    S.beta2: sp.Rational(19, 23),
}

# schedules: the hyperparameters at which the approximations are tried in their regime: momentum
# 0.9 and 0.95 (the source's simulation), a rate and a decay small enough that
# e^{eta lambda} beta < 1.
REGIME_BETA1, REGIME_BETA2 = sp.Rational(9, 10), sp.Rational(19, 20)
REGIME_RATE, REGIME_DECAY = sp.Rational(1, 10), sp.Rational(1, 10)
# schedules: beta_1 of the brute-force sums of the Robbins-Monro gaps.
ROBBINS_MONRO_POINT = {S.beta1: sp.Rational(9, 11)}
# schedules: the linear decay 1e-3 -> 1e-4 of the single-epoch check (its bound 0.25 is about
# 1.3 times this schedule's error, 0.19).
SINGLE_EPOCH_SCHEDULE = {S.eta_a: sp.Rational(1, 1000), S.eta_b: sp.Rational(1, 10000)}
# schedules: eta_b / eta_a just above 1, where the exact linear-schedule formula is checked
# against constant rates (at 1 it is undefined; just below, erf cancels catastrophically).
NEAR_ONE = 1 + sp.Rational(1, 10**15)

# sign_sgdm: hyperparameters of the t -> infinity limits and the lag sums (mpmath), an initial
# weight RMS^2, a finite t, and the gradient-mean points of the shifted sign statistics.
SIGN_LIMIT_POINT = {b1: sp.Rational(9, 10), b3: sp.Rational(1, 2), lam: sp.Rational(3, 10)}
RHO0_POINT = sp.Rational(1, 7)
FINITE_T_POINT = sp.Integer(4)
LAG_SUM_POINT = {b1: sp.Rational(1, 3), b3: sp.Rational(19, 20), lam: sp.Rational(2)}
SHIFT_POINTS = tuple(
    {snr: sp.Rational(q), b1: sp.Rational(beta), sigma: sp.Rational(3, 2)}
    for q, beta in (("1/3", "9/10"), ("2", "1/5"))
)
AUTOCOVARIANCE_POINTS = tuple(
    {snr: sp.Integer(0), b1: sp.Rational(beta), k: sp.Integer(lag)}
    for beta, lag in (("9/10", 1), ("1/2", 3), ("19/20", 7))
)
# beta3 = 1/4: the finite-t terms fall off fast, so few quadratures (t = 6, 12, 24) are needed.
GENERAL_LIMIT_POINT = {b3: sp.Rational(1, 4), snr: sp.Rational(1, 20)}
GENERAL_LIMIT_VALUES = (6, 12, 24)
GENERAL_LIMIT_DPS = 20

# weight_rms: a long beta3-window for the iterated recursions, beta3^t close to 1/2 (a Float at
# 50 digits: the exact power of a Rational would have 27000 digits).
LONG_WINDOW_POINT = {b3: sp.Float("0.9999", 50), t: sp.Integer(6931)}

# tuc: the gradient at step t in the frozen-v limit (the error is exactly its small parameter at
# any gradient).
GRADIENT_POINT = sp.Integer(1)

# lion: a generic point (beta1 != beta2) for the brute-force Gaussian moments of the filter, the
# lags at which its covariance is expanded, points of the two-shift sign lemma, and fast limits
# (small beta2, beta3: the transient and the lag tail fall off within a few steps).
LION_POINT = {S.beta1: sp.Rational(3, 5), S.beta2: sp.Rational(5, 7), S.beta3: sp.Rational(7, 9)}
LION_LAGS = (1, 2, 3)
LION_PAIR_POINTS = tuple(
    {S.shift: sp.Rational(x), S.shift_y: sp.Rational(y), S.corr: sp.Rational(r)}
    for x, y, r in (("1/3", "4/5", "3/10"), ("-1/2", "6/5", "9/10"))
)
LION_LIMIT_POINT = {
    S.beta1: sp.Rational(9, 10),
    S.beta2: sp.Rational(1, 30),
    b3: sp.Rational(1, 30),
    lam: sp.Rational(3, 10),
    rho0: sp.Rational(1, 7),
}
LION_LIMIT_SNR = (sp.Integer(0), sp.Rational(1, 5))
LION_LIMIT_VALUES = (2, 4, 8)
LION_SHIFT_LIMIT_VALUES = (20, 40, 80)
LION_FILTER_LIMIT_POINT = {S.beta1: sp.Rational(9, 10), S.beta2: sp.Rational(3, 5), k: 2, snr: 2}
LION_SUM_POINTS = tuple(
    {S.beta1: sp.Rational(p), S.beta2: sp.Rational(q)}
    for p, q in (("9/10", "3/5"), ("1/3", "1/2"), ("19/20", "4/5"))
)
LION_REQ_GIVEN = {S.beta1: sp.Rational(9, 10), S.beta2: sp.Rational(99, 100)}

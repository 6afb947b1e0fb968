"""Prototype: second-order (delta-method) corrected weight RMS, O(T)."""
import numpy as np
from adamw_rms.estimators.schedules import linear_recurrence

def per_step(T, b1, b2, mu, sigma, eps, bias):
    s = np.arange(1, T + 1, dtype=float)
    c1 = 1 - b1**s if bias else np.ones(T)
    c2 = 1 - b2**s if bias else np.ones(T)
    Vg = 2 * sigma**4 + 4 * mu**2 * sigma**2
    meanM = mu * (1 - b1**s) / c1
    A = (mu**2 + sigma**2) * (1 - b2**s) / c2
    Kmm = sigma**2 * (1 - b1) / (1 + b1) * (1 - b1**(2 * s))          # Cov(m_s, m_s) raw
    Kvv = Vg * (1 - b2) / (1 + b2) * (1 - b2**(2 * s))
    Kmv = 2 * mu * sigma**2 * (1 - b1) * (1 - b2) * (1 - (b1 * b2)**s) / (1 - b1 * b2)
    Kmmv = 2 * sigma**4 * (1 - b1)**2 * (1 - b2) * (1 - (b1 * b1 * b2)**s) / (1 - b1 * b1 * b2)
    a = np.sqrt(A)
    f0 = 1 / (a + eps)
    f1 = -a / (2 * (a + eps)**2)
    f2 = a / (8 * (a + eps)**2) + a**2 / (4 * (a + eps)**3)
    # normalised: delta = (V - A)/A, V = v/c2, M = m/c1
    dd = Kvv / c2**2 / A**2                  # E[delta_s^2]
    return dict(s=s, c1=c1, c2=c2, meanM=meanM, A=A, Kmm=Kmm, Kvv=Kvv, Kmv=Kmv, Kmmv=Kmmv, f0=f0, f1=f1, f2=f2, dd=dd)

def corrected_trajectory(lr, wd, T, b1, b2, mu=0.0, sigma=1.0, eps=0.0, bias=True, init=0.0):
    p = per_step(T, b1, b2, mu, sigma, eps, bias)
    c1, c2, A, f0, f1, f2, dd, mM = p['c1'], p['c2'], p['A'], p['f0'], p['f1'], p['f2'], p['dd'], p['meanM']
    # E[u_s] to first order in the fluctuations: f0 mu_s (1 + g2 dd) + f1 Cov(M_s,V_s)/A_s
    covMV = p['Kmv'] / (c1 * c2)
    e = f0 * mM + f2 * mM * dd + f1 * covMV / A
    # covariance D(s,r) = C(s,r) - e_s e_r, r >= s. Terms X_i(s) Y_i(r) rho_i^(r-s)
    # C(s,r) = f0f0' E[MM'](1 + g2 dd + g2' dd') + f1f1' E[MM'] E[dd'] + f1 f0' E[MM'd] + f0 f1' E[MM'd']
    # E[MM'] = mM mM' + Kmm(s)/(c1 c1') b1^k
    # E[dd'] = Kvv(s)/(c2 c2' A A') b2^k
    # E[MM' d] = [mM Cov(M',V) + mM' Cov(M,V) + kappa(M,M',V)]/A ; Cov(M_r,V_s) = b1^k Kmv(s)/(c1'c2); Cov(M_s,V_s)=Kmv(s)/(c1 c2)
    #   kappa(M_s,M_r,V_s) = b1^k Kmmv(s)/(c1 c1' c2)
    # E[MM' d'] = [mM Cov(M',V') + mM' Cov(M,V') + kappa(M,M',V')]/A' ; Cov(M_s,V_r) = b2^k Kmv(s)/(c1 c2'); kappa(M_s,M_r,V_r)=(b1b2)^k Kmmv(s)/(c1c1'c2')
    g2 = f2 / f0
    terms = []  # (X(s), Y(r), rho)
    # rho = b1 : from Cov(M,M') in f0f0'(1+..) ; Cov(M_r,V_s), kappa(M,M',V_s) in f1 f0'
    Xb1 = [(f0 * p['Kmm'] / c1, f0 / c1, None)]  # careful with (1+g2 dd + g2' dd') -> split
    X = []
    # f0 f0' Kmm/(c1c1') b1^k (1 + g2 dd + g2' dd')
    X.append((f0 * p['Kmm'] / c1 * (1 + g2 * dd), f0 / c1, b1))
    X.append((f0 * p['Kmm'] / c1, f0 / c1 * g2 * dd, b1))
    # f1 f1' [mM mM' + Kmm b1^k/(c1c1')] Kvv/(c2c2'AA') b2^k
    X.append((f1 * mM * p['Kvv'] / (c2 * A), f1 * mM / (c2 * A), b2))
    X.append((f1 * p['Kmm'] / c1 * p['Kvv'] / (c2 * A), f1 / (c1 * c2 * A), b1 * b2))
    # f1 f0' E[MM'd]: mM * b1^k Kmv/(c1'c2) /A  + kappa b1^k Kmmv/(c1 c1' c2)/A   (mM' Cov(M,V)/A is in e_r e_s part)
    X.append((f1 * (mM * p['Kmv'] / c2 + p['Kmmv'] / (c1 * c2)) / A, f0 / c1, b1))
    # f0 f1' E[MM'd']: mM' b2^k Kmv/(c1 c2') /A' + kappa (b1b2)^k Kmmv/(c1 c1' c2')/A' ; (mM Cov(M',V')/A' is in e part)
    X.append((f0 * p['Kmv'] / c1, f1 * mM / (c2 * A), b2))
    X.append((f0 * p['Kmmv'] / c1, f1 / (c1 * c2 * A), b1 * b2))
    # mean-part pieces f1f1' mM mM' E[dd'] handled above (rho=b2), f0f0' mM mM'(g2dd+g2'dd') in e e.
    D0 = sum(x * y for x, y, rho in X)  # D(s,s)
    b3 = 1 - lr * wd
    a = np.full(T, b3)
    # Q_i(r) = sum_{s<r} X(s) lr (b3 rho)^(r-s); Q(r) = b3 rho (Q(r-1) + X(r-1) lr)
    Z = lr * lr * D0.copy()
    for x, y, rho in X:
        shifted = np.concatenate([[0.0], x[:-1]])
        Q = linear_recurrence(np.full(T, b3 * rho), b3 * rho * lr * shifted) if rho > 0 else np.zeros(T)
        Z += 2 * lr * y * Q
    W = linear_recurrence(np.full(T, b3 * b3), Z)
    mean = linear_recurrence(np.full(T, b3), -lr * e)
    t = np.arange(1, T + 1)
    return np.sqrt(W + mean**2 + init**2 * b3**(2 * t)), e, D0

if __name__ == "__main__":
    r, e, D0 = corrected_trajectory(1e-3 / 0.1 * 0.1, 0.1, 50000, 0.9, 0.95)
    print(r[-1], np.sqrt(D0[-1] + e[-1]**2))

"""Every SymPy symbol of the derivations, created once, with its assumptions and LaTeX name.

Vectors live in :math:`\\mathbb{R}^d` and every operation on them is element-wise, so the
derivations treat a vector at step ``t`` as one commutative scalar per coordinate
(``theta[t]``). Norms and expectations are kept as unevaluated functions (:class:`RMS2`,
:class:`Expect`, ...) so a step can state ``E[u^2] ≈ E[m^2]/E[v]`` literally.
"""

from __future__ import annotations

import sympy as sp

# --- hyperparameters -------------------------------------------------------------------------
beta1 = sp.Symbol("beta_1", positive=True)
beta2 = sp.Symbol("beta_2", positive=True)
beta3 = sp.Symbol("beta_3", positive=True)
eta = sp.Symbol("eta", positive=True)
lam = sp.Symbol("lambda", positive=True)

# --- indices ---------------------------------------------------------------------------------
t = sp.Symbol("t", integer=True, positive=True)
i = sp.Symbol("i", integer=True, positive=True)
j = sp.Symbol("j", integer=True, positive=True)
k = sp.Symbol("k", integer=True, positive=True)  # a later step, or a lag between two steps
T = sp.Symbol("T", integer=True, positive=True)  # a horizon: the last step summed over
h = sp.Symbol("h", integer=True)  # a lag between two steps, of either sign
factor_step = sp.Symbol("p", integer=True, positive=True)  # the running step of a product

# --- gradient statistics ---------------------------------------------------------------------
mu = sp.Symbol("mu", real=True)
sigma = sp.Symbol("sigma", positive=True)
snr = sp.Symbol("SNR", nonnegative=True)
mu_norm = sp.Symbol("mu_norm", nonnegative=True)
sigma_norm = sp.Symbol("sigma_norm", positive=True)

# --- a target the weight RMS should reach (solved for the weight decay) -------------------------
target_rms = sp.Symbol("r_target", positive=True)

# --- a pair of correlated Gaussians (the arcsine law) -------------------------------------------
# Written r, not rho: rho_t is the squared weight RMS (part 2) and rho_0 its start.
corr = sp.Symbol("r", real=True)  # their correlation, in (-1, 1)
shift = sp.Symbol("a", real=True)  # their common mean in units of their standard deviation
shift_y = sp.Symbol("a_Y", real=True)  # Y's mean where it differs from X's (Lion's transient)
angle = sp.Symbol("phi", real=True)  # integration variable, r = sin(phi)
pair_x = sp.Symbol("X", real=True)
pair_y = sp.Symbol("Y", real=True)

# --- stand-ins for powers that the approximations keep fixed -----------------------------------
# NOTE: the source keeps beta3^t (it need not be small over a run) while sending the lone beta3
# to 1 and beta2^t to 0; these symbols let a limit hold beta3^t fixed explicitly.
beta3_pow_t = sp.Symbol("x", positive=True)
beta2_pow_t = sp.Symbol("y", positive=True)
beta1_pow_t = sp.Symbol("z", positive=True)
beta1_pow_T = sp.Symbol("w", positive=True)  # beta1^T, for a horizon T -> oo

# --- vectors (one coordinate of each) ----------------------------------------------------------
_theta = sp.Symbol("theta_vec")
_u = sp.Symbol("u_vec")
_m = sp.Symbol("m_vec")
_v = sp.Symbol("v_vec")
_g = sp.Symbol("g_vec")
_u_bar = sp.Symbol("u_bar_vec")
_m_bar = sp.Symbol("m_bar_vec")
_v_bar = sp.Symbol("v_bar_vec")
_u_tilde = sp.Symbol("u_tilde_vec")
_u_tilde_T = sp.Symbol("u_tilde_T_vec")
_m_hat = sp.Symbol("m_hat_vec")
_v_hat = sp.Symbol("v_hat_vec")
_c = sp.Symbol("c_vec")  # Lion's interpolated momentum, whose sign is the update
_u_req = sp.Symbol("u_req_vec")  # REQ's linearised sign update (Lion)

theta = sp.IndexedBase(_theta)
u = sp.IndexedBase(_u)
m = sp.IndexedBase(_m)
v = sp.IndexedBase(_v)
g = sp.IndexedBase(_g)
u_bar = sp.IndexedBase(_u_bar)
m_bar = sp.IndexedBase(_m_bar)
v_bar = sp.IndexedBase(_v_bar)
u_tilde = sp.IndexedBase(_u_tilde)  # total update contribution of g_t
u_tilde_T = sp.IndexedBase(_u_tilde_T)  # the same, summed up to the horizon T only
m_hat = sp.IndexedBase(_m_hat)  # bias-corrected first moment
v_hat = sp.IndexedBase(_v_hat)  # bias-corrected second moment
c = sp.IndexedBase(_c)  # Lion: c_t = beta1 m_{t-1} + (1 - beta1) g_t
u_req = sp.IndexedBase(_u_req)  # Lion: sqrt(2/pi) c_t / sd(c_t), REQ's linearisation

# Symbols whose default LaTeX is not what a reader expects.
LATEX_NAMES: dict[sp.Symbol, str] = {
    _theta: r"\boldsymbol{\theta}",
    _u: r"\boldsymbol{u}",
    _m: r"\boldsymbol{m}",
    _v: r"\boldsymbol{v}",
    _g: r"\boldsymbol{g}",
    _u_bar: r"\bar{\boldsymbol{u}}",
    _m_bar: r"\bar{\boldsymbol{m}}",
    _v_bar: r"\bar{\boldsymbol{v}}",
    _u_tilde: r"\tilde{\boldsymbol{u}}",
    _u_tilde_T: r"\tilde{\boldsymbol{u}}^{(T)}",
    _m_hat: r"\hat{\boldsymbol{m}}",
    _v_hat: r"\hat{\boldsymbol{v}}",
    _c: r"\boldsymbol{c}",
    _u_req: r"\boldsymbol{u}^{\mathrm{REQ}}",
    shift_y: r"a_Y",
    snr: r"\mathrm{SNR}",
    mu_norm: r"\Vert\boldsymbol{\mu}\Vert",
    sigma_norm: r"\Vert\boldsymbol{\sigma}\Vert",
    target_rms: r"r",
    beta3_pow_t: r"\beta_{3}^{t}",
    beta2_pow_t: r"\beta_{2}^{t}",
    beta1_pow_t: r"\beta_{1}^{t}",
    beta1_pow_T: r"\beta_{1}^{T}",
}


class Expect(sp.Function):
    """Unevaluated expectation :math:`\\mathbb{E}[x]`."""

    nargs = 1

    def _latex(self, printer, exp=None) -> str:
        body = r"\mathbb{E}\left[%s\right]" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class Variance(sp.Function):
    """Unevaluated variance :math:`\\mathbb{V}\\mathrm{ar}[x]`."""

    nargs = 1

    def _latex(self, printer) -> str:
        return r"\mathbb{V}\mathrm{ar}\left[%s\right]" % printer._print(self.args[0])


class RMS2(sp.Function):
    """Squared RMS over coordinates, :math:`\\Vert x\\Vert_{RMS}^2 = \\frac1d\\sum_k x_k^2`."""

    nargs = 1

    def _latex(self, printer, exp=None) -> str:
        power = "2" if exp is None else r"2 \cdot %s" % exp
        return r"\Vert %s\Vert_{\mathrm{RMS}}^{%s}" % (printer._print(self.args[0]), power)


class RMS(sp.Function):
    """RMS over coordinates, :math:`\\Vert x\\Vert_{RMS}`."""

    nargs = 1

    def _latex(self, printer, exp=None) -> str:
        body = r"\Vert %s\Vert_{\mathrm{RMS}}" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class MeanDot(sp.Function):
    """Coordinate mean of the product, :math:`\\frac{1}{d}\\, x\\cdot y`."""

    nargs = 2

    def _latex(self, printer, exp=None) -> str:
        body = r"\frac{%s \cdot %s}{d}" % tuple(printer._print(a) for a in self.args)
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


class Covariance(sp.Function):
    """Unevaluated covariance :math:`\\mathrm{Cov}[x, y]`."""

    nargs = 2

    def _latex(self, printer, exp=None) -> str:
        body = r"\mathrm{Cov}\left[%s, %s\right]" % tuple(printer._print(a) for a in self.args)
        return body if exp is None else r"%s^{%s}" % (body, exp)


class Correlation(sp.Function):
    """Unevaluated correlation :math:`\\mathrm{Corr}[x, y]`."""

    nargs = 2

    def _latex(self, printer) -> str:
        return r"\mathrm{Corr}\left[%s, %s\right]" % tuple(printer._print(a) for a in self.args)


class Autocovariance(sp.Function):
    """The stationary autocovariance of the update at lag ``k``, :math:`C_k`."""

    nargs = 1

    def _latex(self, printer, exp=None) -> str:
        body = r"C_{%s}" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


rho0 = RMS2(theta[0])

# --- time-varying hyperparameters (part 2) --------------------------------------------------------
_eta_seq = sp.Symbol("eta_seq")
_lam_seq = sp.Symbol("lambda_seq")
eta_seq = sp.IndexedBase(_eta_seq)  # eta_i per step, or eta_s in continuous time
lam_seq = sp.IndexedBase(_lam_seq)  # lambda_i per step, or lambda_s
s = sp.Symbol("s", nonnegative=True)  # continuous training time
decay = sp.Symbol("q", positive=True)  # one step's eta_t lambda_t, as it tends to 0
# The learning-rate schedules of part 2: endpoints, extremes and WSD breakpoints.
eta_a = sp.Symbol("eta_a", positive=True)
eta_b = sp.Symbol("eta_b", positive=True)
eta_min = sp.Symbol("eta_min", positive=True)
eta_max = sp.Symbol("eta_max", positive=True)
t1 = sp.Symbol("t_1", positive=True)
t2 = sp.Symbol("t_2", positive=True)
LATEX_NAMES.update(
    {
        _eta_seq: r"\eta",
        _lam_seq: r"\lambda",
        decay: r"\eta_t\lambda_t",
        eta_min: r"\eta_{\min}",
        eta_max: r"\eta_{\max}",
    }
)


class _Subscripted(sp.Function):
    """A quantity indexed by time, printed with its arguments as a subscript (kappa_t)."""

    _symbol = ""

    def _latex(self, printer, exp=None) -> str:
        body = r"%s_{%s}" % (self._symbol, ",".join(printer._print(a) for a in self.args))
        return body if exp is None else r"%s^{%s}" % (body, exp)


class Kappa(_Subscripted):
    """Accumulated decay :math:`\\kappa_t = \\sum_{i\\le t}\\eta_i\\lambda_i` (or its integral)."""

    nargs = 1
    _symbol = r"\kappa"


class Z(_Subscripted):
    """The normaliser :math:`z_t = \\sum_{i\\le t} e^{\\kappa_i}\\eta_i` of the averaged update."""

    nargs = 1
    _symbol = "z"


class Nu(_Subscripted):
    """The integrated squared learning rate :math:`\\nu_t = \\int_0^t \\eta_s^2\\,ds`."""

    nargs = 1
    _symbol = r"\nu"


class Rho(_Subscripted):
    """The squared weight RMS as a function of (continuous) time, :math:`\\rho_t`."""

    nargs = 1
    _symbol = r"\rho"


class Beta1Bar(_Subscripted):
    """The collapsed weight of :math:`g_j` in :math:`\\bar m_t`, :math:`\\bar\\beta_1(j, t)`."""

    nargs = 2

    def _latex(self, printer, exp=None) -> str:
        body = r"\bar{\beta}_{1}(%s)" % ", ".join(printer._print(a) for a in self.args)
        return body if exp is None else r"%s^{%s}" % (body, exp)


class Beta2Bar(_Subscripted):
    """The collapsed weight of :math:`g_j^2` in :math:`\\bar v_t`, :math:`\\bar\\beta_2(j, t)`."""

    nargs = 2

    def _latex(self, printer, exp=None) -> str:
        body = r"\bar{\beta}_{2}(%s)" % ", ".join(printer._print(a) for a in self.args)
        return body if exp is None else r"%s^{%s}" % (body, exp)


# --- beyond the mean field (the corrected formulas) ----------------------------------------------

eps = sp.Symbol("epsilon", positive=True)  # Adam's eps, added to sqrt(v_hat)
bias = sp.Symbol("b", nonnegative=True)  # 1 with Adam's bias correction, 0 without
fluct = sp.Symbol("delta", real=True)  # the relative fluctuation v_hat/E[v_hat] - 1
mean_v_hat = sp.Symbol("A", positive=True)  # E[v_hat] at one step
fluct_order = sp.Symbol("tau", positive=True)  # book-keeping: orders of v_hat's fluctuation


class JointCumulant(sp.Function):
    """The joint third cumulant :math:`\\kappa[x, y, z]` (the centred third moment)."""

    nargs = 3

    def _latex(self, printer) -> str:
        return r"\kappa\left[%s, %s, %s\right]" % tuple(printer._print(a) for a in self.args)


class TaylorCoefficient(sp.Function):
    """:math:`f_n(A)`, the coefficient of δ^n in :math:`1/(\\sqrt{A(1+\\delta)}+\\epsilon)`."""

    nargs = 2

    def _latex(self, printer, exp=None) -> str:
        n, value = (printer._print(a) for a in self.args)
        body = r"f_{%s}\left(%s\right)" % (n, value)
        return body if exp is None else r"%s^{%s}" % (body, exp)


# --- SGD with momentum (derivation sgd): PyTorch's buffer, dampening and two switches ---------
_buf = sp.Symbol("buf_vec")
buf = sp.IndexedBase(_buf)  # PyTorch's momentum_buffer
momentum = sp.Symbol("beta", nonnegative=True)
dampening = sp.Symbol("tau_d", nonnegative=True)
coupled = sp.Symbol("c", nonnegative=True)  # 1: decay added to the gradient (L2), 0: decoupled
nesterov = sp.Symbol("nu", nonnegative=True)  # 1: Nesterov's step, 0: the buffer itself
LATEX_NAMES.update({_buf: r"\boldsymbol{b}", dampening: r"\tau"})
# --- Adam with L2 regularisation (derivation adam_l2) --------------------------------------------

_g_coupled = sp.Symbol("g_coupled_vec")
g_coupled = sp.IndexedBase(_g_coupled)  # the gradient with lambda * theta added (L2)
step_size = sp.Symbol("alpha", positive=True)  # the frozen step eta/(sqrt(E v_hat) + eps)
effective_decay = sp.Symbol("kappa", positive=True)  # alpha * lambda
theta_mean_inf = sp.Symbol("theta_mean_inf", real=True)  # stationary E[theta]
m_mean_inf = sp.Symbol("m_mean_inf", real=True)  # stationary E[m]
var_theta_inf = sp.Symbol("P_theta_theta", positive=True)  # stationary Var[theta]
cov_theta_m_inf = sp.Symbol("P_theta_m", real=True)  # stationary Cov[theta, m]
var_m_inf = sp.Symbol("P_m_m", positive=True)  # stationary Var[m]
mean_v_inf = sp.Symbol("V_inf", positive=True)  # stationary E[v]
LATEX_NAMES.update(
    {
        _g_coupled: r"\boldsymbol{g}'",
        theta_mean_inf: r"\bar{\theta}_{\infty}",
        m_mean_inf: r"\bar{m}_{\infty}",
        var_theta_inf: r"P_{\theta\theta}",
        cov_theta_m_inf: r"P_{\theta m}",
        var_m_inf: r"P_{mm}",
        mean_v_inf: r"V_{\infty}",
    }
)

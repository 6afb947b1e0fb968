"""The presentation layer: golden strings for the worst cases of SymPy's canonical form, and
the proofs that keep every print-only rewrite equal to the verified expression."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sympy as sp

from adamw_rms import symbols as S
from adamw_rms.algebra import is_zero
from adamw_rms.presentation import (
    ONE_RADICAL,
    PAPER,
    Rewrite,
    evaluated,
    nonnegative_on_domain,
    present,
    statement,
    to_latex,
)
from adamw_rms.steps import DERIVATION_NAMES, derivation

b1, b2, b3, eta, lam, t, i, j, k = S.beta1, S.beta2, S.beta3, S.eta, S.lam, S.t, S.i, S.j, S.k
THETA = r"{\boldsymbol{\theta}}"

# (expression in SymPy's canonical form, the LaTeX a paper prints): the worst cases of the
# documents before the presentation layer, e.g. ``\beta_{3} \mathrel{:=} - \eta \lambda + 1``.
GOLDEN_EXPRESSIONS = [
    pytest.param(1 - eta * lam, r"1 - \eta \lambda", id="one-minus-eta-lambda"),
    pytest.param(b3 ** (t - i), r"\beta_{3}^{t - i}", id="exponent-t-minus-i"),
    pytest.param(b3 ** (2 * t - i - j), r"\beta_{3}^{2 t - i - j}", id="exponent-2t-i-j"),
    pytest.param(b1 ** (t - j + 1), r"\beta_{1}^{t - j + 1}", id="exponent-constant-last"),
    pytest.param(S.m[t + k], r"{\boldsymbol{m}}_{t + k}", id="subscript-time-first"),
    pytest.param(1 + b1, r"1 + \beta_{1}", id="one-plus-beta1"),
    pytest.param(
        (1 - b1) / (1 + b1), r"\frac{1 - \beta_{1}}{1 + \beta_{1}}", id="ratio-of-one-minus-plus"
    ),
    pytest.param(b3 - b1, r"\beta_{3} - \beta_{1}", id="positive-term-first"),
    pytest.param(1 - b1 * b3, r"1 - \beta_{1} \beta_{3}", id="one-minus-product"),
    pytest.param(S.snr + 1, r"1 + \mathrm{SNR}", id="one-plus-snr"),
    pytest.param(
        sp.sqrt(2) * sp.sqrt(eta) * sp.sqrt(1 - b1) / (2 * sp.sqrt(lam) * sp.sqrt(b1 + 1)),
        r"\sqrt{\frac{\eta \left(1 - \beta_{1}\right)}{2 \lambda \left(1 + \beta_{1}\right)}}",
        id="one-radical-headline",
    ),
    pytest.param(
        sp.sqrt(2) * sp.sqrt(eta) / (2 * sp.sqrt(lam)),
        r"\sqrt{\frac{\eta}{2 \lambda}}",
        id="one-radical-adamw",
    ),
    pytest.param(
        sp.erf(sp.sqrt(2) * sp.sqrt(S.snr) * sp.sqrt(b1 + 1) * sp.sqrt(1 / (1 - b1)) / 2),
        r"\operatorname{erf}{\left(\sqrt{\frac{\mathrm{SNR} \left(1 + \beta_{1}\right)}"
        r"{2 \left(1 - \beta_{1}\right)}} \right)}",
        id="one-radical-inside-erf",
    ),
    pytest.param(
        3 * lam * sp.sqrt(2) * sp.sqrt(eta), r"3 \lambda \sqrt{2 \eta}", id="coefficient-in-front"
    ),
    pytest.param(
        -sp.sqrt(2) * sp.sqrt(eta) / 2, r"- \sqrt{\frac{\eta}{2}}", id="coefficient-inside"
    ),
    pytest.param(sp.sqrt(19) / 19, r"\frac{1}{\sqrt{19}}", id="one-over-root"),
    pytest.param(
        b3**t * S.theta[0] + (1 - b3) * sp.Sum(-(b3 ** (t - i)) * S.u[i] / lam, (i, 1, t)),
        rf"\beta_{{3}}^{{t}} {THETA}_{{0}} - \frac{{\left(1 - \beta_{{3}}\right) "
        r"\sum_{i=1}^{t} \beta_{3}^{t - i} {\boldsymbol{u}}_{i}}{\lambda}",
        id="no-bare-minus-after-sum",
    ),
    pytest.param(
        sp.Sum(b1 ** (t - i) * (1 - b1) * S.g[i], (i, 1, t)),
        r"\left(1 - \beta_{1}\right) \sum_{i=1}^{t} \beta_{1}^{t - i} {\boldsymbol{g}}_{i}",
        id="constant-out-of-sum",
    ),
    pytest.param(
        b1 ** (t + 1) * b3 ** (t + 1) * (b1 * b3) ** (-t), r"\beta_{1} \beta_{3}", id="powers"
    ),
    pytest.param(b1**3 * b1 ** (2 * t) * b3, r"\beta_{1}^{2 t + 3} \beta_{3}", id="exponents"),
    pytest.param(
        -sp.Sum(S.eta_seq[j] ** 2, (j, 1, t)) + S.rho0,
        r"\Vert " + THETA + r"_{0}\Vert_{\mathrm{RMS}}^{2} - \sum_{j=1}^{t} {\eta}_{j}^{2}",
        id="sum-not-first-with-minus",
    ),
]


@pytest.mark.parametrize(("expr", "expected"), GOLDEN_EXPRESSIONS)
def test_golden_expression(expr, expected):
    assert to_latex(expr) == expected


@pytest.mark.parametrize(("expr", "expected"), GOLDEN_EXPRESSIONS)
def test_printed_form_equals_the_expression(expr, expected):
    # The rewritten form, re-evaluated, is the same value (radicals: compared by their squares,
    # which is how their rule is proved; the printer's reordering is a permutation).
    form = evaluated(present(expr).form)
    assert is_zero(sp.expand(form**2 - expr**2)) or is_zero(form - expr)
    assert not present(expr).rejected


def test_statement_relations():
    assert statement(S.beta3, ":=", 1 - eta * lam) == r"\beta_{3} \mathrel{:=} 1 - \eta \lambda"
    assert r" \approx " in statement(S.beta3, "≈", 1 - eta * lam)


# --- a wrong rule is rejected -------------------------------------------------------------------


WRONG_SIGN = Rewrite(
    "deliberately wrong: 1 - x printed as 1 + x",
    lambda e: isinstance(e, sp.Add) and 1 in e.args,
    lambda e: sp.Add(*(-a if a != 1 else a for a in e.args), evaluate=False),
)
WRONG_FACTOR = Rewrite(
    "deliberately wrong: constant factor 2 dropped from a sum",
    lambda e: isinstance(e, sp.Sum),
    lambda e: sp.Sum(e.function / 2, *e.limits),
)


@pytest.mark.parametrize(
    ("rule", "expr"),
    [
        (WRONG_SIGN, 1 - eta * lam),
        (WRONG_FACTOR, sp.Sum(2 * b3**i, (i, 1, t))),
    ],
)
def test_a_wrong_rule_is_rejected(rule, expr):
    result = present(expr, (rule, *PAPER))
    assert rule.name in result.rejected
    assert rule.name not in result.applied
    assert is_zero(evaluated(result.form) - expr)
    assert to_latex(expr) == to_latex(result.form)


def test_radicals_of_unknown_sign_are_not_merged():
    # sqrt(x) sqrt(y) = sqrt(x y) fails for x = y = -1: without a proof of the signs the merge is
    # rejected and the radicals are printed as they are.
    x, y = sp.symbols("x y", real=True)
    expr = sp.sqrt(x) * sp.sqrt(y)
    result = present(expr)
    assert ONE_RADICAL.name in result.rejected
    assert result.form == expr
    assert to_latex(expr) == r"\sqrt{x} \sqrt{y}"


def test_a_radical_merge_with_a_wrong_radicand_is_rejected():
    wrong = Rewrite(
        "deliberately wrong radicand",
        ONE_RADICAL.applies,
        lambda e: sp.Pow(sp.Mul(3, eta, evaluate=False), sp.S.Half, evaluate=False),
        ONE_RADICAL.proof,
        unevaluated=True,
    )
    expr = sp.sqrt(2) * sp.sqrt(eta)
    result = present(expr, (wrong,))
    assert result.rejected == (wrong.name,)
    assert result.form == expr


@pytest.mark.parametrize(
    ("expr", "nonnegative"),
    [
        (1 - b1, True),
        (1 / (1 - b3), True),
        (1 - b1 * b3, True),
        ((1 + b1) / (1 - b2), True),
        (S.snr, True),
        (b1 - b3, False),
        (S.mu, False),
    ],
)
def test_nonnegative_on_domain(expr, nonnegative):
    assert nonnegative_on_domain(expr) is nonnegative


# --- every statement of every derivation ---------------------------------------------------------

ALL_SIDES = [
    pytest.param(name, step.id, id=f"{name}.{step.id}")
    for name in DERIVATION_NAMES
    for step in derivation(name).steps
]


@pytest.mark.parametrize(("name", "step_id"), ALL_SIDES)
def test_no_canonical_form_left_in_a_statement(name, step_id):
    text = derivation(name).step(step_id).latex()
    for stumble in (r"- \eta \lambda + 1", "- i + t", "- j + t", r"\beta_{1} + 1\right)"):
        assert stumble not in text
    assert r"\sum_{i=1}^{t} -" not in text


# --- module structure ----------------------------------------------------------------------------

SRC = Path(__file__).resolve().parent.parent / "src" / "adamw_rms"


def _runtime_imports(module: str) -> set[str]:
    """Relative modules imported at run time (``if TYPE_CHECKING:`` blocks excluded)."""
    tree = ast.parse((SRC / f"{module}.py").read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped or not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        found.add(node.module or "")
        found.update(alias.name for alias in node.names if not node.module)
    return found


def test_steps_and_printing_do_not_import_each_other():
    assert "steps" not in _runtime_imports("latex")
    assert "steps" not in _runtime_imports("presentation")
    assert "latex" not in _runtime_imports("presentation")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1 · The weight-RMS derivation, step by step
#
# `adamw-rms` rebuilds Su Jianlin's mean-field estimate of the weight RMS of AdamW with SymPy.
# Every step is an object: a statement (left side, kind, right side), a justification, the
# source's equation label if it has one, and the **checks** that prove it. Nothing on a right
# side is typed by hand: it is computed from earlier steps, and the checks are independent of
# that computation.
#
# This notebook regenerates the derivation, renders each step, opens one step's proof and shows
# that a wrong step is caught, then exports LaTeX.

# %%
import dataclasses
import tempfile
from pathlib import Path

import sympy as sp
from IPython.display import Markdown, display

import adamw_rms
from adamw_rms import symbols as S

# %% [markdown]
# ## Regenerate and verify
#
# `derivation(name)` builds the steps (the first call loads SymPy); `verify()` runs every check.
# The same happens on the command line with `adamw-rms derive`, which also writes `derivations/`.

# %%
weight = adamw_rms.derivation("weight_rms")
verification = weight.verify()
print(f"{weight.title}: {len(weight.steps)} steps")
print(f"all verified: {all(v.passed for v in verification)}")
errata = sum(v.erratum for v in verification)
print(f"errata (derived formula differs from the printed one): {errata}")

# %% [markdown]
# ## Every step, rendered
#
# `:=` is a definition, `=` an identity (proved exactly), `≈` an approximation (with the limit
# or the statistical assumption that justifies it).

# %%
rows = ["| # | step | kind | how it is verified |", "|---|---|---|---|"]
for number, (step, result) in enumerate(zip(weight.steps, verification, strict=True), 1):
    label = f" ({step.label})" if step.label else ""
    rows.append(f"| {number} | `{step.id}`{label} | {step.kind.value} | {result.method} |")
display(Markdown("\n".join(rows)))

# %%
for step in weight.steps:
    display(Markdown(f"**{step.title}** — `{step.id}`"))
    display(step)

# %% [markdown]
# ## How a step is verified
#
# Take the step that collapses the double sum of first moments. Its right side came out of a
# summation rule (a triangular sum swap, then a geometric sum); its checks re-prove the equality
# without that rule, and both see the two sides of the statement: induction on $t$ from the
# recursion that defines the left side (eq:mv-roll), and the EMAs iterated for small $t$.

# %%
step = weight.step("double_sum_m")
display(step)
print(step.justification)
for check in step.verify().checks:
    print(f"- {check.method}: {'passed' if check.passed else 'FAILED'} — {check.detail}")

# %% [markdown]
# A check that cannot fail proves nothing, so here is the same step with a deliberately wrong
# right side (one factor $\beta_1$ too many). Both checks are written with the step's own two
# sides, so both fail, and one failed check fails the step. (`tests/test_mutations.py` doubles
# the right side of every step and requires a failure; the mutation suite in `tests/mutation/`
# edits the derivation modules themselves and requires `adamw-rms derive` to fail.)

# %%
wrong = dataclasses.replace(step, rhs=step.rhs * S.beta1)
for check in wrong.verify().checks:
    print(f"- {check.method}: {'passed' if check.passed else 'FAILED'}")
assert not wrong.verify().passed

# %% [markdown]
# Approximations are verified differently: each names the parameter $\varepsilon$ that really
# bounds what it drops, and the relative error exact / approximate − 1 must stay below a
# multiple of $\varepsilon$ inside that regime and be visible outside it (mpmath). Here is the
# main result, eq:theta-rms, against the exact mean-field moments and against the recursions
# iterated over thousands of steps, with the source's printed formula compared to the derived
# one.

# %%
main_result = weight.step("theta_rms")
display(main_result)
print("limit:", main_result.limit)
result = main_result.verify()
for check in result.checks:
    print(f"- {check.method}: {'passed' if check.passed else 'FAILED'} — {check.detail}")
if result.claim is not None:
    print(f"source's printed formula: {'agrees' if result.claim.passed else 'DIFFERS'}")

# %% [markdown]
# The statistical assumptions (what algebra cannot prove, and the simulation measures):

# %%
for assumption, users in weight.assumptions().values():
    print(f"- {assumption.statement} (used by {', '.join(users)})")

# %% [markdown]
# ## Export LaTeX
#
# One step's statement, ready for a paper (the CLI equivalent is
# `adamw-rms latex weight_rms.theta_rms`):

# %%
print(main_result.latex())

# %% [markdown]
# The whole derivation is a standalone document (`derivations/weight_rms.tex` is this text);
# label-free fragments per step are in `derivations/weight_rms/`.

# %%
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "weight_rms.tex"
    path.write_text(weight.latex(), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
print(f"{len(text.splitlines())} lines; begins with {text.splitlines()[0]!r}")
print("numbered equations:", text.count(r"\begin{equation}"))

# %% [markdown]
# The SymPy expression itself is one call away, for your own manipulations. For instance, let
# $\beta_3^t \to 0$ (many steps), put $\beta_3 = 1 - \eta\lambda$ and take zero-mean gradients:
# the famous $\eta / 2\lambda$ comes out.

# %%
weight_rms_sq = weight.result("weight_rms_sq")
display(weight_rms_sq)
steady = weight_rms_sq.subs(S.beta3**S.t, 0).subs(S.beta3, 1 - S.eta * S.lam)
sp.simplify(steady.subs(S.snr, 0))

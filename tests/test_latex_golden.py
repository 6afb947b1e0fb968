"""Golden LaTeX strings and the shape of the generated documents."""

from __future__ import annotations

import dataclasses
import re

import pytest

from adamw_rms.steps import DERIVATION_NAMES, derivation, find_step

# Whole statements of steps whose mathematics does not change: definitions and the source's
# closed forms. Expression-level golden strings (the worst cases of SymPy's canonical form) are in
# tests/test_presentation.py.
GOLDEN = {
    "weight_rms.beta3_def": r"\beta_{3} \mathrel{:=} 1 - \eta \lambda",
    "weight_rms.adamw_update": (
        r"{\boldsymbol{\theta}}_{t} \mathrel{:=} {\boldsymbol{\theta}}_{t - 1} - \eta "
        r"\left(\lambda {\boldsymbol{\theta}}_{t - 1} + {\boldsymbol{u}}_{t}\right)"
    ),
    "weight_rms.ema_wd": (
        r"{\boldsymbol{\theta}}_{t} = \beta_{3} {\boldsymbol{\theta}}_{t - 1} - "
        r"\frac{\left(1 - \beta_{3}\right) {\boldsymbol{u}}_{t}}{\lambda}"
    ),
    "weight_rms.m_unrolled": (
        r"{\boldsymbol{m}}_{t} = \left(1 - \beta_{1}\right) \sum_{i=1}^{t} \beta_{1}^{t - i} "
        r"{\boldsymbol{g}}_{i}"
    ),
    "weight_rms.theta_unrolled": (
        r"{\boldsymbol{\theta}}_{t} = \beta_{3}^{t} {\boldsymbol{\theta}}_{0} - "
        r"\frac{\left(1 - \beta_{3}\right) \sum_{i=1}^{t} \beta_{3}^{t - i} "
        r"{\boldsymbol{u}}_{i}}{\lambda}"
    ),
    "weight_rms.theta_rms_simple": (
        r"\Vert {\boldsymbol{\theta}}_{t}\Vert_{\mathrm{RMS}} \approx \sqrt{\frac{\eta}{2 \lambda}}"
    ),
    "update_rms.update_rms_mu0": (
        r"\Vert {\boldsymbol{u}}_{t}\Vert_{\mathrm{RMS}} \approx "
        r"\sqrt{\frac{1 - \beta_{1}}{1 + \beta_{1}}}"
    ),
}

ALL_STEPS = [
    pytest.param(name, step.id, id=f"{name}.{step.id}")
    for name in DERIVATION_NAMES
    for step in derivation(name).steps
]


@pytest.mark.parametrize("qualified_id", sorted(GOLDEN))
def test_golden_fragment(qualified_id):
    assert find_step(qualified_id).latex() == GOLDEN[qualified_id]


@pytest.mark.parametrize(("name", "step_id"), ALL_STEPS)
def test_fragment_is_a_bare_math_body(name, step_id):
    text = derivation(name).step(step_id).latex()
    assert text.strip() == text and text
    assert "\\label" not in text
    assert "$" not in text
    assert "\n" not in text
    assert text.count("{") == text.count("}")
    assert any(rel in text for rel in (r"\mathrel{:=}", " = ", r"\approx"))


def test_relation_follows_kind():
    d = derivation("weight_rms")
    assert r" \mathrel{:=} " in d.step("beta3_def").latex()
    assert " = " in d.step("ema_wd").latex()
    assert r" \approx " in d.step("theta_rms").latex()


def test_step_repr_latex():
    step = derivation("weight_rms").step("theta_rms")
    html = step._repr_latex_()
    assert html.startswith("$$")
    assert html.endswith("$$")
    assert step.latex() in html


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_derivation_repr_latex(name):
    d = derivation(name)
    html = d._repr_latex_()
    assert html.startswith("$$") and html.endswith("$$")
    assert r"\begin{aligned}" in html
    assert html.count(r"\text{(") == len(d.steps)


# --- committed documents --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def documents(repo_root):
    folder = repo_root / "derivations"
    return {
        name: {
            "tex": (folder / f"{name}.tex").read_text(encoding="utf-8"),
            "md": (folder / f"{name}.md").read_text(encoding="utf-8"),
        }
        for name in DERIVATION_NAMES
    }


def test_weight_rms_document_labels_and_references(documents):
    tex = documents["weight_rms"]["tex"]
    assert r"\label{eq:theta-rms}" in tex
    assert r"\eqref{eq:ema-wd}" in tex
    for label in ("eq:ema-wd", "eq:theta-t", "eq:mv-roll", "eq:u-bar", "eq:theta-rms-mu0"):
        assert f"\\label{{{label}}}" in tex


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_document_is_standalone_and_references_resolve(name, documents):
    tex = documents[name]["tex"]
    assert tex.startswith(r"\documentclass")
    assert tex.rstrip().endswith(r"\end{document}")
    labels = re.findall(r"\\label\{([^}]*)\}", tex)
    assert len(labels) == len(set(labels)) == len(derivation(name).steps)
    assert set(re.findall(r"\\eqref\{([^}]*)\}", tex)) <= set(labels)
    assert tex.count(r"\begin{equation}") == tex.count(r"\end{equation}") == len(labels)
    assert "[[" not in tex


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("update_rms", "https://kexue.fm/archives/11267"),
        ("weight_rms", "https://kexue.fm/archives/11307"),
    ],
)
def test_markdown(name, url, documents):
    md = documents[name]["md"]
    assert url in md
    blocks = re.findall(r"^\$\$\n(.*?)\n\$\$$", md, flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) >= len(derivation(name).steps)
    assert "[[" not in md
    # Each step's statement appears verbatim as a display block.
    for step in derivation(name).steps:
        assert step.latex() in blocks


def test_markdown_links_the_prerequisite(documents):
    assert "(update_rms.md)" in documents["weight_rms"]["md"]


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_documents_equal_freshly_rendered(name, documents, derivations):
    d = derivations[name]
    assert documents[name]["tex"] == d.latex()
    assert documents[name]["md"] == d.markdown()


# --- the documents' honesty sections (rendered fresh) --------------------------------------------


def _with_scope(d):
    scope = ("No bias correction.", "Adam's $\\epsilon = 0$.", f"As in [[{d.steps[-1].id}]].")
    return dataclasses.replace(d, scope=scope)


def test_scope_is_printed_next_to_the_main_result(derivations):
    d = _with_scope(derivations["weight_rms"])
    tex, md = d.latex(), d.markdown()
    label = tex.index(r"\label{eq:theta-rms}")
    scope = tex.index("Scope of this result:")
    assert label < scope < tex.index(r"\paragraph{Step", label)
    assert r"\item Adam's $\epsilon = 0$." in tex
    main = md.index("`eq:theta-rms`")
    assert main < md.index("**Scope of this result:**") < md.index("**(", main + 1)
    assert "- No bias correction." in md
    assert "[[" not in tex and "[[" not in md
    assert f"- As in ({len(d.steps)})." in md


def test_scope_without_main_result_is_printed_at_the_top(derivations):
    d = _with_scope(derivations["update_rms"])
    tex, md = d.latex(), d.markdown()
    assert tex.index(r"\end{abstract}") < tex.index("Scope:") < tex.index(r"\section{")
    assert md.index("**Scope:**") < md.index("## ")


def test_no_scope_no_paragraph(derivations):
    d = dataclasses.replace(derivations["weight_rms"], scope=())
    assert "Scope" not in d.latex() and "Scope" not in d.markdown()


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_every_assumption_is_listed_with_the_steps_using_it(name, derivations):
    d = derivations[name]
    tex, md = d.latex(), d.markdown()
    numbers = {s.id: n for n, s in enumerate(d.steps, 1)}
    section = md[md.index("## Assumptions") : md.index("## Errata")]
    tex_section = tex[tex.index(r"\section*{Assumptions}") : tex.index(r"\section*{Errata}")]
    for assumption, users in d.assumptions().values():
        line = next(x for x in section.splitlines() if f"${assumption.latex}$" in x)
        for step_id in users:
            assert f"({numbers[step_id]}) `{step_id}`" in line
            label = d.step(step_id).label or f"eq:{name}:{step_id}".replace("_", "-")
            assert f"\\eqref{{{label}}}" in tex_section
    assert tex_section.count(r"\item") == len(d.assumptions())


@pytest.mark.parametrize("name", DERIVATION_NAMES)
def test_errata_section_counts_the_compared_formulas(name, derivations):
    d = derivations[name]
    compared = sum(1 for s in d.steps if s.claim is not None)
    errata = [s for s, r in zip(d.steps, d.verify(), strict=True) if r.erratum]
    md = d.markdown()
    section = md[md.index("## Errata") :]
    assert "every formula" not in section.lower()
    if compared:
        assert f"{compared} formula" in section
        assert f"{compared - len(errata)} agree" in section or (
            compared == 1 and "agrees" in section
        )
    for step in errata:
        assert step.claim.erratum.strip().rstrip(".") in section
    assert section.count("Evidence:") == len(errata)


def test_declared_erratum_prints_its_evidence(derivations):
    d = derivations["sign_sgdm"]
    tex = d.latex()
    errata = tex[tex.index(r"\section*{Errata}") :]
    assert "1 differs" in errata and "Evidence: the source writes" in errata


def test_approximations_print_their_condition(derivations):
    for d in derivations.values():
        md = d.markdown()
        for step in d.steps:
            if step.limit:
                assert f"${step.limit}$" in md


def test_an_approximation_prints_its_small_parameter():
    from adamw_rms import latex
    from adamw_rms import symbols as S
    from adamw_rms.checks import EPSILON, LHS, RHS, SmallParameter
    from adamw_rms.steps import Kind, Step

    small = S.eta * S.lam
    step = Step(
        id="toy",
        title="toy",
        section="toy",
        lhs=S.RMS2(S.theta[S.t]),
        rhs=S.eta / (2 * S.lam),
        kind=Kind.APPROXIMATION,
        justification="A toy.",
        checks=(SmallParameter(LHS, RHS, small, {S.eta: EPSILON / S.lam}, "toy"),),
        limit=r"\eta\lambda \ll 1",
    )
    sentence = latex._limit_sentence(step)
    assert sentence.startswith(r"Approximation, valid for $\eta\lambda \ll 1$")
    assert r"$\varepsilon = \eta \lambda$" in sentence
    exact = dataclasses.replace(step, kind=Kind.IDENTITY)
    assert latex._limit_sentence(exact).startswith("Valid for")


def test_a_restated_approximation_prints_the_small_parameter_of_its_origin():
    from adamw_rms import latex
    from adamw_rms import symbols as S
    from adamw_rms.checks import EPSILON, LHS, RHS, SmallParameter
    from adamw_rms.steps import Kind, StepRecorder

    recorder = StepRecorder("toy")
    with recorder.section("toy"):
        first = recorder.add(
            id="first",
            title="first",
            lhs=S.RMS2(S.theta[S.t]),
            rhs=S.eta / (2 * S.lam),
            kind=Kind.APPROXIMATION,
            justification="A toy.",
            checks=(SmallParameter(LHS, RHS, S.eta * S.lam, {S.eta: EPSILON / S.lam}, "toy"),),
            limit=r"\eta\lambda \ll 1",
        )
        again = recorder.restate(first, id="again")
    assert r"$\varepsilon = \eta \lambda$" in latex._limit_sentence(again)

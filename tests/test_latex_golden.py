"""Golden LaTeX strings and the shape of the generated documents."""

from __future__ import annotations

import re

import pytest

from adamw_rms.steps import DERIVATION_NAMES, derivation, find_step

GOLDEN = {
    "weight_rms.ema_wd": (
        r"{\boldsymbol{\theta}}_{t} = \beta_{3} {\boldsymbol{\theta}}_{t - 1} - "
        r"\frac{\left(1 - \beta_{3}\right) {\boldsymbol{u}}_{t}}{\lambda}"
    ),
    "weight_rms.double_sum_m": (
        r"\sum_{i=1}^{t} \beta_{3}^{- i + t} {\boldsymbol{m}}_{i} = \left(1 - "
        r"\beta_{1}\right) \sum_{j=1}^{t} \frac{\left(- \beta_{1}^{- j + t + 1} + "
        r"\beta_{3}^{- j + t + 1}\right) {\boldsymbol{g}}_{j}}{- \beta_{1} + \beta_{3}}"
    ),
    "weight_rms.theta_rms": (
        r"\Vert {\boldsymbol{\theta}}_{t}\Vert_{\mathrm{RMS}}^{2} \approx \beta_{3}^{2 t} "
        r"\Vert {\boldsymbol{\theta}}_{0}\Vert_{\mathrm{RMS}}^{2} + \frac{\left(1 - "
        r"\beta_{3}^{t}\right)^{2} \left(\mathrm{SNR} + \frac{\left(1 - \beta_{3}\right) "
        r"\left(\beta_{3}^{t} + 1\right)}{2 \left(1 - "
        r"\beta_{3}^{t}\right)}\right)}{\lambda^{2} \left(\mathrm{SNR} + 1\right)}"
    ),
    "weight_rms.theta_rms_simple": (
        r"\Vert {\boldsymbol{\theta}}_{t}\Vert_{\mathrm{RMS}} \approx \frac{\sqrt{2} "
        r"\sqrt{\eta}}{2 \sqrt{\lambda}}"
    ),
    "weight_rms.theta_rms_equilibrium": (
        r"\Vert {\boldsymbol{\theta}}_{t}\Vert_{\mathrm{RMS}}^{2} \approx \frac{2 \mathrm{SNR} "
        r"+ \eta \lambda}{2 \lambda^{2} \left(\mathrm{SNR} + 1\right)}"
    ),
    "weight_rms.weight_decay_for_rms": (
        r"\lambda \approx \frac{\eta + \sqrt{16 \mathrm{SNR}^{2} r^{2} + 16 \mathrm{SNR} r^{2} "
        r"+ \eta^{2}}}{4 r^{2} \left(\mathrm{SNR} + 1\right)}"
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

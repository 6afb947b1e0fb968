"""LaTeX and Markdown documents of a derivation: sections, steps, scope, assumptions, errata.

How one expression is printed (printer settings, the paper's order of terms, print-only rewrites
checked equal to the verified expression) lives in :mod:`adamw_rms.presentation`; golden-string
tests pin the output. A fragment is a bare math body (no delimiters, no ``\\label``: KaTeX rejects
it); labels and numbering live only in the document wrapper. This module reads steps and
derivations but does not import :mod:`adamw_rms.steps` (which imports nothing from here but the
document functions).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .checks import Given, Restated, SmallParameter, bind
from .presentation import PRINTER_SETTINGS, RELATIONS, to_latex

if TYPE_CHECKING:
    from .steps import Derivation, Step, Verification

__all__ = [
    "PRINTER_SETTINGS",
    "document",
    "equation_label",
    "fragment_name",
    "fragments",
    "markdown",
    "to_latex",
]

_REFERENCE = re.compile(r"\[\[([a-z0-9_.]+)\]\]")

_PRINTED_FORM = (
    "The formulas are printed as a paper writes them (terms and factors reordered, constant "
    "factors taken out of sums, powers of one base combined, one radical per square root); "
    "each such rewrite was proved equal to the verified expression before it was printed."
)

# The step whose statement is the main result: the scope is printed beside it (else at the top).
MAIN_RESULT_LABEL = "eq:theta-rms"


def _printed(step: Step) -> str:
    """The source's printed formula for ``step``; with its left side where the claim has one."""
    if step.claim.lhs is None:
        return to_latex(step.claim.rhs)
    relation = RELATIONS[step.kind.value]
    return f"{to_latex(step.claim.lhs)} {relation} {to_latex(step.claim.rhs)}"


def _derived(step: Step) -> str:
    return step.latex() if step.claim.lhs is not None else to_latex(step.rhs)


def equation_label(derivation: Derivation, step: Step) -> str:
    """The source's label where it has one, otherwise one made from the step id."""
    return step.label or f"eq:{derivation.name}:{step.id}".replace("_", "-")


def fragment_name(position: int, step: Step) -> str:
    return f"{position:02d}-{step.id.replace('_', '-')}.tex"


def fragments(derivation: Derivation) -> dict[str, str]:
    """``{"NN-step.tex": body}`` for every step, in order."""
    return {
        fragment_name(n, step): step.latex() + "\n" for n, step in enumerate(derivation.steps, 1)
    }


def _tex_text(text: str) -> str:
    # Justifications are prose with $...$ math; only the prose needs escaping.
    parts = re.split(r"(\$[^$]*\$)", text)
    return "".join(
        p if p.startswith("$") else p.replace("%", r"\%").replace("&", r"\&") for p in parts
    )


def _tex_references(text: str, derivation: Derivation) -> str:
    def replace(match: re.Match) -> str:
        target = match.group(1)
        if "." in target:
            name, _, local = target.partition(".")
            escaped = local.replace("_", "\\_")
            return f"step \\texttt{{{escaped}}} of the {name.replace('_', ' ')} derivation"
        return "\\eqref{%s}" % equation_label(derivation, derivation.step(target))

    return _REFERENCE.sub(replace, text)


def _verification_sentence(result: Verification) -> str:
    if not result.checks:
        return "Definition."
    verdict = "Verified" if result.passed else "FAILED"
    text = "; ".join(f"{c.method} ({c.detail})" for c in result.checks)
    # A check's name may cite the steps it substitutes ([[id]]): plain ids in this sentence.
    return f"{verdict}: " + _CITED.sub(r"\1", text) + "."


_CITED = re.compile(r"\[\[([^\]]+)\]\]")


def _claim_sentence(result: Verification) -> str:
    if result.claim is None:
        return ""
    if result.erratum:
        return "Erratum: the source prints a different formula here (see the errata section)."
    return "Agrees exactly with the formula printed in the source."


def _assumption_sentence(step: Step, escape: Callable[[str], str]) -> str:
    if not step.assumptions:
        return ""
    names = "; ".join(f"{escape(a.statement)} (${a.latex}$)" for a in step.assumptions)
    it = "it" if len(step.assumptions) == 1 else "them"
    return f"Assumes: {names}. Not provable by algebra; the simulation measures {it}."


def _checks_behind(step: Step) -> list:
    """The step's checks bound to its sides, and for a restated step those of the step it
    restates."""
    found, seen, todo = [], set(), [step]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for check in current.checks:
            bound = bind(check, current.lhs, current.rhs)
            found.append(bound.inner() if isinstance(bound, Given) else bound)
            if isinstance(check, Restated):
                todo.append(check.earlier)
    return found


def _limit_sentence(step: Step) -> str:
    """An approximation's condition and, where a check names it, its real small parameter."""
    if step.limit is None and not step.checks:
        return ""
    small = [c.small for c in _checks_behind(step) if isinstance(c, SmallParameter)]
    parts = []
    approximation = step.kind.value == "≈"
    if step.limit:
        parts.append(f"{'Approximation, valid' if approximation else 'Valid'} for ${step.limit}$")
    elif small:
        parts.append("Approximation")
    if small:
        named = ", ".join(f"$\\varepsilon = {to_latex(e)}$" for e in small)
        parts.append(f"its relative error is at most a multiple of the small parameter {named}")
    return "; ".join(parts) + "." if parts else ""


def _main_result(derivation: Derivation) -> Step | None:
    return next((s for s in derivation.steps if s.label == MAIN_RESULT_LABEL), None)


def _scope_lines(derivation: Derivation, *, tex: bool) -> list[str]:
    """Where the results hold (``Derivation.scope``), as a list."""
    if not derivation.scope:
        return []
    main = _main_result(derivation)
    if tex:
        head = (
            "Scope of this result:"
            if main
            else "Scope: the results below hold under these conditions."
        )
        items = [f"\\item {_tex_references(_tex_text(s), derivation)}" for s in derivation.scope]
        return [f"\\paragraph{{{head}}}", r"\begin{itemize}", *items, r"\end{itemize}", ""]
    head = (
        "**Scope of this result:**"
        if main
        else "**Scope:** the results below hold under these conditions."
    )
    items = (f"- {_md_references(s, derivation)}" for s in derivation.scope)
    return [head, "", *items, ""]


def _users(derivation: Derivation, step_ids: tuple[str, ...], *, tex: bool) -> str:
    """``step (3) `id``` or ``steps (3) `a`, (5) `b```: the steps that use an assumption."""
    numbers = {s.id: n for n, s in enumerate(derivation.steps, 1)}
    if tex:
        listed = ", ".join(
            f"\\eqref{{{equation_label(derivation, derivation.step(i))}}} "
            f"(\\texttt{{{i.replace('_', chr(92) + '_')}}})"
            for i in step_ids
        )
    else:
        listed = ", ".join(f"({numbers[i]}) `{i}`" for i in step_ids)
    return f"{'step' if len(step_ids) == 1 else 'steps'} {listed}"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _assumption_lines(derivation: Derivation, *, tex: bool) -> list[str]:
    """Every recorded assumption with the steps that use it."""
    found = derivation.assumptions()
    intro = (
        "Algebra cannot prove these modelling assumptions; the steps that use them say so, and "
        "the simulation measures their effect."
    )
    if tex:
        lines = [r"\section*{Assumptions}"]
        if not found:
            return [*lines, "No step of this derivation records a modelling assumption.", ""]
        lines += [intro, r"\begin{itemize}"]
        for assumption, users in found.values():
            statement = _escape_tex_plain(_sentence(assumption.statement))
            lines.append(
                f"\\item {statement} (${assumption.latex}$). "
                f"Used by {_users(derivation, users, tex=True)}."
            )
        return [*lines, r"\end{itemize}", ""]
    lines = ["## Assumptions", ""]
    if not found:
        return [*lines, "No step of this derivation records a modelling assumption.", ""]
    lines += [intro, ""]
    for assumption, users in found.values():
        lines.append(
            f"- {_sentence(assumption.statement)} (${assumption.latex}$). "
            f"Used by {_users(derivation, users, tex=False)}."
        )
    return [*lines, ""]


def _errata_summary(derivation: Derivation, results: dict) -> str:
    """How many printed formulas are compared, and how many agree: counted, never assumed."""
    compared = [s for s in derivation.steps if s.claim is not None]
    errata = _errata(derivation, results)
    if not compared:
        return "No formula printed in the source is compared with the steps of this derivation."
    agree = len(compared) - len(errata)
    text = (
        f"{_count(len(compared), 'formula')} printed in the source {_verb(len(compared))} "
        "compared with the derivation: each was typed in once, as printed, and compared exactly "
        "with the derived formula of its step (the step says so under its equation). "
    )
    if not errata:
        text += f"All {agree} agree." if agree > 1 else "It agrees."
    else:
        known = "a known erratum" if len(errata) == 1 else "known errata"
        text += (
            f"{agree} agree; {len(errata)} {'differs' if len(errata) == 1 else 'differ'}: "
            f"{known} of the source, declared with the evidence below."
        )
    return text + " Formulas of the source that belong to no step are not compared."


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _verb(n: int) -> str:
    return "is" if n == 1 else "are"


_PLAIN_TO_TEX = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "^": r"\^{}",
    "≈": r"$\approx$",
    "≠": r"$\neq$",
    "ε": r"$\varepsilon$",  # SmallParameter's detail
    "·": r"$\cdot$",
    "|": r"$|$",
    "<": r"$<$",
    ">": r"$>$",
    "~": r"\textasciitilde{}",
    "⟂": r"$\perp$",
    "²": r"$^2$",
    "→": r"$\to$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "∞": r"$\infty$",
    "−": r"$-$",
}


def _escape_tex_plain(text: str) -> str:
    """Escape prose for LaTeX, leaving ``$...$`` math untouched."""
    parts = re.split(r"(\$[^$]*\$)", text)
    return "".join(
        part if part.startswith("$") else "".join(_PLAIN_TO_TEX.get(c, c) for c in part)
        for part in parts
    )


def _identity(text: str) -> str:
    return text


def _tex_step(derivation: Derivation, n: int, step: Step, result: Verification) -> list[str]:
    prose = _tex_references(_tex_text(step.justification), derivation)
    lines = [f"\\paragraph{{Step {n}: {_escape_tex_plain(step.title)}.}} {prose}"]
    if limit := _limit_sentence(step):
        lines.append(_tex_text(limit))
    if step.assumptions:
        lines.append(_assumption_sentence(step, _escape_tex_plain))
    lines += [
        r"\begin{equation}",
        step.latex(),
        f"\\label{{{equation_label(derivation, step)}}}",
        r"\end{equation}",
    ]
    tail = " ".join(x for x in (_verification_sentence(result), _claim_sentence(result)) if x)
    return [*lines, r"{\small " + _escape_tex_plain(tail) + "}", ""]


def document(derivation: Derivation) -> str:
    """A standalone LaTeX document: title, source, sections, numbered and labelled steps."""
    results = {r.step_id: r for r in derivation.verify()}
    src = derivation.source
    main = _main_result(derivation)
    lines = [
        r"\documentclass[11pt]{article}",
        r"\usepackage{amsmath,amssymb,bm}",
        r"\usepackage[hidelinks]{hyperref}",
        r"\allowdisplaybreaks",
        f"\\title{{{_escape_tex_plain(derivation.title)}}}",
        r"\author{Generated by \texttt{adamw-rms derive} from the SymPy derivation \texttt{"
        + _escape_tex_plain(derivation.name)
        + r"}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\begin{abstract}",
        _tex_text(derivation.abstract) + f" After \\cite{{{src.key}}}.",
        r"\end{abstract}",
        "",
        r"Notation: bold symbols are vectors in $\mathbb{R}^d$; products, quotients, squares and "
        r"square roots act element-wise; $\Vert\boldsymbol{x}\Vert_{\mathrm{RMS}}^2 = "
        r"\frac1d\sum_k x_k^2$. Each step is a definition ($\mathrel{:=}$), an exact identity "
        r"($=$) or an approximation ($\approx$, with the limit or assumption that justifies it). "
        r"Every step was verified by the checks named under it when this file was generated. "
        + _PRINTED_FORM,
        "",
    ]
    if main is None:
        lines += _scope_lines(derivation, tex=True)
    for section in derivation.sections:
        lines.append(f"\\section{{{_escape_tex_plain(section)}}}")
        for n, step in enumerate(derivation.steps, 1):
            if step.section == section:
                lines += _tex_step(derivation, n, step, results[step.id])
                if step is main:
                    lines += _scope_lines(derivation, tex=True)
    lines += _assumption_lines(derivation, tex=True)
    lines += _tex_errata(derivation, results)
    lines += [
        r"\begin{thebibliography}{9}",
        f"\\bibitem{{{src.key}}} {src.author}. \\emph{{{_escape_tex_plain(src.title_en)}}} "
        f"(in Chinese). Blog post, {src.date}. \\url{{{src.url}}}.",
        r"\end{thebibliography}",
        r"\end{document}",
        "",
    ]
    return "\n".join(lines)


def _errata(derivation: Derivation, results: dict) -> list[tuple[int, Step]]:
    return [(n, s) for n, s in enumerate(derivation.steps, 1) if results[s.id].erratum]


def _evidence(step: Step) -> str:
    evidence = (step.claim.erratum or "no evidence recorded").strip()
    return f"Evidence: {evidence}" + ("" if evidence.endswith(".") else ".")


def _tex_errata(derivation: Derivation, results: dict) -> list[str]:
    lines = [r"\section*{Errata}", _escape_tex_plain(_errata_summary(derivation, results))]
    for n, step in _errata(derivation, results):
        lines.append(f"\\paragraph{{Step {n} (\\eqref{{{equation_label(derivation, step)}}}).}}")
        lines.append("The source prints")
        lines.append(r"\[" + _printed(step) + r"\]")
        lines.append("where the derivation gives")
        lines.append(r"\[" + _derived(step) + r"\]")
        lines.append(_escape_tex_plain(_evidence(step)))
    return [*lines, ""]


def _md_references(text: str, derivation: Derivation) -> str:
    def replace(match: re.Match) -> str:
        target = match.group(1)
        if "." in target:
            name, _, local = target.partition(".")
            return f"step `{local}` of [{name}]({name}.md)"
        position = derivation.ids.index(target) + 1
        return f"({position})"

    return _REFERENCE.sub(replace, text)


def _md_step(derivation: Derivation, n: int, step: Step, result: Verification) -> list[str]:
    label = f" `{step.label}`" if step.label else ""
    prose = _md_references(step.justification, derivation)
    lines = [f"**({n}) {step.title}**{label} — {prose}", ""]
    if limit := _limit_sentence(step):
        lines += [limit, ""]
    if step.assumptions:
        lines += [_assumption_sentence(step, _identity), ""]
    lines += ["$$", step.latex(), "$$", ""]
    tail = " ".join(x for x in (_verification_sentence(result), _claim_sentence(result)) if x)
    return [*lines, f"<sub>{tail}</sub>", ""]


def markdown(derivation: Derivation) -> str:
    """The derivation as GitHub Markdown with ``$$`` display math."""
    results = {r.step_id: r for r in derivation.verify()}
    src = derivation.source
    main = _main_result(derivation)
    lines = [
        f"# {derivation.title}",
        "",
        f"*Generated by `adamw-rms derive` from `src/adamw_rms/derivations/{derivation.name}.py`;"
        " do not edit by hand.*",
        "",
        derivation.abstract,
        "",
        f"Source: {src.author}, “{src.title}” ({src.title_en}), {src.date}, <{src.url}>.",
        "",
        "Kinds: `:=` definition, `=` exact identity, `≈` approximation. " + _PRINTED_FORM,
        "",
    ]
    if main is None:
        lines += _scope_lines(derivation, tex=False)
    for section in derivation.sections:
        lines += [f"## {section}", ""]
        for n, step in enumerate(derivation.steps, 1):
            if step.section == section:
                lines += _md_step(derivation, n, step, results[step.id])
                if step is main:
                    lines += _scope_lines(derivation, tex=False)
    lines += _assumption_lines(derivation, tex=False)
    lines += ["## Errata", "", _errata_summary(derivation, results), ""]
    for n, step in _errata(derivation, results):
        lines += [
            f"**Step ({n}).** The source prints",
            "",
            "$$",
            _printed(step),
            "$$",
            "",
            "where the derivation gives",
            "",
            "$$",
            _derived(step),
            "$$",
            "",
            _evidence(step),
            "",
        ]
    return "\n".join(lines)

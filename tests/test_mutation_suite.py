"""The mutation bars of issue 14: seeded arithmetic mutants must make ``derive`` fail.

Runs ``python -m tests.mutation`` (see ``tests/mutation/README.md``) on a fixed seeded sample:
24 mutants of the derivation modules, 8 of the source claims, 8 of the steps' left sides.
A mutant is killed when ``derive`` exits non-zero and writes nothing. The bars: at least 90% of
the modules' non-equivalent mutants, 7 of 8 claims' and 7 of 8 left sides' are killed
(equivalent mutants, whose documents and kernels are byte-identical, are not counted).
Each mutant is one `derive` that starts from a copy of the unmutated run's derive cache
(``--reuse-cache``): only the derivations whose sources the mutant changes are rebuilt and
verified (the cache is keyed by every source a derivation depends on).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.mutation import run as mutation  # noqa: E402

SEED = 14
SAMPLE = {"modules": 24, "claims": 8, "lhs": 8}
BARS = {"modules": 0.9, "claims": 7 / 8, "lhs": 7 / 8}


@pytest.fixture(scope="module")
def mutation_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("mutation") / "outcomes.json"
    command = [
        *(sys.executable, "-m", "tests.mutation", "--seed", str(SEED), "--json", str(out)),
        "--reuse-cache",
    ]
    for group, size in SAMPLE.items():
        command += [f"--sample-{group}", str(size)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = json.loads(out.read_text())
    payload["report"] = done.stdout
    return payload


@pytest.mark.slow
@pytest.mark.parametrize("group", list(SAMPLE))
def test_mutants_make_derive_fail(mutation_run: dict, group: str) -> None:
    rate = mutation_run["groups"][group]
    assert rate["mutants"] > 0, f"no {group} mutant was run"
    survivors = [
        f"{o['path']}:{o['line']} {o['operator']} {o['old']!r}->{o['new']!r}: {o['reason']}"
        for o in mutation_run["outcomes"]
        if o["group"] == group and o["kind"] in ("survived", "failed but wrote output")
    ]
    assert rate["kill_rate"] >= BARS[group], (
        f"{group}: {rate['killed']} of {rate['mutants'] - rate['equivalent']} non-equivalent "
        f"mutants killed ({rate['kill_rate']:.0%} < {BARS[group]:.0%}); survivors:\n"
        + "\n".join(survivors)
    )


# --- the runner itself (fast) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sites() -> dict[str, list]:
    return mutation.find_mutants(REPO_ROOT)


def test_every_group_has_sites(sites):
    assert all(len(sites[g]) >= 8 for g in mutation.GROUPS), {g: len(m) for g, m in sites.items()}
    assert {m.module for m in sites["modules"]} == set(mutation.MODULES)
    assert {m.path for m in sites["claims"]} == {"src/adamw_rms/derivations/_source.py"}
    # Only the derivations whose printed formulas are source claims have a ``*_CLAIMS`` block
    # (corrected, sgd, lion and adam_l2 have none).
    source = (REPO_ROOT / mutation.SOURCE_FILE).read_text()
    with_claims = {m for m in mutation.MODULES if f"\n{m.upper()}_CLAIMS = " in source}
    assert with_claims == {"update_rms", "weight_rms", "sign_sgdm", "tuc", "schedules"}
    assert {m.module for m in sites["claims"]} == with_claims


def test_mutants_are_arithmetic_and_never_in_strings(sites):
    files = {}
    for group, mutants in sites.items():
        for m in mutants:
            if m.path not in files:
                files[m.path] = (REPO_ROOT / m.path).read_bytes()
            assert files[m.path][m.start : m.end].decode() == m.old
            if m.operator in ("+->-", "-->+"):
                assert m.old in "+-" and m.new in "+-"
            elif m.operator.startswith("n->"):
                # ``int`` reads the digit separators of a literal such as ``40_000``.
                assert m.old.replace("_", "").isdigit() and abs(int(m.new) - int(m.old)) == 1
            elif m.operator == "-x->x":
                assert m.old.strip() == "-" and m.new == ""
            else:
                assert group == "lhs", m.describe()


def test_mutants_edit_code(sites):
    """A seeded sample: the mutated module still parses, and its syntax tree differs."""
    original = {}
    for group in mutation.GROUPS:
        for m in mutation.sample(sites[group], 8, seed=1):
            data = (REPO_ROOT / m.path).read_bytes()
            if m.path not in original:
                original[m.path] = ast.dump(ast.parse(data))
            mutated = ast.dump(ast.parse(mutation.apply(m, data)))
            assert mutated != original[m.path], m.describe()


def test_lhs_mutants_lie_in_left_sides(sites):
    contexts = {m.context for m in sites["lhs"]}
    assert "step theta_rms_split" in contexts
    assert not any(
        m.start == n.start and m.path == n.path for m in sites["lhs"] for n in sites["modules"]
    )


def test_sampling_is_seeded(sites):
    a = mutation.sample(sites["modules"], 10, seed=3)
    assert a == mutation.sample(sites["modules"], 10, seed=3)
    assert a != mutation.sample(sites["modules"], 10, seed=4)
    assert len(mutation.sample(sites["claims"], None, seed=0)) == len(sites["claims"])


def test_failures_are_parsed_from_derive_stderr():
    stderr = (
        "\n2 of 150 steps FAILED verification; nothing written.\n"
        "  weight_rms.theta_rms: rewrite to 0: not zero\n"
        "  weight_rms.theta_rms: source comparison: differs from the formula\n"
    )
    done = subprocess.CompletedProcess([], 1, "", stderr)
    m = mutation.find_mutants(REPO_ROOT, ("tuc",))["modules"][0]
    outcome = mutation.Runner._killed(m, done, 1.0)
    assert outcome.kind == mutation.VERIFICATION
    assert outcome.failures == [
        "weight_rms.theta_rms: rewrite to 0",
        "weight_rms.theta_rms: source comparison",
    ]
    crash = subprocess.CompletedProcess(
        [],
        1,
        "",
        'Traceback (most recent call last):\n  File "/tmp/x/src/adamw_rms/derivations/tuc.py", '
        "line 12, in build\nIndexError: tuple index out of range\n",
    )
    outcome = mutation.Runner._killed(m, crash, 1.0)
    assert outcome.kind == mutation.CRASH
    assert "IndexError" in outcome.reason and "derivations/tuc.py:12" in outcome.reason

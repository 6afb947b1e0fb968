"""The mutation bars of issue 14: seeded arithmetic mutants must make ``derive`` fail.

Runs ``python -m tests.mutation`` (see ``tests/mutation/README.md``) on a fixed seeded sample:
24 mutants of the derivation modules, 8 of the source claims, 8 of the steps' left sides.
A mutant is killed when ``derive`` exits non-zero and writes nothing. The bars: at least 90% of
the modules' non-equivalent mutants, 7 of 8 claims' and 7 of 8 left sides' are killed
(equivalent mutants, whose documents and kernels are byte-identical, are not counted).
About 2-3 minutes on two cores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED = 14
SAMPLE = {"modules": 24, "claims": 8, "lhs": 8}
BARS = {"modules": 0.9, "claims": 7 / 8, "lhs": 7 / 8}


@pytest.fixture(scope="module")
def mutation_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("mutation") / "outcomes.json"
    command = [sys.executable, "-m", "tests.mutation", "--seed", str(SEED), "--json", str(out)]
    for group, size in SAMPLE.items():
        command += [f"--sample-{group}", str(size)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False
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

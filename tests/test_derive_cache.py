"""derive's cache: hit when nothing changed, invalidated by an edit, never trusted blindly.

Hits are read from the ``cache ...: reused ...; rebuilt ...`` line derive prints, not from timing.
The derivations are built and verified once per session (the ``derivations`` fixture), so every
``derive`` here only renders or reads the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import adamw_rms.derive_cache as derive_cache
from adamw_rms.__main__ import main
from adamw_rms.checks import CheckResult
from adamw_rms.derive_cache import Cache, DerivationEntry, source_keys
from adamw_rms.steps import DERIVATION_NAMES, Verification, derivation

SRC = Path(derive_cache.__file__).resolve().parent


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch, derivations) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ADAMW_RMS_CACHE_DIR", str(folder))
    monkeypatch.delenv("ADAMW_RMS_NO_CACHE", raising=False)
    return folder


def _derive(capsys, *extra: str, out: Path) -> tuple[int, str, str]:
    code = main(["derive", "--out", str(out), "--code-out", str(out.parent / "gen.py"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cache_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("cache"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_unchanged_tree_is_reused(tmp_path, capsys):
    code, out, _ = _derive(capsys, out=tmp_path / "a")
    assert code == 0
    assert "reused none" in _cache_line(out)
    code, out, _ = _derive(capsys, out=tmp_path / "b")
    assert code == 0
    line = _cache_line(out)
    assert f"reused {', '.join(DERIVATION_NAMES)}; rebuilt none; kernels reused" in line, line
    # The reused outputs are the derived ones, byte for byte; the report lists every step.
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")
    assert (tmp_path / "gen.py").read_text(encoding="utf-8")
    steps = sum(len(derivation(n).steps) for n in DERIVATION_NAMES)
    assert f"{steps} steps verified" in out
    code, out, _ = _derive(capsys, "--check", out=tmp_path / "b")
    assert code == 0 and "up to date" in out
    assert "rebuilt none" in _cache_line(out)


def test_no_cache_rebuilds_and_stores_nothing(tmp_path, capsys, cache):
    code, out, _ = _derive(capsys, "--no-cache", out=tmp_path / "a")
    assert code == 0
    assert _cache_line(out).startswith("cache: off")
    assert not cache.exists()


def test_environment_turns_the_cache_off(tmp_path, capsys, cache, monkeypatch):
    monkeypatch.setenv("ADAMW_RMS_NO_CACHE", "1")
    assert _derive(capsys, out=tmp_path / "a")[0] == 0
    assert not cache.exists()


def test_a_changed_source_rebuilds_it_and_its_users(tmp_path, capsys, monkeypatch):
    assert _derive(capsys, out=tmp_path / "a")[0] == 0
    real = derive_cache._Modules._read

    def edited(self, module):
        digest, depends = real(self, module)
        return ("edited" + digest if module.endswith(".weight_rms") else digest), depends

    monkeypatch.setattr(derive_cache._Modules, "_read", edited)
    code, out, _ = _derive(capsys, out=tmp_path / "b")
    assert code == 0
    line = _cache_line(out)
    assert (
        "reused update_rms, corrected, sgd, adam_l2; rebuilt weight_rms, sign_sgdm, tuc, "
        "schedules, lion" in line
    ), line
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("copy") / "adamw_rms"
    shutil.copytree(SRC, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _changed_keys(root: Path, module: str) -> tuple[set[str], bool]:
    before = source_keys(DERIVATION_NAMES, root)
    path = root.joinpath(*module.split(".")[1:]).with_suffix(".py")
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + "\n# edited\n", encoding="utf-8")
        after = source_keys(DERIVATION_NAMES, root)
    finally:
        path.write_text(original, encoding="utf-8")
    changed = {n for n in DERIVATION_NAMES if before.derivations[n] != after.derivations[n]}
    return changed, before.code != after.code


@pytest.mark.parametrize(
    ("module", "rebuilt", "kernels"),
    [
        ("adamw_rms.derivations.tuc", {"tuc"}, False),
        ("adamw_rms.derivations.sign_sgdm", {"sign_sgdm", "lion"}, True),
        (
            "adamw_rms.derivations.weight_rms",
            {"weight_rms", "sign_sgdm", "tuc", "schedules", "lion"},
            True,
        ),
        # Every part-1/2 derivation builds on update_rms; corrected derives its moments afresh.
        # sgd (exact moments of a linear recursion) uses neither; it cites REQ from _source.
        ("adamw_rms.derivations.update_rms", set(DERIVATION_NAMES) - {"corrected", "sgd"}, True),
        ("adamw_rms.checks", set(DERIVATION_NAMES), True),
        ("adamw_rms.derivations._source", set(DERIVATION_NAMES), True),
        ("adamw_rms.latex", set(DERIVATION_NAMES), True),
        ("adamw_rms.artifacts", set(DERIVATION_NAMES), False),
        ("adamw_rms.codegen", set(), True),
        ("adamw_rms.simulation.config", set(), False),
    ],
)
def test_keys_follow_the_import_graph(package_copy, module, rebuilt, kernels):
    """On a copy of the package: an edit changes the keys of exactly what depends on it."""
    assert _changed_keys(package_copy, module) == (rebuilt, kernels)


def test_keys_cover_the_library_versions(package_copy, monkeypatch):
    before = source_keys(DERIVATION_NAMES, package_copy)
    real = derive_cache._versions
    monkeypatch.setattr(derive_cache, "_versions", lambda: {**real(), "sympy": "0.0 elsewhere"})
    after = source_keys(DERIVATION_NAMES, package_copy)
    assert all(before.derivations[n] != after.derivations[n] for n in DERIVATION_NAMES)
    assert before.code != after.code


def _entries(cache: Path) -> list[Path]:
    return sorted((cache / f"v{derive_cache.CACHE_FORMAT}").glob("derivation-*.json"))


@pytest.mark.parametrize("damage", ["garbage", "digest", "foreign-key", "format", "failing"])
def test_damaged_entries_are_ignored(damage, tmp_path, capsys, cache):
    assert _derive(capsys, out=tmp_path / "a")[0] == 0
    for path in _entries(cache):
        record = json.loads(path.read_text(encoding="utf-8"))
        if damage == "garbage":
            path.write_text('{"format": 1, "payload": {', encoding="utf-8")
            continue
        if damage == "digest":
            record["payload"]["tree"] = {"x.tex": "tampered\n"}
        elif damage == "foreign-key":
            record["key"] = "0" * 64
        elif damage == "format":
            record["format"] = derive_cache.CACHE_FORMAT + 1
        elif damage == "failing":
            # A consistent entry (digest recomputed) that records a failed check.
            record["payload"]["verifications"][-1]["checks"] = [["brute force", False, "no"]]
            record["digest"] = derive_cache._payload_digest(record["payload"])
        path.write_text(json.dumps(record), encoding="utf-8")
    code, out, _ = _derive(capsys, out=tmp_path / "b")
    assert code == 0
    line = _cache_line(out)
    assert "reused none" in line, line
    assert "note: ignored" in out
    assert _snapshot(tmp_path / "a") == _snapshot(tmp_path / "b")


def test_a_failing_derivation_is_never_cached(tmp_path, capsys, cache, monkeypatch):
    d = derivation("tuc")
    good = d.verify()
    bad = list(good)
    last = good[-1]
    bad[-1] = Verification(
        last.step_id,
        last.kind,
        (CheckResult("brute force", False, "simulated failure"),),
        None,
        1.0,
    )
    monkeypatch.setitem(vars(d), "_verification", tuple(bad))
    code, _, err = _derive(capsys, out=tmp_path / "a")
    assert code == 1
    assert "simulated failure" in err
    assert not (tmp_path / "a").exists()
    names = {p.name.split("-")[1] for p in _entries(cache)}
    assert names == set(DERIVATION_NAMES) - {"tuc"}
    assert not list((cache / f"v{derive_cache.CACHE_FORMAT}").glob("code-*"))
    with pytest.raises(ValueError, match="not every step verifies"):
        Cache(cache).store_derivation(DerivationEntry("tuc", "k", tuple(bad), (), {}))


def test_steps_listing_from_the_cache(tmp_path, capsys, monkeypatch):
    assert _derive(capsys, out=tmp_path / "a")[0] == 0
    with monkeypatch.context() as patch:
        patch.setattr("adamw_rms.steps.derivation", None)  # the cache must answer alone
        assert main(["steps"]) == 0
    cached = capsys.readouterr().out
    monkeypatch.setenv("ADAMW_RMS_NO_CACHE", "1")
    assert main(["steps"]) == 0
    assert capsys.readouterr().out == cached


def test_results_fit_their_steps(derivations):
    """What workers and the cache return is adopted, never recomputed in the parent."""
    from adamw_rms import steps

    for d in derivations.values():
        assert steps._adopt(d, d.verify())


def test_cold_then_warm_in_fresh_processes(repo_root, tmp_path):
    """As CI runs it (fresh clone: no cache), with forked workers; then warm, same answer."""
    env = {
        **os.environ,
        "PYTHONPATH": str(repo_root / "src"),
        "ADAMW_RMS_CACHE_DIR": str(tmp_path / "cache"),
    }
    env.pop("ADAMW_RMS_NO_CACHE", None)
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "adamw_rms", "derive", "--check", "--jobs", "2"],
            cwd=repo_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "reused none" in _cache_line(outputs[0])
    assert "rebuilt none; kernels reused" in _cache_line(outputs[1])
    # The same report, row for row (the cached rows keep the milliseconds measured cold).
    assert outputs[0].split("\ncache")[0] == outputs[1].split("\ncache")[0]


def test_keys_are_the_same_with_the_imports_memo(cache):
    """What each file imports is remembered by its hash; a damaged memo is ignored."""
    plain = source_keys(DERIVATION_NAMES)
    for _ in range(2):  # parsed and stored, then read back
        assert source_keys(DERIVATION_NAMES, cache=Cache(cache)) == plain
    memo = next((cache / f"v{derive_cache.CACHE_FORMAT}").glob("imports-*.json"))
    record = json.loads(memo.read_text(encoding="utf-8"))
    for raw in record["payload"].values():
        raw["imports"] = []  # a memo that hides every import must not be trusted
    memo.write_text(json.dumps(record), encoding="utf-8")
    assert source_keys(DERIVATION_NAMES, cache=Cache(cache)) == plain

"""The command line, in process through ``main(argv)`` (plus one real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import adamw_rms.artifacts as artifacts
from adamw_rms.__main__ import main
from adamw_rms.steps import DERIVATION_NAMES, derivation


@pytest.fixture(scope="module", autouse=True)
def _built(derivations, tmp_path_factory):
    """Build and verify once, so every ``derive`` below only renders; a private, empty cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADAMW_RMS_CACHE_DIR", str(tmp_path_factory.mktemp("derive-cache")))
        patch.delenv("ADAMW_RMS_NO_CACHE", raising=False)
        yield


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(
        p.name for p in parent.iterdir() if p.name.startswith((f".{name}-new-", f".{name}-old-"))
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory, derivations) -> Path:
    """A freshly derived output folder (shared; tests copy it before changing anything)."""
    out = tmp_path_factory.mktemp("generated") / "out"
    assert main(["derive", "--out", str(out)]) == 0
    return out


@pytest.fixture
def out(tmp_path, generated) -> Path:
    """A private copy of the derived tree under ``tmp_path/out``."""
    copy = tmp_path / "out"
    for relative, data in _snapshot(generated).items():
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return copy


# --- steps ----------------------------------------------------------------------------------------


def test_steps_lists_both_derivations(capsys):
    assert main(["steps"]) == 0
    text = capsys.readouterr().out
    assert "weight_rms.double_sum_m" in text
    assert "update_rms.update_rms_mu0" in text
    assert "(eq:theta-rms)" in text


def test_steps_one_derivation(capsys):
    assert main(["steps", "weight_rms"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(derivation("weight_rms").steps)
    assert all(line.startswith("weight_rms.") for line in lines)


def test_steps_unknown_derivation(capsys):
    assert main(["steps", "nope"]) == 2
    captured = capsys.readouterr()
    assert "nope" in captured.err
    assert "weight_rms" in captured.err
    assert captured.out == ""


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


# --- latex ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "step_id"),
    [("weight_rms.double_sum_m", "double_sum_m"), ("theta_rms", "theta_rms")],
)
def test_latex_prints_fragment(argument, step_id, capsys):
    assert main(["latex", argument]) == 0
    expected = derivation("weight_rms").step(step_id).latex()
    assert capsys.readouterr().out == expected + "\n"


def test_latex_qualified_update_rms(capsys):
    assert main(["latex", "update_rms.update_rms_mu0"]) == 0
    assert capsys.readouterr().out == derivation("update_rms").step("update_rms_mu0").latex() + "\n"


def test_latex_unknown_step_suggests(capsys):
    assert main(["latex", "double_sum_mm"]) == 2
    captured = capsys.readouterr()
    assert "double_sum_m" in captured.err
    assert "double_sum_mm" in captured.err
    assert captured.out == ""


def test_latex_ambiguous_step_names_both(capsys):
    assert main(["latex", "m_unrolled"]) == 2
    err = capsys.readouterr().err
    assert "update_rms.m_unrolled" in err
    assert "weight_rms.m_unrolled" in err
    assert "ambiguous step" in err


def _suggestions(err: str) -> list[str]:
    assert "did you mean" in err, err
    return err.split("did you mean", 1)[1].strip().rstrip("?").split(", ")


@pytest.mark.parametrize(
    ("argument", "first"),
    [
        ("weight_rms.m_unrolledx", "weight_rms.m_unrolled"),
        ("weight_rmz.theta_rms", "weight_rms.theta_rms"),
        ("double_sum_mm", "weight_rms.double_sum_m"),
    ],
)
def test_latex_unknown_step_suggests_full_ids(argument, first, capsys):
    """Suggestions are full ids: a bare one (``m_unrolled``) may itself be ambiguous."""
    assert main(["latex", argument]) == 2
    suggestions = _suggestions(capsys.readouterr().err)
    assert suggestions[0] == first
    assert all("." in s and s.split(".")[0] in DERIVATION_NAMES for s in suggestions)
    assert all(main(["latex", s]) == 0 for s in suggestions), "every suggestion must resolve"


def test_pipe_closed_early_ends_quietly(repo_root):
    """`adamw-rms steps | head -1`: no BrokenPipeError traceback, the status of SIGPIPE."""
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "adamw_rms", "steps"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=repo_root,
        # Uncached, `steps` builds each derivation before printing its steps: the later
        # writes come long after the reader has gone (cached, all could fit in the pipe).
        env={**os.environ, "PYTHONPATH": str(repo_root / "src"), "ADAMW_RMS_NO_CACHE": "1"},
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away; the next write hits a closed pipe
    _, err = proc.communicate(timeout=120)
    assert first.startswith(b"update_rms.")
    assert err == b"", err.decode()
    assert proc.returncode == 141


# --- derive ---------------------------------------------------------------------------------------


def test_derive_check_on_committed_tree(repo_root, monkeypatch, capsys):
    monkeypatch.chdir(repo_root)
    before = _snapshot(repo_root / "derivations")
    assert main(["derive", "--check"]) == 0
    captured = capsys.readouterr()
    assert "up to date" in captured.out, captured.err
    assert _snapshot(repo_root / "derivations") == before


def test_derive_writes_tree(generated):
    names = {p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file()}
    for name in ("update_rms", "weight_rms"):
        d = derivation(name)
        assert f"{name}.tex" in names
        assert f"{name}.md" in names
        fragments = sorted(n for n in names if n.startswith(f"{name}/"))
        assert len(fragments) == len(d.steps)
        for position, step in enumerate(d.steps, 1):
            fragment = generated / name / f"{position:02d}-{step.id.replace('_', '-')}.tex"
            assert fragment.read_text(encoding="utf-8") == step.latex() + "\n"
    assert (generated / "weight_rms" / "03-ema-wd.tex").is_file()
    assert _leftovers(generated.parent, generated.name) == []


def test_derive_output_matches_committed_tree(generated, repo_root):
    assert _snapshot(generated) == _snapshot(repo_root / "derivations")


def test_derive_check_fresh_output(out, capsys):
    assert main(["derive", "--check", "--out", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_derive_check_detects_modified_fragment(out, capsys):
    fragment = out / "weight_rms" / "03-ema-wd.tex"
    fragment.write_text(fragment.read_text(encoding="utf-8") + "% edited\n", encoding="utf-8")
    before = _snapshot(out)
    assert main(["derive", "--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "differs: weight_rms/03-ema-wd.tex" in err
    assert _snapshot(out) == before, "--check must write nothing"


def test_derive_check_detects_stray_and_missing_files(out, capsys):
    (out / "weight_rms" / "99-stray.tex").write_text("x\n", encoding="utf-8")
    (out / "update_rms.md").unlink()
    assert main(["derive", "--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "weight_rms/99-stray.tex" in err
    assert "stale" in err
    assert "missing: update_rms.md" in err


def test_derive_check_on_missing_folder(tmp_path, capsys):
    assert main(["derive", "--check", "--out", str(tmp_path / "absent")]) == 1
    assert "missing: weight_rms.tex" in capsys.readouterr().err
    assert not (tmp_path / "absent").exists()


def test_derive_rewrites_an_edited_tree(out, generated, capsys):
    (out / "weight_rms.md").write_text("stale\n", encoding="utf-8")
    (out / "weight_rms" / "99-stray.tex").write_text("x\n", encoding="utf-8")
    assert main(["derive", "--out", str(out)]) == 0
    assert _snapshot(out) == _snapshot(generated)
    assert _leftovers(out.parent, out.name) == []


# --- atomicity ------------------------------------------------------------------------------------


def _failing_rename(fail_when):
    real = os.rename

    def rename(src, dst, *args, **kwargs):
        if fail_when(Path(src), Path(dst)):
            raise OSError("simulated rename failure")
        return real(src, dst, *args, **kwargs)

    return rename


def _fail_writes_into_staging(monkeypatch) -> None:
    """Every write of a generated file into the staging folder raises (whichever API is used)."""

    def staged(path) -> bool:
        return any(part.startswith(".out-new-") for part in Path(path).parts)

    real_write_text, real_open = Path.write_text, open

    def write_text(self, *args, **kwargs):
        if staged(self):
            raise OSError("simulated disk full")
        return real_write_text(self, *args, **kwargs)

    def fake_open(file, mode="r", *args, **kwargs):
        if "r" not in mode and staged(file):
            raise OSError("simulated disk full")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(artifacts.Path, "write_text", write_text)
    monkeypatch.setattr(artifacts, "open", fake_open, raising=False)


@pytest.mark.parametrize(
    "failure",
    ["write", "backup-rename", "swap-in-rename"],
)
def test_derive_failure_leaves_previous_tree_intact(failure, out, monkeypatch, capsys):
    (out / "weight_rms.md").write_text("previous contents\n", encoding="utf-8")
    before = _snapshot(out)
    if failure == "write":
        _fail_writes_into_staging(monkeypatch)
    elif failure == "backup-rename":
        monkeypatch.setattr(
            artifacts.os, "rename", _failing_rename(lambda src, dst: src.name == "out")
        )
    else:
        monkeypatch.setattr(
            artifacts.os,
            "rename",
            _failing_rename(lambda src, dst: src.name.startswith(".out-new-")),
        )
    assert main(["derive", "--out", str(out)]) == 1
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "simulated" in err
    assert "left intact" in err
    assert _snapshot(out) == before
    assert _leftovers(out.parent, out.name) == []


def test_derive_refuses_folder_with_foreign_file(out, capsys):
    (out / "README.txt").write_text("mine\n", encoding="utf-8")
    (out / "weight_rms.md").write_text("previous contents\n", encoding="utf-8")
    before = _snapshot(out)
    assert main(["derive", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "README.txt" in err
    assert _snapshot(out) == before
    assert _leftovers(out.parent, out.name) == []


def test_derive_refuses_a_file_as_output(tmp_path, capsys):
    target = tmp_path / "out"
    target.write_text("not a folder\n", encoding="utf-8")
    assert main(["derive", "--out", str(target)]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "not a folder\n"


def test_derive_into_new_folder(tmp_path, generated):
    target = tmp_path / "deeper" / "new"
    assert main(["derive", "--out", str(target)]) == 0
    assert _snapshot(target) == _snapshot(generated)
    assert _leftovers(target.parent, target.name) == []


# --- python -m ------------------------------------------------------------------------------------


def test_python_dash_m_steps(repo_root):
    proc = subprocess.run(
        [sys.executable, "-m", "adamw_rms", "steps", "update_rms"],
        capture_output=True,
        text=True,
        cwd=repo_root,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "update_rms.update_rms_mu0" in proc.stdout
    assert "weight_rms." not in proc.stdout


def test_derive_reports_a_kernel_printer_failure_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from adamw_rms import codegen

    def broken() -> str:
        raise ValueError("no closed form")

    monkeypatch.setattr(codegen, "generated_source", broken)
    out, code_out = tmp_path / "out", tmp_path / "gen.py"
    assert main(["derive", "--no-cache", "--out", str(out), "--code-out", str(code_out)]) == 1
    assert "printing the estimator kernels failed (ValueError: no closed form)" in (
        capsys.readouterr().err
    )
    assert not out.exists() and not code_out.exists()

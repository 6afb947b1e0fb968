"""Shared fixtures: the repository root and the two derivations, built and verified once."""

from __future__ import annotations

from pathlib import Path

import pytest

from adamw_rms.steps import DERIVATION_NAMES, Derivation, Verification, derivation

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def _private_derive_cache(tmp_path_factory: pytest.TempPathFactory):
    """No test reads or writes the user's derive cache: each session gets its own folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ADAMW_RMS_CACHE_DIR", str(tmp_path_factory.mktemp("adamw-rms-cache")))
        yield


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def derivations() -> dict[str, Derivation]:
    """Both derivations, verified once per session (``derivation`` is cached, so is ``verify``)."""
    built = {name: derivation(name) for name in DERIVATION_NAMES}
    for d in built.values():
        d.verify()
    return built


@pytest.fixture(scope="session")
def verifications(derivations: dict[str, Derivation]) -> dict[str, Verification]:
    """``{"weight_rms.theta_rms": Verification, ...}`` for every step of both derivations."""
    return {
        f"{name}.{result.step_id}": result
        for name, d in derivations.items()
        for result in d.verify()
    }


@pytest.fixture
def one_torch_thread():
    """PyTorch on one thread for the test (restored after): several test processes share two
    cores, and one thread keeps the monitor's runs bit-reproducible."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

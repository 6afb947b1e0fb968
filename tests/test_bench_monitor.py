"""The monitor's benchmark section (``benchmarks/_monitor.py``) runs end to end at a tiny size.

No timing is asserted: the numbers depend on the machine; what is checked is that every
configuration is measured in every round, that the report names the bar and its verdict, and
that the torch thread count is restored.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "_monitor.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("_bench_monitor", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_model_is_the_documented_mlp(bench):
    model = bench._model(0)
    assert sum(p.numel() for p in model.parameters()) == 86_026
    assert len(list(model.parameters())) == 10
    assert sum(isinstance(m, torch.nn.LayerNorm) for m in model) == bench.MODEL.layers


def test_overhead_measures_every_configuration_in_every_round(bench):
    from adamw_rms.torch import recorder

    kernels = recorder._kernels
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        measured = bench.overhead(rounds=3, steps=2, warmup=1)
    finally:
        torch.set_num_threads(threads)
    assert recorder._kernels is kernels  # the no-numba configuration patched it for a while
    assert list(measured["times"]) == list(bench.CONFIGURATIONS)
    for label, times in measured["times"].items():
        assert len(times) == 3 and all(t > 0 for t in times), label
    assert measured["ratios"]["no monitor"] == [1.0, 1.0, 1.0]
    assert measured["parameters"] == 86_026


def test_section_runs_at_a_tiny_size(bench):
    threads = torch.get_num_threads()
    text = bench.monitor_report(rounds=2, steps=2, warmup=1, history_steps=24)
    assert torch.get_num_threads() == threads
    for label in bench.CONFIGURATIONS:
        assert re.search(rf"^{re.escape(label)}\s+\d+\.\d+ ", text, re.MULTILINE), label
    assert re.search(r"bar: overhead at every=1 <= 5% -> (met|MISSED) \([+-]\d", text)
    assert re.search(
        r"on a 24-step history \(every=1\): report\(\) [\d.]+ ms, forecast\(24 steps\) [\d.]+ ms, "
        r"metrics\(\) [\d.]+ ms",
        text,
    )

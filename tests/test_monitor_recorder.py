"""The monitor's two ways of recording a step's sums (``adamw_rms.torch.recorder``).

The compiled pass (CPU float32/float64 with numba) against float64 sums of the step the
optimizer took, recomputed here from copies of the weights: within a fraction of a float32
rounding, which needs its ``d`` to be bit for bit the one PyTorch forms (a fused multiply-add
would be off by a rounding of the weights, 1e-4 of ``d`` at ``lr = 1e-5``). Then the PyTorch
path (GPUs, half precision, no numba) against the same sums, a storage replaced between steps,
a cast after the monitor was made, and sums across chunk boundaries.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adamw_rms.torch import WeightRMSMonitor, recorder  # noqa: E402

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def torch_path(monkeypatch):
    """The recorder as it runs without numba."""
    monkeypatch.setattr(recorder, "_kernels", lambda: None)


def model_and_optimizer(lr: float, dtype=torch.float32):
    torch.manual_seed(7)
    # 7 x 77 = 539 elements: 33 blocks of the compiled pass's 16 lanes (partials flushed after
    # 32 and at the end) and a tail of 11; 77 x 3 = 231: 14 blocks and 7; the last bias: a tail.
    model = torch.nn.Sequential(
        torch.nn.Linear(7, 77), torch.nn.LayerNorm(77), torch.nn.Tanh(), torch.nn.Linear(77, 3)
    ).to(dtype)
    decayed = [p for p in model.parameters() if p.ndim == 2]
    others = [p for p in model.parameters() if p.ndim != 2]
    optimizer = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": 0.5}, {"params": others, "weight_decay": 0.0}], lr=lr
    )
    return model, optimizer


def train(model, optimizer, steps: int, between=None, dtype=torch.float32) -> list[dict]:
    """Train; per step the float64 sums of the step taken, from copies of the weights.

    ``d`` is formed here as PyTorch forms the decayed weights (``beta3`` a Python float times
    the float32 tensor, then the difference), the sums in float64.
    """
    generator = torch.Generator().manual_seed(3)
    params = [p for group in optimizer.param_groups for p in group["params"]]  # monitor's order
    group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    reference = []
    for step in range(steps):
        if between is not None:
            between(step)
        x = torch.randn(16, 7, generator=generator, dtype=dtype)
        y = torch.randn(16, 3, generator=generator, dtype=dtype)
        before = [p.detach().clone() for p in params]
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        rows = []
        for p, s in zip(params, before, strict=True):
            group = group_of[id(p)]
            beta = 1.0 - group["lr"] * group["weight_decay"]
            d = (s * beta - p.detach()).double()
            s64, c64 = s.double(), p.detach().double()
            rows.append(
                (
                    float(s64.square().sum()),
                    float((s64 * d).sum()),
                    float(d.square().sum()),
                    float(c64.square().sum()),
                    float((s64 * d).abs().sum()),
                )
            )
        reference.append(np.array(rows).T)
    return reference


def assert_compiled_sums(sums: np.ndarray, reference: np.ndarray) -> None:
    """The compiled pass's rounding: float32 partial sums of 32 terms (measured at most 0.65
    float32 roundings of the squares, 0.28 of the sum of |s d| for the signed theta . d). The
    snapshot's sum of squares is the previous step's last sum when every step is sampled (the
    snapshot carried over), else summed in float64 with the copy (one float64 rounding)."""
    np.testing.assert_allclose(sums[:, 0], reference[:, 0], rtol=EPS32, atol=0)
    np.testing.assert_allclose(sums[:, [2, 3]], reference[:, [2, 3]], rtol=EPS32, atol=0)
    assert np.all(np.abs(sums[:, 1] - reference[:, 1]) <= EPS32 / 2 * reference[:, 4])


def test_compiled_sums_are_the_sums_of_the_step_taken():
    pytest.importorskip("numba")
    model, optimizer = model_and_optimizer(lr=1e-5)
    monitor = WeightRMSMonitor(model, optimizer)
    assert monitor._recorder.compiled == [True]
    reference = np.array(train(model, optimizer, 30))
    sums = monitor.history().sums
    assert_compiled_sums(sums, reference)
    # Every step sampled: each step's snapshot is the previous step's weights, carried over,
    # and so is its sum of squares; the first one is copied before the step, in float64.
    np.testing.assert_array_equal(sums[1:, 0], sums[:-1, 3])
    np.testing.assert_allclose(sums[0, 0], reference[0, 0], rtol=64 * EPS64, atol=0)
    # The updates are tiny (lr 1e-5): on the matrices (columns 0 and 1, the decayed group)
    # |d| ~ 1e-4 |theta|, where one rounding of the weights would show.
    assert np.all(reference[:, 2, :2] < 1e-7 * reference[:, 0, :2])


def test_torch_path_agrees_with_the_compiled_one(torch_path):
    pytest.importorskip("numba")
    model, optimizer = model_and_optimizer(lr=1e-3)
    monitor = WeightRMSMonitor(model, optimizer)
    assert monitor._recorder.compiled == [False]
    reference = np.array(train(model, optimizer, 30))
    sums = monitor.history().sums
    # Float32 reductions, the norms squared: measured at most 2.1 float32 roundings (the
    # squares), 0.73 for theta . d (against the sum of |s d|).
    np.testing.assert_allclose(sums[:, [0, 2, 3]], reference[:, [0, 2, 3]], rtol=4 * EPS32)
    assert np.all(np.abs(sums[:, 1] - reference[:, 1]) <= 2 * EPS32 * reference[:, 4])


def test_a_storage_replaced_between_steps_is_followed():
    pytest.importorskip("numba")
    model, optimizer = model_and_optimizer(lr=1e-3)
    monitor = WeightRMSMonitor(model, optimizer)
    first = model[0].weight

    def replace(step: int) -> None:
        if step == 5:  # as model.to() and friends do: the Parameter keeps, its storage changes
            first.data = first.data.clone()

    reference = np.array(train(model, optimizer, 10, between=replace))
    sums = monitor.history().sums
    assert_compiled_sums(sums, reference)


def test_a_cast_after_the_monitor_was_made_is_refused():
    pytest.importorskip("numba")
    model, optimizer = model_and_optimizer(lr=1e-3)
    WeightRMSMonitor(model, optimizer)
    model.double()
    with pytest.raises(RuntimeError, match="changed device, dtype or layout"):
        train(model, optimizer, 1, dtype=torch.float64)


@pytest.mark.parametrize("path", ["compiled", "torch"])
def test_sums_across_chunks(path, monkeypatch):
    if path == "torch":
        monkeypatch.setattr(recorder, "_kernels", lambda: None)
    else:
        pytest.importorskip("numba")
    runs = []
    for chunk in (recorder.CHUNK, 3):
        monkeypatch.setattr(recorder, "CHUNK", chunk)
        model, optimizer = model_and_optimizer(lr=1e-3)
        monitor = WeightRMSMonitor(model, optimizer, every=2)
        train(model, optimizer, 15)
        runs.append(monitor.history().sums)
    assert runs[0].shape == (8, 4, 6)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_each_dtype_its_own_path():
    pytest.importorskip("numba")
    torch.manual_seed(1)
    model = torch.nn.ModuleDict(
        {
            "f32": torch.nn.Linear(4, 4),
            "f64": torch.nn.Linear(4, 4).double(),
            "bf16": torch.nn.Linear(4, 4).bfloat16(),
        }
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    monitor = WeightRMSMonitor(model, optimizer)
    assert monitor._recorder.compiled == [True, True, False]
    x = torch.randn(8, 4)
    for _ in range(3):
        optimizer.zero_grad()
        loss = model["f32"](x).square().mean() + model["f64"](x.double()).square().mean()
        loss = loss + model["bf16"](x.bfloat16()).float().square().mean()
        loss.backward()
        optimizer.step()
    error = np.abs(monitor.report().series["identity_error"])
    assert error[:, 2:4].max() < 1e-13  # float64 weights, float64 sums
    assert error.max() < 1e-4


def monitored_on(path: str, monkeypatch):
    """The test model, its optimizer and a monitor recording on ``path``."""
    if path == "torch":
        monkeypatch.setattr(recorder, "_kernels", lambda: None)
    else:
        pytest.importorskip("numba")
    model, optimizer = model_and_optimizer(lr=1e-3)
    return model, optimizer, WeightRMSMonitor(model, optimizer)


@pytest.mark.parametrize("path", ["compiled", "torch"])
def test_a_change_between_steps_is_counted_in_the_next_update(path, monkeypatch):
    # Every step sampled: the snapshot of a step is the weights the previous step left, so a
    # change made between steps (here the first matrix shrunk in place at step 5, as a
    # projection or a manual rescale would) is part of the next step's recovered update, and
    # the record's identity stays unbroken at every step.
    model, optimizer, monitor = monitored_on(path, monkeypatch)
    first = model[0].weight

    def shrink(step: int) -> None:
        if step == 5:
            with torch.no_grad():
                first.mul_(0.5)

    train(model, optimizer, 10, between=shrink)
    sums = monitor.history().sums
    np.testing.assert_allclose(sums[1:, 0], sums[:-1, 3], rtol=4 * EPS32)
    # The shrink is the 6th step's: d = beta3 * theta_5 - theta_6 holds theta_5 / 2.
    assert sums[5, 2, 0] > 0.1 * sums[5, 0, 0] > 100 * sums[4, 2, 0]
    error = monitor.report().series["identity_error"]
    assert np.all(np.abs(error[:, 0]) < 1e-5)


def test_one_compiled_kernel_for_every_tensor_count():
    # The weights go to numba as typed lists: a model of 4 tensors and one of 40 run the same
    # compiled kernels (a tuple would compile anew per count: minutes for hundreds of tensors).
    pytest.importorskip("numba")
    save, step_sums = recorder._kernels()
    for layers in (2, 20):
        torch.manual_seed(0)
        model = torch.nn.Sequential(*(torch.nn.Linear(5, 5) for _ in range(layers)))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        WeightRMSMonitor(model, optimizer)
        if layers == 2:
            counts = (len(save.signatures), len(step_sums.signatures))
    assert (len(save.signatures), len(step_sums.signatures)) == counts


@pytest.mark.parametrize("path", ["compiled", "torch"])
def test_storage_replaced_or_resized_between_steps(path, monkeypatch):
    # Replaced storage (p.data = ...) starts a fresh snapshot on both paths: the change is not
    # an update. A tensor of another size is refused, never read out of bounds.
    model, optimizer, monitor = monitored_on(path, monkeypatch)
    first = model[0].weight

    def double(step: int) -> None:
        if step == 5:
            first.data = first.data * 2

    train(model, optimizer, 10, between=double)
    update_sq = monitor.history().sums[:, 2, 0]
    assert update_sq[5] < 10 * np.median(update_sq)
    first.data = torch.zeros(4, 7)
    with pytest.raises(RuntimeError, match="changed size"):
        monitor._recorder.save()  # what the next step's pre-step hook does first


def test_a_step_skipped_for_overflow_inside_a_fused_optimizer():
    # GradScaler gives a fused optimizer its overflow flag (optimizer.found_inf) and the step
    # changes nothing; the monitor records the step as skipped by every tensor, not as a decay.
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.5, fused=True)
    monitor = WeightRMSMonitor(model, optimizer)
    scaler = torch.amp.GradScaler("cpu")
    moved = []
    for step in range(6):
        optimizer.zero_grad()
        scaler.scale(model(torch.randn(8, 4)).square().mean()).backward()
        if step == 3:
            model.weight.grad[0, 0] = float("inf")
        before = model.weight.detach().clone()
        scaler.step(optimizer)
        scaler.update()
        moved.append(not torch.equal(before, model.weight))
    assert moved == [True, True, True, False, True, True]
    history = monitor.history()
    assert history.skipped[3].all() and not history.skipped[[0, 1, 2, 4, 5]].any()
    assert history.sampled.tolist() == [1, 2, 3, 5, 6]
    assert np.all(np.abs(monitor.report().series["identity_error"]) < 1e-5)

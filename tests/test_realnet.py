"""The real-network benchmark (``make realnet``): data, networks, schedules, runs, the study."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from adamw_rms.realnet import PROBLEMS, SCHEDULE_KINDS, make_schedule, train_run  # noqa: E402
from adamw_rms.realnet.cli import main  # noqa: E402
from adamw_rms.realnet.curves import curve_rows, read_curves  # noqa: E402
from adamw_rms.realnet.data import (  # noqa: E402
    VOCABULARY,
    CharText,
    ShapeImages,
    TeacherTask,
    read_corpus,
)
from adamw_rms.realnet.models import MLP, CharTransformer, SmallCNN  # noqa: E402
from adamw_rms.realnet.plots import plot_run  # noqa: E402
from adamw_rms.realnet.report import document, read_rows  # noqa: E402
from adamw_rms.realnet.schedules import Schedule  # noqa: E402
from adamw_rms.realnet.study import CSV_NAME, CURVES_NAME, REPORT_NAME, rows, run_study  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


# ---- schedules ---------------------------------------------------------------------------------


def test_every_schedule_warms_up_then_takes_its_shape():
    steps = 1000
    constant, cosine, wsd = (make_schedule(kind, steps) for kind in SCHEDULE_KINDS)
    for schedule in (constant, cosine, wsd):
        assert schedule.warmup == 20
        np.testing.assert_allclose(schedule.multipliers()[:20], np.arange(1, 21) / 20)
    np.testing.assert_array_equal(constant.multipliers()[20:], 1.0)
    tail = cosine.multipliers()[20:]
    assert tail[0] == 1.0 and np.all(np.diff(tail) < 0) and tail[-1] == pytest.approx(0.1, 1e-4)
    stable, decay = wsd.multipliers()[20:800], wsd.multipliers()[800:]
    np.testing.assert_array_equal(stable, 1.0)
    np.testing.assert_allclose(decay, np.arange(200, 0, -1) / 200)


def test_lambda_lr_sets_exactly_the_multipliers():
    # What the study passes to monitor.forecast must be what LambdaLR will set.
    schedule = make_schedule("cosine", 50, warmup=5, floor=0.0)
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=3e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    used = []
    for _ in range(50):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert np.array_equal(np.array(used[17:]), 3e-3 * schedule.multipliers(17))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_schedule("linear", 10), "kind must be one of"),
        (lambda: make_schedule("cosine", 1), "steps must be a whole number >= 2"),
        (lambda: make_schedule("wsd", 10, warmup=10), r"warmup must be a whole number in \[0"),
        (lambda: make_schedule("cosine", 10, floor=1.5), r"floor must be in \[0, 1\]"),
        (lambda: make_schedule("wsd", 10, decay_fraction=1.0), r"decay_fraction must be in"),
        (lambda: Schedule("wsd", 10, 5, decay=6), r"decay must be a whole number in \[1, "),
        (lambda: make_schedule("wsd", 10).multipliers(11), "start must be"),
    ],
)
def test_bad_schedules_name_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---- data and networks -------------------------------------------------------------------------


def _generator(seed: int = 0):
    return torch.Generator().manual_seed(seed)


def test_teacher_task_is_a_fixed_function_of_fresh_inputs():
    task = TeacherTask(inputs=8, hidden=16, classes=4)
    x, y = task.batch(256, _generator())
    assert x.shape == (256, 8) and y.shape == (256,) and set(y.tolist()) <= set(range(4))
    assert len(set(y.tolist())) > 1
    x2, y2 = TeacherTask(inputs=8, hidden=16, classes=4).batch(256, _generator())
    assert torch.equal(x, x2) and torch.equal(y, y2)  # same seeds, same data
    again, _ = task.batch(256, _generator(1))
    assert not torch.equal(x, again)


def test_shape_images_draw_every_class_reproducibly():
    data = ShapeImages(size=16)
    images, labels = data.batch(300, _generator())
    assert images.shape == (300, 1, 16, 16) and set(labels.tolist()) == set(range(6))
    assert torch.isfinite(images).all()
    repeat, repeat_labels = ShapeImages(size=16).batch(300, _generator())
    assert torch.equal(images, repeat) and torch.equal(labels, repeat_labels)
    clean, _ = ShapeImages(size=16, noise=0.0).batch(300, _generator())
    # Without noise, each image is its centred shape: zero mean up to rounding.
    assert clean.mean(dim=(1, 2, 3)).abs().max() < 1e-5


def test_char_text_predicts_the_next_character():
    corpus = read_corpus()
    assert len(corpus) > 50_000 and set(corpus) <= set(VOCABULARY)
    data = CharText(context=8)
    inputs, targets = data.batch(5, _generator())
    assert inputs.shape == targets.shape == (5, 8)
    assert torch.equal(inputs[:, 1:], targets[:, :-1])
    small = CharText(context=3, text="abcdefg")
    x, y = small.batch(4, _generator())
    assert torch.equal(y, x + 1)  # consecutive letters are consecutive symbols
    with pytest.raises(ValueError, match="outside VOCABULARY"):
        CharText(context=2, text="αβγδ")
    with pytest.raises(ValueError, match="longer than context"):
        CharText(context=8, text="short")


def test_networks_run_at_tiny_sizes():
    torch.manual_seed(0)
    plain, normed = MLP(6, 8, 3, depth=4), MLP(6, 8, 3, depth=4, layer_norm=True)
    assert sum(isinstance(m, torch.nn.LayerNorm) for m in plain.modules()) == 0
    # Pre-norm before the two hidden matrices, not before the input layer or the head.
    assert [type(n).__name__ for n in normed.norms] == ["Identity", "LayerNorm", "LayerNorm",
                                                        "Identity"]  # fmt: skip
    assert normed(torch.randn(2, 6)).shape == (2, 3)
    assert SmallCNN(6, image_size=8, channels=(2, 3))(torch.randn(2, 1, 8, 8)).shape == (2, 6)
    model = CharTransformer(len(VOCABULARY), 6, width=8, heads=2, blocks=1)
    tokens = torch.randint(0, len(VOCABULARY), (2, 6))
    logits = model(tokens)
    assert logits.shape == (2, 6, len(VOCABULARY))
    changed = tokens.clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % len(VOCABULARY)
    # Causal: the first four positions do not see the later tokens.
    torch.testing.assert_close(model(changed)[:, :4], logits[:, :4])
    assert model.embed.weight is not model.head.weight  # untied
    with pytest.raises(ValueError, match="width must be divisible by heads"):
        CharTransformer(10, 4, width=10, heads=4)
    with pytest.raises(ValueError, match="depth must be a whole number >= 2"):
        MLP(2, 2, 2, depth=1)


# ---- runs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_a_run_is_seeded(problem):
    first = train_run(problem, "wsd", 3, size="small", steps=12, monitor=False)
    second = train_run(problem, "wsd", 3, size="small", steps=12, monitor=False)
    other = train_run(problem, "wsd", 4, size="small", steps=12, monitor=False)
    assert np.array_equal(first["measured"], second["measured"])
    assert np.array_equal(first["loss"], second["loss"])
    assert not np.array_equal(first["measured"], other["measured"])
    assert first["measured"].shape == (13, len(first["names"]))
    schedule = make_schedule("wsd", 12)
    np.testing.assert_array_equal(first["lr"], PROBLEMS[problem].lr * schedule.multipliers())
    # Matrices decay, vectors (biases, LayerNorm gains) do not.
    assert first["decayed"] == [len(shape) >= 2 for shape in first["shapes"]]


class _RecordingMonitor:
    """A stand-in that records what the run asks of a monitor (the harness under test)."""

    calls: ClassVar[list[tuple[int, np.ndarray]]] = []

    def __init__(self, model, optimizer, *, every=1):
        self.names = [name for name, _ in model.named_parameters()]
        self.optimizer = optimizer
        self.steps = 0
        optimizer.register_step_post_hook(self._count)

    def _count(self, *_):
        self.steps += 1

    def forecast(self, lr, weight_decay=None):
        type(self).calls.append((self.steps, np.array(lr)))
        return {name: np.full(len(lr), float(self.steps)) for name in self.names}

    def history(self):
        return self

    def report(self):
        return types.SimpleNamespace(to_dict=lambda: {"rows": []})

    def metrics(self):
        return {}

    def state_dict(self):
        return {"steps": self.steps}


def test_forecasts_get_the_rates_lambda_lr_will_set(monkeypatch, tmp_path):
    module = types.ModuleType("adamw_rms.torch")
    module.WeightRMSMonitor = _RecordingMonitor
    models = types.ModuleType("adamw_rms.torch.forecast")
    models.MODELS = ("only",)
    models.forecast = lambda history, lr, model: history.forecast(lr)
    monkeypatch.setitem(sys.modules, "adamw_rms.torch", module)
    monkeypatch.setitem(sys.modules, "adamw_rms.torch.forecast", models)
    decomposition = types.ModuleType("adamw_rms.torch.decomposition")
    decomposition.balance = lambda history: np.full((1, len(history.names)), 0.5)
    monkeypatch.setitem(sys.modules, "adamw_rms.torch.decomposition", decomposition)
    _RecordingMonitor.calls = []
    run = train_run("mlp", "cosine", 0, size="small", steps=40, history=tmp_path)
    # monitor.forecast, then the module's one model, at each point.
    assert [step for step, _ in _RecordingMonitor.calls] == [12, 12, 20, 20]
    for step, lr in _RecordingMonitor.calls:
        assert np.array_equal(lr, run["lr"][step:])  # the rates the optimizer then used
        forecast = run["forecasts"][step / 40]
        assert forecast["rms"]["layers.0.weight"].shape == (40 - step,)
        assert forecast["models"]["only"]["layers.0.weight"] == step
        assert forecast["balance"]["layers.0.weight"] == 0.5
    saved = torch.load(tmp_path / "mlp-cosine-seed0.pt", weights_only=False)
    assert saved["monitor_state"] == {"steps": 40}
    assert np.array_equal(saved["measured"], run["measured"])


def test_bad_run_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="problem must be one of"):
        train_run("resnet", "wsd", 0, monitor=False)
    with pytest.raises(ValueError, match="schedule must be one of"):
        train_run("mlp", "step", 0, monitor=False)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        train_run("mlp", "wsd", -1, monitor=False)
    with pytest.raises(ValueError, match=r"forecast_at must hold fractions in \(0, 1\)"):
        train_run("mlp", "wsd", 0, forecast_at=(1.0,), monitor=False)
    with pytest.raises(ValueError, match="at least one step before and after"):
        train_run("mlp", "wsd", 0, steps=2, forecast_at=(0.9,), monitor=False)


# ---- the study ---------------------------------------------------------------------------------


def test_small_study_writes_the_report_figures_and_csv(tmp_path):
    pytest.importorskip("adamw_rms.torch")
    assert main(["--size", "small", "--out", str(tmp_path), "--workers", "1"]) == 0
    table = read_rows(tmp_path / CSV_NAME)
    runs = {(r["problem"], r["schedule"]) for r in table}
    assert runs == {(p, s) for p in PROBLEMS for s in SCHEDULE_KINDS}
    assert (tmp_path / REPORT_NAME).read_text(encoding="utf-8") == document(table, size="small")
    _check_curves(table, read_curves(tmp_path / CURVES_NAME), tmp_path / "figures")
    for row in table:
        assert math.isfinite(row["forecast_50"]) and math.isfinite(row["iid_rms"]), row


def test_small_size_needs_out(capsys):
    assert main(["--size", "small"]) == 2
    assert "--size small must not replace the committed study" in capsys.readouterr().err
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        run_study(Path("unused"), workers=0)


@pytest.mark.skipif(not (REPO / "docs" / CSV_NAME).is_file(), reason="no committed study yet")
def test_committed_report_and_figures_are_the_csvs():
    table = read_rows(REPO / "docs" / CSV_NAME)
    assert (REPO / "docs" / REPORT_NAME).read_text(encoding="utf-8") == document(table)
    _check_curves(table, read_curves(REPO / "docs" / CURVES_NAME), REPO / "docs" / "figures")
    assert {r["steps"] for r in table if r["problem"] == "mlp"} == {PROBLEMS["mlp"].steps["full"]}


def _check_curves(table, curves, figures):
    """The curves (what the figures draw) end at the table's numbers; one figure per run."""
    for row in (r for r in table if r["matrix"]):
        key = (row["problem"], row["schedule"], row["tensor"])
        points = [c for c in curves if (c["problem"], c["schedule"], c["tensor"]) == key]
        assert points[0]["step"] == 0 and points[-1]["step"] == row["steps"], key
        assert points[0]["measured"] == pytest.approx(row["init_rms"], rel=1e-5)
        for column in ("measured", "forecast_30", "forecast_50"):
            table_column = "measured_rms" if column == "measured" else column
            assert points[-1][column] == pytest.approx(row[table_column], rel=1e-5), key
        started = [c["step"] for c in points if math.isfinite(c["forecast_50"])]
        assert started[0] == round(0.5 * row["steps"]), key
    for problem, schedule in {(r["problem"], r["schedule"]) for r in table}:
        figure = figures / f"realnet-{problem}-{schedule}.png"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_figure_is_byte_stable(tmp_path):
    run = train_run("cnn", "cosine", 1, size="small", steps=30, monitor=False)
    table, curves = rows(run), curve_rows(run)
    assert {r["tensor"] for r in curves} == {"conv1.weight", "conv2.weight", "head.weight"}
    first = plot_run(table, curves, tmp_path).read_bytes()
    (tmp_path / "again").mkdir()
    assert plot_run(table, curves, tmp_path / "again").read_bytes() == first
    assert first[:8] == b"\x89PNG\r\n\x1a\n"


def test_readme_quotes_the_committed_study(repo_root):
    # The README's monitor section quotes the committed study; recompute each number from
    # docs/realnet.csv (matrices only), so a rerun that changes them fails here until the
    # README follows.
    from adamw_rms.realnet.report import read_rows
    from adamw_rms.torch.forecast import BALANCE_WARN

    rows = [r for r in read_rows(repo_root / "docs" / "realnet.csv") if r["matrix"]]

    def pct(values, how):
        return f"{100 * how(np.abs(values)):.1f}%"

    def column(key, chosen=rows):
        return np.array([r[key] for r in chosen])

    calm = [r for r in rows if r["balance_50"] >= BALANCE_WARN]
    warned = [r for r in rows if r["balance_50"] < BALANCE_WARN]
    ratio = column("measured_rms") / column("iid_rms")
    quoted = [
        f"within {pct(column('error_50'), np.median)} (median) and "
        f"{pct(column('error_50'), np.max)} (worst)",
        f"{pct(column('error_30'), np.median)} and {pct(column('error_30'), np.max)}",
        f"{pct(column('model_eta2_50'), np.median)} and {pct(column('model_eta2_50'), np.max)} "
        "from 50%",
        f"the worst of {len(calm)} matrices is {pct(column('error_50', calm), np.max)}",
        f"The {len(warned)} it warns about",
        f"from {ratio.min():.2f} to {ratio.max():.1f} times the iid value",
    ]
    text = " ".join((repo_root / "README.md").read_text(encoding="utf-8").split())
    for phrase in quoted:
        assert phrase in text, phrase

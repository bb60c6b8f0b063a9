"""UNetPredictor: registry, full-day prediction on the tiny cube, ablation, optimised vs fp32,
precision ``auto`` (timing at load with a fake clock, numerical check, cache)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from fixtures.smallmodel import write_small_registry

from meltwater.errors import CheckpointError, UnknownNameError
from meltwater.models import device as devices
from meltwater.models import inference as predict
from meltwater.models.device import PATHS, auto_device, candidate_paths, choose_path
from meltwater.models.inference import UNetPredictor, registry_entry
from meltwater.models.unet import ModelConfig

SMALL = ModelConfig("tu-resnet10t", 3, (16, 8, 8))


@pytest.fixture(scope="module")
def models_dir(tiny_cube, tmp_path_factory):
    return write_small_registry(tmp_path_factory.mktemp("models"), tiny_cube, SMALL)


def _sar_day(cube) -> pd.Timestamp:
    return cube.indexes["time"][np.flatnonzero(cube["has_sar"].values)[3]]


def test_registry_entry_and_errors(models_dir, tmp_path):
    entry = registry_entry(models_dir=models_dir)
    assert entry["name"] == "small" and entry["checkpoint"] == str(models_dir / "small")
    with pytest.raises(KeyError, match=r"\['small'\]"):
        registry_entry("nope", models_dir)
    with pytest.raises(CheckpointError, match="not found"):
        registry_entry(None, tmp_path)


def test_predict_day_matches_cube_grid(models_dir, tiny_cube):
    pred = UNetPredictor.from_registry(models_dir=models_dir)
    assert pred.device == auto_device() == torch.device("cpu")
    out = pred.predict(tiny_cube, _sar_day(tiny_cube))
    assert out.dims == ("y", "x") and out.dtype == np.float32
    assert out.shape == (tiny_cube.sizes["y"], tiny_cube.sizes["x"])
    np.testing.assert_array_equal(out["x"], tiny_cube["x"])
    np.testing.assert_array_equal(out["y"], tiny_cube["y"])
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_ablation_changes_the_prediction(models_dir, tiny_cube):
    pred = UNetPredictor.from_registry(models_dir=models_dir, precision="fp32")
    day = _sar_day(tiny_cube)
    full = pred.predict(tiny_cube, day)
    no_dem = pred.predict(tiny_cube, day, ablate=("dem",))
    assert no_dem.name == "pred_unet_no_dem"
    assert float(np.abs(full - no_dem).max()) > 1e-4
    with pytest.raises(UnknownNameError, match="bogus"):
        pred.predict(tiny_cube, day, ablate=("bogus",))


def test_optimised_path_close_to_fp32(models_dir, tiny_cube):
    """channels-last + bf16 autocast vs eager fp32: measured max abs difference ~3e-3."""
    fast = UNetPredictor.from_registry(models_dir=models_dir, precision="bf16")
    ref = UNetPredictor.from_registry(models_dir=models_dir, precision="fp32")
    assert fast.channels_last and fast.bf16 and not ref.bf16
    day = _sar_day(tiny_cube)
    diff = np.abs(fast.predict(tiny_cube, day).values - ref.predict(tiny_cube, day).values)
    assert diff.max() < 0.02


def test_onnx_runtime_path_equals_fp32(models_dir, tiny_cube, tmp_path, monkeypatch):
    """ONNX Runtime: exported once (cached by weights hash), equal to torch fp32 within 1e-4."""
    monkeypatch.setenv("MELTWATER_CACHE", str(tmp_path))
    onnx = UNetPredictor.from_registry(models_dir=models_dir, precision="onnx")
    ref = UNetPredictor.from_registry(models_dir=models_dir, precision="fp32")
    exported = list(tmp_path.glob("onnx/*/model.onnx"))
    assert onnx.chosen_precision == "onnx" and len(exported) == 1
    day = _sar_day(tiny_cube)
    got, want = onnx.predict(tiny_cube, day).values, ref.predict(tiny_cube, day).values
    assert np.abs(got - want).max() < 1e-4
    crop = np.zeros((4, 64, 96), np.float32)  # another size, same exported file
    assert np.abs(onnx.predict_array(crop) - ref.predict_array(crop)).max() < 1e-4
    mtime = exported[0].stat().st_mtime_ns
    UNetPredictor.from_registry(models_dir=models_dir, precision="onnx")
    assert exported[0].stat().st_mtime_ns == mtime, "the cached export is reused"


def test_predict_array_checks_channels(models_dir):
    pred = UNetPredictor.from_registry(models_dir=models_dir)
    with pytest.raises(ValueError, match="4 channels"):
        pred.predict_array(np.zeros((3, 32, 32), np.float32))
    with pytest.raises(ValueError, match="precision"):
        UNetPredictor(pred.model, pred.meta, precision="fp8")


@pytest.mark.gpu
def test_cuda_prediction_equals_cpu_fp32(models_dir, tiny_cube):
    day = _sar_day(tiny_cube)
    cpu = UNetPredictor.from_registry(models_dir=models_dir, device="cpu", precision="fp32")
    gpu = UNetPredictor.from_registry(models_dir=models_dir, device="cuda", precision="fp32")
    assert gpu.device.type == "cuda"
    diff = np.abs(gpu.predict(tiny_cube, day).values - cpu.predict(tiny_cube, day).values)
    assert float(diff.max()) < 1e-3


# --- precision "auto": chosen by a timing at load, numerically checked (issue 15) -------------


class FakeClock:
    """A clock that only moves when a fake-timed runner runs."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _fake_runners(clock: FakeClock, costs: dict, outputs: dict | None = None) -> dict:
    """Runners whose every call costs ``costs[name]`` (a number, or a list consumed per call)."""
    out = outputs or {}

    def make(name):
        seq = costs[name] if isinstance(costs[name], list) else None

        def run():
            clock.now += seq.pop(0) if seq is not None else costs[name]
            return out.get(name, np.full((1, 1, 4, 4), 0.5, np.float32))

        return run

    return {name: make(name) for name in costs}


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        ({"fp32": 1.0, "fp32_cl": 2.0, "bf16": 3.0}, "fp32"),
        ({"fp32": 2.0, "fp32_cl": 1.0, "bf16": 3.0}, "fp32_cl"),
        ({"fp32": 3.0, "fp32_cl": 2.0, "bf16": 1.0}, "bf16"),
        ({"fp32": 1.0, "fp32_cl": 1.0}, "fp32"),  # a tie keeps the plain path
        ({"fp32": 1.0, "fp32_cl": 0.97, "bf16": 0.99}, "fp32"),  # within the 5 % margin
        ({"fp32": 1.0, "fp32_cl": 0.5}, "fp32_cl"),  # no bf16 candidate (CPU without it)
    ],
)
def test_choose_path_keeps_the_fastest(costs, expected):
    clock = FakeClock()
    choice = choose_path(_fake_runners(clock, costs), clock=clock, repeats=2)
    assert choice.name == expected
    assert choice.seconds == pytest.approx(costs) and choice.rejected == ()
    assert choice.seconds[choice.name] <= choice.seconds["fp32"], "never slower than fp32"


def test_choose_path_uses_each_paths_best_round():
    """Noise in one round (a neighbour's job) does not decide: each path keeps its best round."""
    clock = FakeClock()
    costs = {"fp32": [9.0, 1.0, 1.0, 1.0], "fp32_cl": [9.0, 5.0, 0.6, 5.0]}  # warm-up first
    choice = choose_path(_fake_runners(clock, costs), clock=clock, repeats=3)
    assert (
        choice.seconds == pytest.approx({"fp32": 1.0, "fp32_cl": 0.6}) and choice.name == "fp32_cl"
    )


@pytest.mark.parametrize(
    ("outputs", "rejected", "expected"),
    [
        ({"bf16": 0.5 + 0.1}, ("bf16",), "fp32_cl"),  # off by 0.1 > 0.05
        ({"bf16": 0.5 + 0.04}, (), "bf16"),  # bf16 rounding within its tolerance
        ({"fp32_cl": 0.5 + 1e-3}, ("fp32_cl",), "bf16"),  # fp32 must agree to 1e-4
        ({"bf16": np.nan, "fp32_cl": 0.5 + 1e-3}, ("fp32_cl", "bf16"), "fp32"),
    ],
)
def test_choose_path_numerical_check(outputs, rejected, expected):
    clock = FakeClock()
    costs = {"fp32": 3.0, "fp32_cl": 2.0, "bf16": 1.0}
    arrays = {k: np.full((1, 1, 4, 4), v, np.float32) for k, v in outputs.items()}
    choice = choose_path(_fake_runners(clock, costs, arrays), clock=clock)
    assert choice.rejected == rejected and choice.name == expected
    assert choice.max_diff["fp32"] == 0.0
    for name, v in outputs.items():
        want = abs(v - 0.5) if np.isfinite(v) else np.inf
        assert choice.max_diff[name] == pytest.approx(want, rel=1e-3)


def test_choose_path_needs_fp32():
    with pytest.raises(ValueError, match="'fp32' entry"):
        choose_path({"bf16": lambda: np.zeros(1)})


@pytest.fixture
def fake_timing(monkeypatch):
    """Time the predictor's real runners with a fake clock: set ``costs`` per path; bf16 is a
    candidate whatever the CPU; ONNX Runtime too, at a cost of 1 s unless set; the in-process
    cache starts empty."""
    clock, costs, calls = FakeClock(), {"onnx": 1.0}, []
    real_runner, real_choose = UNetPredictor._runner, predict.choose_path

    def runner(self, model, path, x):
        run = real_runner(self, model, path, x)

        def timed():
            clock.now += costs[path.name]
            return run()

        return timed

    def counting_choose(*args, **kwargs):
        calls.append(kwargs.get("tile"))
        return real_choose(*args, **kwargs)

    monkeypatch.setattr(UNetPredictor, "_runner", runner)
    monkeypatch.setattr(predict, "choose_path", counting_choose)
    monkeypatch.setattr(devices, "_now", clock)
    monkeypatch.setattr(predict, "CHOICES", {})
    monkeypatch.setattr(devices, "bf16_native", lambda device: True)
    return costs, calls


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        ({"fp32": 0.2, "fp32_cl": 0.4, "bf16": 0.3}, "fp32"),  # the demo CPU of the note
        ({"fp32": 0.4, "fp32_cl": 0.2, "bf16": 0.3}, "fp32_cl"),
        ({"fp32": 0.4, "fp32_cl": 0.3, "bf16": 0.1}, "bf16"),
        ({"fp32": 0.4, "fp32_cl": 0.3, "bf16": 0.3, "onnx": 0.15}, "onnx"),
    ],
)
def test_auto_predictor_follows_the_timing(models_dir, tiny_cube, fake_timing, costs, expected):
    fake_timing[0].update(costs)
    auto = UNetPredictor.from_registry(models_dir=models_dir, precision="auto")
    assert auto.chosen_precision == expected == auto.path_choice.name
    assert auto.path_choice.seconds == pytest.approx(fake_timing[0])
    assert auto.path_choice.tile == 256
    assert (auto.bf16, auto.channels_last) == (PATHS[expected].bf16, PATHS[expected].channels_last)
    conv = next(m for m in auto.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(
        memory_format=torch.channels_last if auto.channels_last else torch.contiguous_format
    )
    same = UNetPredictor.from_registry(models_dir=models_dir, precision=expected)
    day = _sar_day(tiny_cube)
    np.testing.assert_allclose(
        auto.predict(tiny_cube, day).values, same.predict(tiny_cube, day).values, atol=1e-6
    )


def test_auto_choice_is_cached_per_setup(models_dir, fake_timing):
    costs, calls = fake_timing
    costs.update({"fp32": 0.4, "fp32_cl": 0.2, "bf16": 0.3})
    first = UNetPredictor.from_registry(models_dir=models_dir)
    second = UNetPredictor.from_registry(models_dir=models_dir)
    assert calls == [256] and second.path_choice is first.path_choice
    UNetPredictor.from_registry(models_dir=models_dir, tile=128, stride=96)
    assert calls == [256, 128], "another probe tile is measured again"
    UNetPredictor.from_registry(models_dir=models_dir, precision="fp32")
    assert len(calls) == 2, "an explicit precision measures nothing"


def test_auto_on_this_machine_is_a_measured_candidate(models_dir):
    pred = UNetPredictor.from_registry(models_dir=models_dir, precision="auto")
    names = [p.name for p in candidate_paths(pred.device)]
    choice = pred.path_choice
    assert pred.chosen_precision in names and list(choice.seconds) == names
    assert choice.name not in choice.rejected
    assert choice.seconds[choice.name] <= choice.seconds["fp32"], "no path measured slower"
    assert choice.max_diff["fp32_cl"] <= PATHS["fp32_cl"].tolerance
    explicit = UNetPredictor.from_registry(models_dir=models_dir, precision="fp32_cl")
    assert explicit.path_choice is None and explicit.chosen_precision == "fp32_cl"
    assert explicit.channels_last and not explicit.bf16


def test_auto_paths_restrict_the_candidates(models_dir, fake_timing):
    costs, calls = fake_timing
    costs.update({"fp32": 0.4, "fp32_cl": 0.3, "bf16": 0.1})
    pred = UNetPredictor.from_registry(models_dir=models_dir, auto_paths=["fp32_cl"])
    assert list(pred.path_choice.seconds) == ["fp32", "fp32_cl"], "fp32 is always timed"
    assert pred.chosen_precision == "fp32_cl"
    with pytest.raises(ValueError, match=r"auto_paths: unknown \['fp16'\]"):
        UNetPredictor.from_registry(models_dir=models_dir, auto_paths=["fp16"])

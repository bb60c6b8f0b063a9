"""UNetPredictor: registry, full-day prediction on the tiny cube, ablation, optimised vs fp32."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from fixtures.smallmodel import write_small_registry

from meltwater.errors import CheckpointError, UnknownNameError
from meltwater.models.inference import UNetPredictor, auto_device, registry_entry
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

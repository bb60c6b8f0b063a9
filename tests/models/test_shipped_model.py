"""The shipped checkpoint (models/): loads offline, matches the demo generator, predicts."""

from __future__ import annotations

import numpy as np

from meltwater.data.synthetic import GENERATOR_VERSION, DemoConfig
from meltwater.models.inference import UNetPredictor, registry_entry
from meltwater.models.unet import MODEL_CONFIGS
from meltwater.schema import CHANNELS


def test_shipped_checkpoint_matches_the_demo_generator():
    """Fails loudly when the demo generator changed: retrain with the command in the card."""
    entry = registry_entry()
    pred = UNetPredictor.from_checkpoint(entry["checkpoint"])
    data, card = pred.meta.data, open(entry["checkpoint"] + ".md").read()
    retrain = pred.meta.training["command"]
    default = DemoConfig.preset("default")
    hint = f"the shipped model {entry['name']!r} is stale: regenerate the demo and run `{retrain}`"
    assert data["generator_version"] == GENERATOR_VERSION, hint
    assert data["demo_seed"] == default.seed, hint
    assert tuple(data["demo_shape"]) == tuple(default.shape), hint
    assert tuple(data["demo_years"]) == tuple(default.years), hint
    assert retrain in card and pred.meta.weights_sha256 in card
    assert pred.config == MODEL_CONFIGS["default"]
    assert pred.config.channels == CHANNELS
    assert set(pred.meta.metrics) == {"val", "test"}


def test_shipped_checkpoint_is_small():
    from pathlib import Path

    size = Path(registry_entry()["checkpoint"] + ".safetensors").stat().st_size
    assert size < 20e6


def test_shipped_model_predicts_the_tiny_demo(tiny_cube):
    pred = UNetPredictor.from_registry()
    day = tiny_cube.indexes["time"][np.flatnonzero(tiny_cube["has_sar"].values)[5]]
    out = pred.predict(tiny_cube, day)
    assert out.shape == (tiny_cube.sizes["y"], tiny_cube.sizes["x"])
    assert np.isfinite(out.values).all() and 0.0 <= float(out.min()) <= float(out.max()) <= 1.0

"""Checkpoint save/load: safetensors + JSON + card; hash, channel and architecture checks."""

from __future__ import annotations

import json

import pytest
import torch

from meltwater.data.preprocess import NormStats
from meltwater.errors import CheckpointError
from meltwater.models.checkpoint import (
    CheckpointMeta,
    load_checkpoint,
    load_train_state,
    read_meta,
    save_checkpoint,
    save_train_state,
)
from meltwater.models.unet import ModelConfig, build_model

SMALL = ModelConfig("resnet18", 3, (16, 8, 8))


def _meta() -> CheckpointMeta:
    return CheckpointMeta(
        name="x",
        model=SMALL.to_dict(),
        norm_stats=NormStats.paper().to_dict(),
        data={"source": "demo", "generator_version": "1.0", "seed": 0},
        training={"command": "meltwater train --config configs/train_tiny.yaml"},
        metrics={"val": {"mae": 0.125}},
    )


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model(SMALL).eval()
    path = save_checkpoint(model, tmp_path / "unet_a", _meta())
    return model, path


def test_round_trip_identical_outputs(saved):
    model, path = saved
    assert path.name == "unet_a.safetensors"
    assert {p.suffix for p in path.parent.iterdir()} == {".safetensors", ".json", ".md"}
    loaded, meta = load_checkpoint(path.with_suffix(""))
    assert meta.name == "unet_a" and meta.model_config == SMALL
    assert NormStats.from_dict(meta.norm_stats) == NormStats.paper()
    x = torch.randn(1, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)


def test_card_rendered_from_metadata(saved):
    card = saved[1].with_suffix(".md").read_text()
    assert "meltwater train --config configs/train_tiny.yaml" in card
    assert "| mae | 0.1250 |" in card
    assert "| pmw | 206.1000 | 26.7700 |" in card
    assert read_meta(saved[1]).weights_sha256 in card


def test_sha_mismatch_is_refused(saved):
    path = saved[1]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


def test_channel_order_is_checked(saved):
    meta_path = saved[1].with_suffix(".json")
    raw = json.loads(meta_path.read_text())
    raw["model"]["channels"] = ["dem", "pmw", "mar_wa1", "sar_interp"]
    meta_path.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="input channels"):
        load_checkpoint(saved[1])


def test_architecture_mismatch_is_refused(saved):
    meta_path = saved[1].with_suffix(".json")
    raw = json.loads(meta_path.read_text())
    raw["model"]["decoder_channels"] = [32, 16, 8]
    meta_path.write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(saved[1])


def test_missing_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none")


def test_train_state_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model(SMALL)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
    model(torch.randn(2, 4, 32, 32)).mean().backward()
    opt.step()
    sched.step(1.5)
    save_train_state(tmp_path / "last", model, opt, sched, {"epoch": 2, "best_mae": 0.5})
    model2 = build_model(SMALL)
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-3)
    sched2 = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt2, T_0=3, T_mult=2)
    state = load_train_state(tmp_path / "last", model2, opt2, sched2)
    assert state == {"epoch": 2, "best_mae": 0.5}
    for a, b in zip(model.state_dict().values(), model2.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    torch.testing.assert_close(s1[0]["exp_avg_sq"], s2[0]["exp_avg_sq"], rtol=0, atol=0)
    assert float(s2[0]["step"]) == 1.0
    assert sched2.get_last_lr() == sched.get_last_lr()

"""Training on the tiny demo: loss, channel dropout, resume, checkpoint round-trip, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from meltwater.data.cube import split_dates
from meltwater.data.preprocess import NormStats
from meltwater.models.checkpoint import load_checkpoint
from meltwater.models.losses import masked_l1, masked_mse
from meltwater.models.train import TrainConfig, TrainData, train

SMALL = {"encoder_name": "resnet18", "encoder_depth": 3, "decoder_channels": [16, 8, 8]}


def _cfg(tmp_path, **kw) -> TrainConfig:
    base = dict(model=SMALL, out=str(tmp_path / "unet_t"), crop=64, batch_size=2, epochs=2)
    base.update(steps_per_epoch=2, val_days=2, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_masked_l1_hand_computed():
    pred = torch.tensor([[0.5, 1.0], [0.0, 0.2]])
    target = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    mask = torch.tensor([[True, True], [False, True]])
    assert masked_l1(pred, target, mask).item() == pytest.approx((0.5 + 0.0 + 0.2) / 3)
    assert masked_l1(pred, target, torch.zeros_like(mask)).item() == 0.0
    assert masked_mse(pred, target, mask).item() == pytest.approx((0.25 + 0.0 + 0.04) / 3)
    assert masked_mse(pred, target, torch.zeros_like(mask)).item() == 0.0


def test_the_loss_is_chosen_by_name(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("loss: huber\n")
    with pytest.raises(ValueError, match=r"loss must be one of \['l1', 'mse'\], got 'huber'"):
        TrainConfig.from_yaml(p)
    assert TrainConfig().loss == "l1" and TrainConfig(loss="mse").loss == "mse"


def test_training_steps_use_the_configured_loss(tiny_cube, tmp_path, monkeypatch):
    from meltwater.models import losses

    steps: list[float] = []

    def spy(pred, target, mask):
        steps.append(1.0)
        return masked_mse(pred, target, mask)

    monkeypatch.setitem(losses.LOSSES, "mse", spy)
    train(_cfg(tmp_path, loss="mse", epochs=1, steps_per_epoch=3), cube=tiny_cube)
    assert len(steps) == 3


@pytest.fixture(scope="module")
def train_data(tiny_cube):
    dates = list(split_dates(tiny_cube, "train"))
    return TrainData(tiny_cube, dates[:4], NormStats.compute(tiny_cube, dates))


def test_crops_shapes_and_channel_dropout(train_data):
    rng = np.random.default_rng(0)
    x, t, m = train_data.crops(rng, 64, 32, channel_dropout=0.5)
    assert x.shape == (64, 4, 32, 32) and t.shape == m.shape == (64, 1, 32, 32)
    dropped = (x == 0).flatten(2).all(-1)
    assert 0.35 < dropped.float().mean().item() < 0.65  # p = 0.5 per channel and sample
    x0, _, _ = train_data.crops(np.random.default_rng(0), 8, 32, channel_dropout=0.0)
    assert not (x0 == 0).flatten(2).all(-1).any()
    assert train_data.crops(rng, 1, 999, 0.0)[0].shape[-2:] == (64, 96)  # cut to the domain


def test_augmented_crops_rotate_and_flip_inputs_targets_and_masks_together(train_data):
    plain = train_data.crops(np.random.default_rng(5), 16, 32, 0.0)
    aug = train_data.crops(np.random.default_rng(5), 16, 32, 0.0, augment=True)
    # the same crop positions, each turned by one of the 8 symmetries of the square
    for x0, t0, m0, x1, t1, m1 in zip(*plain, *aug, strict=True):
        views = [
            [np.rot90(a, k, axes=(-2, -1))[..., ::f] for a in (x0, t0, m0)]
            for k in range(4)
            for f in (1, -1)
        ]
        assert any(
            all(np.array_equal(v, w) for v, w in zip(view, (x1, t1, m1), strict=True))
            for view in views
        )
    assert not all(torch.equal(a, b) for a, b in zip(plain[1], aug[1], strict=True))


def test_fine_tune_starts_from_a_checkpoint_and_must_beat_it(tiny_cube, tmp_path, monkeypatch):
    from meltwater.errors import CheckpointError
    from meltwater.models import train as train_module

    start = train(_cfg(tmp_path / "a", epochs=1), cube=tiny_cube)
    model0, meta0 = load_checkpoint(start)
    out = tmp_path / "ft" / "unet_t"
    real = train_module.evaluate_days

    def worse(*args):  # every fine-tuning epoch validates worse than the start
        return {**(m := real(*args)), "mae": m["mae"] + 1.0}

    monkeypatch.setattr(train_module, "evaluate_days", worse)
    cfg = _cfg(tmp_path / "ft", init=str(start.with_suffix("")), augment=True)
    # no epoch beats the start's validation MAE: nothing written, the start is the answer
    assert train(cfg, cube=tiny_cube) == start
    assert not out.with_suffix(".safetensors").exists()
    monkeypatch.undo()
    cfg = _cfg(tmp_path / "ft", init=str(start.with_suffix("")), lr=1e-3)
    cfg.model = {**SMALL, "encoder_name": "tu-resnet10t"}
    with pytest.raises(CheckpointError, match="init:.*'resnet18'.*'tu-resnet10t'"):
        train(cfg, cube=tiny_cube)
    assert meta0.metrics["val"]["mae"] > 0 and model0 is not None


def test_loss_decreases_on_fixed_batch(train_data):
    from meltwater.models.unet import build_model, get_model_config

    torch.manual_seed(0)
    model = build_model(get_model_config(SMALL))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x, t, m = train_data.crops(np.random.default_rng(1), 4, 64, 0.0)
    losses = []
    for _ in range(8):
        loss = masked_l1(model(x), t, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_train_end_to_end_and_resume(tiny_cube, tmp_path):
    cfg = _cfg(tmp_path)
    path = train(cfg, cube=tiny_cube, command="meltwater train --config x.yaml")
    model, meta = load_checkpoint(path)
    assert set(meta.metrics) == {"val", "test"}
    assert 0.0 <= meta.metrics["test"]["mae"] <= 1.0
    assert meta.data["generator_version"] and meta.data["demo_seed"] == 0
    assert len(meta.data["data_hash"]) == 64
    assert meta.training["command"] == "meltwater train --config x.yaml"
    assert [h["epoch"] for h in meta.training["history"]] == [1, 2]
    last = json.loads((tmp_path / "unet_t.run" / "last.json").read_text())
    assert last["state"]["epoch"] == 2

    # resuming a finished run trains nothing more; extending it continues at epoch 3
    cfg3 = _cfg(tmp_path, epochs=3)
    train(cfg3, resume=True, cube=tiny_cube)
    _, meta3 = load_checkpoint(path)
    assert [h["epoch"] for h in meta3.training["history"]] == [1, 2, 3]
    assert meta3.training["history"][:2] == meta.training["history"]


def test_resume_equals_uninterrupted(tiny_cube, tmp_path):
    full = train(_cfg(tmp_path / "a", epochs=2), cube=tiny_cube)
    train(_cfg(tmp_path / "b", epochs=1), cube=tiny_cube)
    resumed = train(_cfg(tmp_path / "b", epochs=2), resume=True, cube=tiny_cube)
    ha = load_checkpoint(full)[1].training["history"]
    hb = load_checkpoint(resumed)[1].training["history"]
    np.testing.assert_allclose(
        [h["train_loss"] for h in ha], [h["train_loss"] for h in hb], rtol=1e-5
    )


def test_config_yaml_rejects_unknown_keys(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("crop: 128\nlearning_rate: 0.1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_yaml(p)
    p.write_text("crop: 128\nepochs: 3\n")
    cfg = TrainConfig.from_yaml(p, epochs=5, out=None)
    assert (cfg.crop, cfg.epochs, cfg.out) == (128, 5, "models/unet_demo")


def test_cli_train_tiny_config(tiny_data_root, tmp_path):
    from meltwater.cli import main

    out = tmp_path / "cli_unet"
    argv = ["train", "--config", "configs/train_tiny.yaml", "--data-root", str(tiny_data_root)]
    assert main([*argv, "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["training"]["command"] == (
        f"meltwater train --config configs/train_tiny.yaml --data-root {tiny_data_root} --out {out}"
    )
    assert main(["train", "--config", str(tmp_path / "missing.yaml")]) != 0

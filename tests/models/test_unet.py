"""Model configs, registry and factory."""

from __future__ import annotations

import pytest
import torch

from meltwater.models.unet import MODEL_CONFIGS, ModelConfig, build_model, get_model_config
from meltwater.schema import CHANNELS


def test_paper_config_matches_design():
    cfg = get_model_config("paper")
    assert cfg.encoder_name == "tu-xception71"
    assert cfg.encoder_depth == 5 and cfg.decoder_use_norm is False
    assert cfg.channels == CHANNELS and cfg.in_channels == 4 and cfg.multiple == 32


def test_unknown_name_lists_registered():
    with pytest.raises(KeyError, match="default.*paper"):
        get_model_config("nope")


def test_yaml_round_trip(tmp_path):
    cfg = MODEL_CONFIGS["default"]
    import yaml

    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(cfg.to_dict()))
    assert get_model_config(str(p)) == cfg
    p.write_text("encoder_name: resnet18\nbogus: 1\n")
    with pytest.raises(ValueError, match="bogus"):
        ModelConfig.from_yaml(p)


def test_config_validation():
    with pytest.raises(ValueError, match="decoder_channels"):
        ModelConfig(encoder_depth=4, decoder_channels=(8, 8, 8))
    with pytest.raises(ValueError, match="classes"):
        ModelConfig(classes=2)


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig("resnet18", 3, (16, 8, 8)),
        ModelConfig("tu-resnet10t", 3, (16, 8, 8), decoder_use_norm=False),
    ],
)
def test_build_model_forward_sigmoid(cfg):
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 4, 32, 64))
    assert y.shape == (2, 1, 32, 64)
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in model.decoder.modules())
    assert has_bn == (cfg.decoder_use_norm == "batchnorm")


def test_build_model_unknown_encoder():
    from meltwater.errors import CheckpointError

    with pytest.raises(CheckpointError, match="not_an_encoder"):
        build_model(ModelConfig("not_an_encoder", 3, (8, 8, 8)))

"""The UNet: a model configuration dataclass, named configurations and the model factory.

A `ModelConfig` describes a segmentation_models_pytorch ``Unet`` (any smp encoder or a timm
encoder spelled ``tu-<name>``) with 4 input channels in the order of
`meltwater.schema.CHANNELS` and one sigmoid output (the melt fraction). Weights are always
initialised randomly here (``encoder_weights=None``): trained weights come from a checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from meltwater.config import check_keys, read_yaml_mapping
from meltwater.errors import CheckpointError, InvalidArgumentError, UnknownNameError
from meltwater.schema import CHANNELS

__all__ = [
    "CHANNELS",
    "MODEL_CONFIGS",
    "ModelConfig",
    "build_model",
    "get_model_config",
    "model_config_names",
]


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a UNet (the arguments of ``smp.Unet``).

    Attributes:
        encoder_name: smp encoder name (``resnet18``) or timm encoder (``tu-xception71``).
        encoder_depth: number of encoder stages (3–5); input sides must divide ``2**depth``.
        decoder_channels: decoder widths, one per encoder stage.
        decoder_use_norm: ``False``, ``True``/``"batchnorm"``, or another smp norm name.
        channels: input channel names, in order.
        classes: output channels (1: the melt fraction).
        activation: output activation (``"sigmoid"``).
    """

    encoder_name: str = "resnet18"
    encoder_depth: int = 5
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16, 8)
    decoder_use_norm: bool | str = "batchnorm"
    channels: tuple[str, ...] = CHANNELS
    classes: int = 1
    activation: str = "sigmoid"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder_channels", tuple(int(c) for c in self.decoder_channels))
        object.__setattr__(self, "channels", tuple(self.channels))
        if not 3 <= self.encoder_depth <= 5:
            raise InvalidArgumentError(
                f"encoder_depth: expected 3, 4 or 5, got {self.encoder_depth}"
            )
        if len(self.decoder_channels) != self.encoder_depth:
            raise InvalidArgumentError(
                f"decoder_channels: expected {self.encoder_depth} values (one per encoder "
                f"stage), got {list(self.decoder_channels)}"
            )
        if self.classes != 1:
            raise InvalidArgumentError(f"classes: expected 1 (melt fraction), got {self.classes}")

    @property
    def in_channels(self) -> int:
        """Number of input channels."""
        return len(self.channels)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (the encoder's total stride)."""
        return 2**self.encoder_depth

    def to_dict(self) -> dict[str, Any]:
        """Plain-type dict (lists, not tuples) for JSON/YAML."""
        d = asdict(self)
        d["decoder_channels"] = list(self.decoder_channels)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "model config") -> ModelConfig:
        """Build from a mapping; unknown keys raise a CatalogError (a ValueError) naming them."""
        check_keys(d, cls, where)
        return cls(**d)

    @classmethod
    def from_yaml(cls, path: Path | str) -> ModelConfig:
        """Load a YAML file holding one model config mapping (``yaml.safe_load``)."""
        return cls.from_dict(
            read_yaml_mapping(path, "model config", empty_ok=False), where=str(path)
        )


MODEL_CONFIGS: dict[str, ModelConfig] = {
    "paper": ModelConfig(
        encoder_name="tu-xception71",
        encoder_depth=5,
        decoder_channels=(256, 128, 64, 32, 16),
        decoder_use_norm=False,
        description="the paper's UNet: Xception-71 encoder, smp default decoder, no batch-norm",
    ),
    "default": ModelConfig(
        encoder_name="tu-resnet10t",
        encoder_depth=4,
        decoder_channels=(128, 64, 32, 16),
        decoder_use_norm="batchnorm",
        description="light CPU model: timm ResNet-10-T encoder, depth 4 (see docs/model.md)",
    ),
    "resnet18": ModelConfig(
        encoder_name="resnet18",
        decoder_channels=(128, 64, 32, 16, 8),
        description="candidate: ResNet-18 encoder, half-width decoder (48 MB of weights)",
    ),
    "resnet10t": ModelConfig(
        encoder_name="tu-resnet10t",
        decoder_channels=(128, 64, 32, 16, 8),
        description="candidate: timm ResNet-10-T encoder, half-width decoder",
    ),
    "efficientnet-b0": ModelConfig(
        encoder_name="efficientnet-b0",
        decoder_channels=(128, 64, 32, 16, 8),
        description="candidate: EfficientNet-B0 encoder, half-width decoder",
    ),
    "mobilenetv3": ModelConfig(
        encoder_name="tu-mobilenetv3_large_100",
        decoder_channels=(128, 64, 32, 16, 8),
        description="candidate: timm MobileNetV3-Large encoder, half-width decoder",
    ),
}


def model_config_names() -> list[str]:
    """Names of the registered model configurations."""
    return sorted(MODEL_CONFIGS)


def get_model_config(name_or_path: str | Path | dict[str, Any]) -> ModelConfig:
    """A registered config by name, a YAML file path, or an inline mapping.

    Raises:
        KeyError: an unknown name; the message lists the registered names.
    """
    if isinstance(name_or_path, dict):
        return ModelConfig.from_dict(name_or_path)
    text = str(name_or_path)
    if text in MODEL_CONFIGS:
        return MODEL_CONFIGS[text]
    if text.endswith((".yaml", ".yml")) and Path(text).is_file():
        return ModelConfig.from_yaml(text)
    raise UnknownNameError(
        f"unknown model config {text!r}: expected one of {model_config_names()} "
        "or the path of a YAML file"
    )


def build_model(cfg: ModelConfig | str):
    """A randomly initialised ``smp.Unet`` for ``cfg`` (a config or a registered name).

    Raises:
        CheckpointError: the encoder name is not known to smp/timm.
    """
    import segmentation_models_pytorch as smp

    if not isinstance(cfg, ModelConfig):
        cfg = get_model_config(cfg)
    try:
        return smp.Unet(
            encoder_name=cfg.encoder_name,
            encoder_depth=cfg.encoder_depth,
            encoder_weights=None,
            decoder_use_norm=cfg.decoder_use_norm,
            decoder_channels=cfg.decoder_channels,
            in_channels=cfg.in_channels,
            classes=cfg.classes,
            activation=cfg.activation,
        )
    except (KeyError, RuntimeError) as e:
        raise CheckpointError(
            f"encoder_name {cfg.encoder_name!r}: not an smp encoder nor a timm 'tu-' encoder ({e})"
        ) from e

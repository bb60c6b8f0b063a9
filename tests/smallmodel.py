"""A model registry with one small random-weight UNet, for tests that need a checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
import xarray as xr
import yaml

from meltwater.data.cube import split_dates
from meltwater.data.preprocess import NormStats
from meltwater.models.checkpoint import CheckpointMeta, save_checkpoint
from meltwater.models.unet import ModelConfig, build_model


def write_small_registry(folder: Path, cube: xr.Dataset, config: ModelConfig) -> Path:
    """``folder/models.yaml`` with the default entry ``small``: ``config`` with seed-0 weights,
    normalised with ``cube``'s training-day stats. Returns ``folder``."""
    torch.manual_seed(0)
    stats = NormStats.compute(cube, split_dates(cube, "train"))
    meta = CheckpointMeta(name="small", model=config.to_dict(), norm_stats=stats.to_dict())
    save_checkpoint(build_model(config).eval(), folder / "small", meta)
    reg = {"default": "small", "models": {"small": {"checkpoint": "small", "description": "t"}}}
    (folder / "models.yaml").write_text(yaml.safe_dump(reg))
    return folder

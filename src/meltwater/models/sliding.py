"""Full-domain sliding-window inference of a (C, H, W) array with any image-to-image model.

Tiles of ``tile`` px every ``stride`` px; the last tile of each axis is shifted back to end at
the domain edge, so any domain size works. ``erode`` px of each tile border are ignored where
they are interior to the domain (the model sees no context there); overlapping tile centres
are averaged and the result is clipped to [0, 1]. Domains smaller than a tile are padded by
reflection up to a multiple of the model's stride and run as one tile. The tiling and the
mosaic live in `meltwater.models.tiles`, which can also run a part of the domain first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from meltwater.errors import InvalidArgumentError
from meltwater.models.tiles import TiledRun, TilePlan, tile_starts, tile_weights

__all__ = ["sliding_window", "tile_starts", "tile_weights"]


def sliding_window(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: np.ndarray,
    *,
    tile: int = 512,
    stride: int = 480,
    erode: int = 16,
    multiple: int = 32,
    batch_size: int = 4,
    device: torch.device | str = "cpu",
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Predict a whole domain tile by tile.

    Args:
        model: maps a (B, C, h, w) float tensor to (B, 1, h, w) (already in eval mode).
        x: (C, H, W) input array.
        tile: tile side (px), a multiple of ``multiple``.
        stride: step between tiles (px).
        erode: border (px) of each tile ignored where it does not touch the domain edge.
        multiple: tile sides of small domains are padded up to a multiple of this.
        batch_size: tiles per forward pass.
        device: where the model runs.
        prepare: optional transform of each input batch (e.g. to channels-last memory format).

    Returns:
        (H, W) float32 array in [0, 1].
    """
    if x.ndim != 3:
        raise InvalidArgumentError(f"x: expected a (C, H, W) array, got shape {x.shape}")
    plan = TilePlan.build(
        x.shape[1], x.shape[2], tile=tile, stride=stride, erode=erode, multiple=multiple
    )
    run = TiledRun(model, x, plan, batch_size=batch_size, device=device, prepare=prepare)
    run.run(range(run.total))
    return run.result()

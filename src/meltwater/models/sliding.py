"""Full-domain sliding-window inference of a (C, H, W) array with any image-to-image model.

Tiles of ``tile`` px every ``stride`` px; the last tile of each axis is shifted back to end at
the domain edge, so any domain size works. ``erode`` px of each tile border are ignored where
they are interior to the domain (the model sees no context there); overlapping tile centres
are averaged and the result is clipped to [0, 1]. Domains smaller than a tile are padded by
reflection up to a multiple of the model's stride and run as one tile.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from meltwater.errors import InvalidArgumentError

__all__ = ["sliding_window", "tile_starts", "tile_weights"]


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def tile_starts(size: int, tile: int, stride: int) -> list[int]:
    """Start offsets along one axis: every ``stride`` px, the last one ending at ``size``.

    Args:
        size: domain length (px), at least ``tile``.
        tile: tile length (px).
        stride: step between tiles (px), at most ``tile``.
    """
    if size < tile:
        raise InvalidArgumentError(f"size {size} < tile {tile}: pad the domain first")
    if not 0 < stride <= tile:
        raise InvalidArgumentError(f"stride: expected 0 < stride <= tile ({tile}), got {stride}")
    starts = list(range(0, size - tile + 1, stride))
    if starts[-1] + tile < size:
        starts.append(size - tile)
    return starts


def tile_weights(start: int, tile: int, size: int, erode: int) -> np.ndarray:
    """1-D weight (0/1) of one tile: ``erode`` px at each end are 0 unless at the domain edge."""
    w = np.ones(tile, dtype=np.float64)
    if erode > 0:
        if start > 0:
            w[:erode] = 0.0
        if start + tile < size:
            w[tile - erode :] = 0.0
    return w


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
    if tile % multiple:
        raise InvalidArgumentError(f"tile: expected a multiple of {multiple}, got {tile}")
    if not 0 <= 2 * erode <= tile - stride:
        raise InvalidArgumentError(
            f"erode: expected 0 <= 2*erode <= tile - stride ({tile - stride}), got {erode}"
        )
    _, h, w = x.shape
    th, tw = min(tile, _round_up(h, multiple)), min(tile, _round_up(w, multiple))
    ph, pw = max(th - h, 0), max(tw - w, 0)
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="symmetric")
    hp, wp = x.shape[1:]
    acc = np.zeros((hp, wp), dtype=np.float64)
    wsum = np.zeros((hp, wp), dtype=np.float64)
    rows = tile_starts(hp, th, min(stride, th))
    cols = tile_starts(wp, tw, min(stride, tw))
    boxes = [(i, j) for i in rows for j in cols]
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    for b in range(0, len(boxes), batch_size):
        chunk = boxes[b : b + batch_size]
        batch = torch.stack([xt[:, i : i + th, j : j + tw] for i, j in chunk]).to(device)
        if prepare is not None:
            batch = prepare(batch)
        with torch.inference_mode():
            out = model(batch)
        probs = out[:, 0].float().cpu().numpy().astype(np.float64)
        for k, (i, j) in enumerate(chunk):
            wt = np.outer(tile_weights(i, th, hp, erode), tile_weights(j, tw, wp, erode))
            acc[i : i + th, j : j + tw] += probs[k] * wt
            wsum[i : i + th, j : j + tw] += wt
    with np.errstate(invalid="ignore", divide="ignore"):
        pred = acc / wsum
    return np.clip(pred[:h, :w], 0.0, 1.0).astype(np.float32)

"""Sliding-window inference run tile by tile: a part of the domain first, the rest later.

`TilePlan` is the tiling `meltwater.models.sliding.sliding_window` uses (tiles of ``tile`` px
every ``stride`` px, ``erode`` px of interior tile borders ignored). `TiledRun` runs any subset
of its tiles and mosaics the tiles run so far in the plan's order, so a pixel whose
contributing tiles have all run holds exactly the whole-domain value (the same tiles, the same
weights, the same sums in the same order); the other pixels are NaN. The dashboard runs the
tiles under the visible window first (`TilePlan.needed`) and the rest in the background.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from meltwater.errors import InvalidArgumentError

if TYPE_CHECKING:  # torch is imported when a run starts (the dashboard imports this module)
    import torch

__all__ = ["Box", "TilePlan", "TiledRun", "tile_starts", "tile_weights"]

Box = tuple[int, int, int, int]  # (row0, row1, col0, col1), half-open, level-0 cells


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


def _used(start: int, tile: int, size: int, erode: int) -> tuple[int, int]:
    """[first, stop) of the cells a tile contributes to (its non-zero weights)."""
    w = tile_weights(start, tile, size, erode)
    nz = np.flatnonzero(w)
    return start + int(nz[0]), start + int(nz[-1]) + 1


@dataclass(frozen=True)
class TilePlan:
    """The tiles of one domain. Build with `TilePlan.build`.

    Attributes:
        height, width: the domain (px).
        th, tw: tile sides (px; smaller than ``tile`` on a small domain, padded up).
        hp, wp: the padded domain.
        rows, cols: tile start offsets along each axis.
        erode: ignored interior border (px).
        multiple: what a model input's sides must be a multiple of (px).
    """

    height: int
    width: int
    th: int
    tw: int
    hp: int
    wp: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    erode: int
    multiple: int = 1

    @classmethod
    def build(
        cls, height: int, width: int, *, tile: int, stride: int, erode: int, multiple: int
    ) -> TilePlan:
        """The tiling of a ``height`` × ``width`` domain (see `sliding_window` for the rules).

        Raises:
            InvalidArgumentError: a tile that is not a multiple of ``multiple``, or an
                ``erode`` that leaves gaps between tiles.
        """
        if tile % multiple:
            raise InvalidArgumentError(f"tile: expected a multiple of {multiple}, got {tile}")
        if not 0 <= 2 * erode <= tile - stride:
            raise InvalidArgumentError(
                f"erode: expected 0 <= 2*erode <= tile - stride ({tile - stride}), got {erode}"
            )
        th, tw = min(tile, _round_up(height, multiple)), min(tile, _round_up(width, multiple))
        hp, wp = max(height, th), max(width, tw)
        rows = tuple(tile_starts(hp, th, min(stride, th)))
        cols = tuple(tile_starts(wp, tw, min(stride, tw)))
        return cls(height, width, th, tw, hp, wp, rows, cols, erode, multiple)

    @property
    def boxes(self) -> list[tuple[int, int]]:
        """(row, col) start of every tile, in the order the mosaic sums them."""
        return [(i, j) for i in self.rows for j in self.cols]

    def weight(self, k: int) -> np.ndarray:
        """(th, tw) weight of tile ``k``."""
        i, j = self.boxes[k]
        return np.outer(
            tile_weights(i, self.th, self.hp, self.erode),
            tile_weights(j, self.tw, self.wp, self.erode),
        )

    def _axis_used(self, axis: int) -> list[tuple[int, int]]:
        starts, tile, size = (
            (self.rows, self.th, self.hp) if axis == 0 else (self.cols, self.tw, self.wp)
        )
        return [_used(s, tile, size, self.erode) for s in starts]

    def around(self, box: Box, margin: int) -> Box | None:
        """``box`` grown by ``margin`` px each side, its sides rounded up to `multiple` and kept
        inside the domain (shifted back from an edge); None where the domain is too small."""
        r0, r1, c0, c1 = box
        out = []
        for a, b, size in ((r0, r1, self.height), (c0, c1, self.width)):
            side = _round_up(min(b + margin, size) - max(a - margin, 0), self.multiple)
            if side > size:
                return None
            start = min(max(a - margin, 0), size - side)
            out += [start, start + side]
        return out[0], out[1], out[2], out[3]

    def needed(self, box: Box) -> list[int]:
        """The tiles that contribute to any cell of ``box`` (all of a cell's tiles)."""
        r0, r1, c0, c1 = box
        ri = [a for a, (u0, u1) in enumerate(self._axis_used(0)) if u0 < r1 and u1 > r0]
        ci = [b for b, (u0, u1) in enumerate(self._axis_used(1)) if u0 < c1 and u1 > c0]
        return [a * len(self.cols) + b for a in ri for b in ci]

    def pending(self, done: Iterable[int]) -> list[Box]:
        """Boxes (cut to the domain) of the cells that still lack a contributing tile."""
        done = set(done)
        out = []
        for rseg, rtiles in self._segments(0):
            for cseg, ctiles in self._segments(1):
                tiles = {a * len(self.cols) + b for a in rtiles for b in ctiles}
                if not tiles <= done:
                    out.append((*rseg, *cseg))
        return out

    def _segments(self, axis: int) -> list[tuple[tuple[int, int], list[int]]]:
        """Stretches of one axis (cut to the domain) covered by the same tiles."""
        used = self._axis_used(axis)
        size = self.height if axis == 0 else self.width
        cuts = sorted({0, size, *(min(c, size) for u in used for c in u)})
        segs = []
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            if b > a:
                segs.append(((a, b), [k for k, (u0, u1) in enumerate(used) if u0 < b and u1 > a]))
        return segs


class TiledRun:
    """One domain's sliding-window inference, run a subset of tiles at a time (thread-safe).

    Args:
        model: maps a (B, C, h, w) float tensor to (B, 1, h, w) (already in eval mode).
        x: (C, H, W) input array, or ``fn(box) -> (C, h, w)`` giving the inputs of a box of
            cells (row0, row1, col0, col1): then only the inputs under the tiles run are read.
        plan: its `TilePlan`.
        batch_size: tiles per forward pass.
        device: where the model runs.
        prepare: optional transform of each input batch (e.g. to channels-last memory format).
    """

    def __init__(
        self,
        model: Callable[[torch.Tensor], torch.Tensor],
        x: np.ndarray | Callable[[Box], np.ndarray],
        plan: TilePlan,
        *,
        batch_size: int = 4,
        device: torch.device | str = "cpu",
        prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.plan = plan
        self._read: Callable[[Box], np.ndarray] | None = None
        self._x: torch.Tensor | None = None
        if callable(x) and (plan.hp, plan.wp) == (plan.height, plan.width):
            self._read = x  # the inputs under each run's tiles, read when they run
        else:
            self._x = self._tensor(x((0, plan.height, 0, plan.width)) if callable(x) else x)
        self._model, self._device, self._prepare = model, device, prepare
        self._batch = max(1, int(batch_size))
        self._tiles: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _tensor(self, x: np.ndarray, box: Box | None = None) -> torch.Tensor:
        """``x`` (the inputs of ``box``, default the whole domain, padded here) as a tensor."""
        import torch

        plan = self.plan
        r0, r1, c0, c1 = box or (0, plan.height, 0, plan.width)
        if x.ndim != 3 or x.shape[1:] != (r1 - r0, c1 - c0):
            raise InvalidArgumentError(
                f"x: expected a (C, {r1 - r0}, {c1 - c0}) array, got shape {x.shape}"
            )
        if box is None and (plan.hp, plan.wp) != (plan.height, plan.width):
            pad = ((0, 0), (0, plan.hp - plan.height), (0, plan.wp - plan.width))
            x = np.pad(x, pad, mode="symmetric")
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))

    @property
    def total(self) -> int:
        """Tiles in the plan."""
        return len(self.plan.boxes)

    @property
    def batch_size(self) -> int:
        """Tiles per forward pass."""
        return self._batch

    @property
    def done(self) -> frozenset[int]:
        """Tiles run so far."""
        return frozenset(self._tiles)

    @property
    def complete(self) -> bool:
        return len(self._tiles) == self.total

    def run(self, tiles: Sequence[int], cancel: threading.Event | None = None) -> int:
        """Run the ``tiles`` not run yet, ``batch_size`` at a time, stopping early once
        ``cancel`` is set. Returns how many tiles ran."""
        todo = [k for k in dict.fromkeys(tiles) if k not in self._tiles]
        if not todo or (cancel is not None and cancel.is_set()):
            return 0
        region = self._region(todo)
        ran = 0
        for b in range(0, len(todo), self._batch):
            if cancel is not None and cancel.is_set():
                break
            with self._lock:  # another thread may have run some of them meanwhile
                chunk = [k for k in todo[b : b + self._batch] if k not in self._tiles]
                if chunk:
                    self._tiles.update(zip(chunk, self._forward(chunk, region), strict=True))
                    ran += len(chunk)
        return ran

    def _region(self, tiles: list[int]) -> tuple[int, int, torch.Tensor]:
        """(row, column, inputs) of the box holding ``tiles`` (`_inputs`)."""
        plan, boxes = self.plan, self.plan.boxes
        starts = [boxes[k] for k in tiles]
        r0, c0 = min(i for i, _ in starts), min(j for _, j in starts)
        r1, c1 = max(i for i, _ in starts) + plan.th, max(j for _, j in starts) + plan.tw
        return self._inputs((r0, r1, c0, c1))

    def _inputs(self, box: Box) -> tuple[int, int, torch.Tensor]:
        """(row, column, inputs) holding ``box``: the whole padded domain when the inputs were
        given, else the box's inputs read now."""
        if self._x is not None:
            return 0, 0, self._x
        assert self._read is not None
        return box[0], box[2], self._tensor(self._read(box), box)

    def _infer(self, batch: torch.Tensor) -> np.ndarray:
        """(B, h, w) model output of a (B, C, h, w) input batch."""
        import torch

        batch = batch.to(self._device)
        if self._prepare is not None:
            batch = self._prepare(batch)
        with torch.inference_mode():
            out = self._model(batch)
        return out[:, 0].float().cpu().numpy()

    def _forward(self, chunk: list[int], region: tuple[int, int, torch.Tensor]) -> list[np.ndarray]:
        import torch

        th, tw, boxes = self.plan.th, self.plan.tw, self.plan.boxes
        r0, c0, x = region
        batch = torch.stack(
            [
                x[:, i - r0 : i - r0 + th, j - c0 : j - c0 + tw]
                for i, j in map(boxes.__getitem__, chunk)
            ]
        )
        probs = self._infer(batch)
        return [probs[k] for k in range(len(chunk))]

    def preview(self, box: Box, margin: int) -> np.ndarray | None:
        """Provisional values of ``box``'s cells from one forward pass over the box grown by
        ``margin`` px (`TilePlan.around`): not part of the mosaic, and equal to it only where
        the model sees no further than ``margin``. None when the domain is too small for it.
        """
        window = self.plan.around(box, margin)
        if window is None:
            return None
        w0, w1, v0, v1 = window
        r, c, x = self._inputs(window)
        out = self._infer(x[None, :, w0 - r : w1 - r, v0 - c : v1 - c])[0]
        r0, r1, c0, c1 = box
        return np.clip(out[r0 - w0 : r1 - w0, c0 - v0 : c1 - v0], 0.0, 1.0)

    def result(self) -> np.ndarray:
        """(H, W) float32 in [0, 1]: the mosaic of the tiles run so far, NaN on the cells that
        still lack a contributing tile (none once `complete`)."""
        plan = self.plan
        acc = np.zeros((plan.hp, plan.wp), dtype=np.float64)
        wsum = np.zeros((plan.hp, plan.wp), dtype=np.float64)
        missing = np.zeros((plan.hp, plan.wp), dtype=bool)
        tiles = dict(self._tiles)  # a snapshot: other threads may add tiles meanwhile
        for k, (i, j) in enumerate(plan.boxes):
            wt = plan.weight(k)
            win = (slice(i, i + plan.th), slice(j, j + plan.tw))
            if k not in tiles:
                missing[win] |= wt > 0
                continue
            acc[win] += tiles[k].astype(np.float64) * wt
            wsum[win] += wt
        with np.errstate(invalid="ignore", divide="ignore"):
            pred = acc / wsum
        pred[missing] = np.nan
        return np.clip(pred[: plan.height, : plan.width], 0.0, 1.0).astype(np.float32)

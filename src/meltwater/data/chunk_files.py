"""Which chunk files a day of a local zarr array needs, and which of them are missing.

Prediction variables are written with every chunk stored, NaN ones included (`write_day`;
marked by ``provenance.CHUNKS_ATTR``), so a day recorded as done whose chunk file is absent
was lost (a partial copy, a deleted file): zarr would read it as its fill value, NaN, and a
map would be silently blank. `meltwater.data.reads` and ``precompute --verify`` ask here.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import zarr

__all__ = ["ChunkFiles"]


class ChunkFiles:
    """The chunk files of one ``(time, y, x)`` array in a local zarr store (read on first use)."""

    def __init__(self, array_dir: Path | str) -> None:
        self.dir = Path(array_dir)
        self._meta = None
        self._found: set[tuple[int, ...]] = set()
        self._lock = threading.Lock()

    def _open(self):
        with self._lock:
            if self._meta is None:
                arr = zarr.open_array(str(self.dir), mode="r")
                self._grid = tuple(arr.shards or arr.chunks)
                self._shape = tuple(arr.shape)
                self._meta = arr.metadata
        return self._meta

    def missing(self, days: np.ndarray, window: tuple = ()) -> list[tuple[int, str]]:
        """``(day index, chunk key)`` of the chunks of ``days`` that cover ``window`` (an int,
        slice or index array per spatial dimension; default everything) and are not stored."""
        meta = self._open()
        window = tuple(window) + (slice(None),) * (len(self._shape) - 1 - len(window))
        spans = [
            np.unique(np.atleast_1d(np.arange(n)[k]) // c)
            for n, c, k in zip(self._shape[1:], self._grid[1:], window, strict=True)
        ]
        out = []
        for t in np.atleast_1d(days):
            for coords in itertools.product([int(t) // self._grid[0]], *map(list, spans)):
                key = tuple(int(c) for c in coords)
                if key in self._found:
                    continue
                name = meta.encode_chunk_key(key)
                if (self.dir / name).is_file():
                    self._found.add(key)
                else:
                    out.append((int(t), name))
        return out

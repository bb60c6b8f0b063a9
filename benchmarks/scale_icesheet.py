"""The dashboard's day-step read on growing grids: demo → release (19×) → ice sheet (~1 600×).

Part of `benchmarks.scale` (``--icesheet``). For each grid, a zarr store laid out as cube
format 2 (`overviews.chunk_shape` chunks, `overviews.overview_factors` levels, float16, three
days of 3 variables) is created with NaN fill. Written, for each day: the whole level that a
full view picks (`choose_level` for the dashboard's 380 × 217 px map) and the level-0 chunks
of a zoomed 380 × 380 px window at one cell per pixel — exactly what the timed reads touch;
every other chunk is never written (the fill value), so the 15 000 × 27 000 px ice sheet
(1.2 GB a day per variable in float16) fits the disk and the time. Timed, as the dashboard
does on a day step: choose the level and window, read the 3 variables' window of the day.
Median and minimum over the 3 days × ``repeats`` (the minimum is what a core free of other work
needs); ratios of the medians against the demo grid.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import zarr

from meltwater.data.overviews import choose_level, chunk_shape, level_group, overview_factors

GRIDS = {  # rows × columns at 100 m
    "demo (384 × 640)": (384, 640),
    "release (1633 × 2863)": (1633, 2863),
    "ice sheet (27 000 × 15 000)": (27_000, 15_000),
}
VARIABLES = ("pmw", "mar_wa1", "sar")
DAYS = 3
FULL_PX, ZOOM_PX = (380, 217), (380, 380)


def _store(root: str, ny: int, nx: int) -> dict[int, list[zarr.Array]]:
    """Factor → the 3 variables' arrays of that level (1: full resolution), all NaN."""
    group = zarr.open_group(root, mode="w")
    levels = {}
    for f in (1, *overview_factors(ny, nx)):
        g = group if f == 1 else group.require_group(level_group(f))
        shape = (DAYS, -(-ny // f), -(-nx // f))
        chunks = (1, *chunk_shape(*shape[1:]))
        levels[f] = [
            g.create_array(v, shape=shape, chunks=chunks, dtype="float16", fill_value=np.nan)
            for v in VARIABLES
        ]
    return levels


def _windows(ny: int, nx: int, factors) -> dict[str, object]:
    xs, ys = 50.0 + 100.0 * np.arange(nx), 50.0 + 100.0 * np.arange(ny)[::-1]
    full = choose_level((0.0, 0.0, 100.0 * nx, 100.0 * ny), FULL_PX, xs, ys, factors)
    cx, cy = 100.0 * (nx // 3), 100.0 * (ny // 3)
    zoom = choose_level((cx, cy, cx + 38_000, cy + 38_000), ZOOM_PX, xs, ys, factors)
    return {"full view": full, "zoomed window": zoom}


def _read(levels, w, day: int) -> None:
    for a in levels[w.factor]:
        a[day, slice(*w.rows), slice(*w.cols)]


def icesheet(repeats: int = 10) -> list[tuple[str, str, int, float, float]]:
    """Rows (grid, view, level factor, median ms, min ms), printed with ratios to the demo."""
    rng = np.random.default_rng(0)
    rows = []
    for label, (ny, nx) in GRIDS.items():
        with tempfile.TemporaryDirectory() as tmp:
            levels = _store(tmp, ny, nx)
            wins = _windows(ny, nx, sorted(f for f in levels if f > 1))
            for w in wins.values():  # write what the reads touch, day by day
                for day in range(DAYS):
                    for a in levels[w.factor]:
                        r, c = slice(*w.rows), slice(*w.cols)
                        shape = (r.stop - r.start, c.stop - c.start)
                        a[day, r, c] = rng.random(shape, dtype=np.float32).astype(np.float16)
            for view, w in wins.items():
                _read(levels, w, 0)
                ms = []
                for _ in range(repeats):
                    for day in range(DAYS):
                        t = time.perf_counter()
                        _read(levels, w, day)
                        ms.append(1000 * (time.perf_counter() - t))
                rows.append((label, view, w.factor, float(np.median(ms)), float(np.min(ms))))
    demo = {view: ms for label, view, _, ms, _ in rows if label.startswith("demo")}
    print("\n| grid | view | level read | 3-variable read, median / min ms | median vs demo |")
    print("|---|---|---:|---:|---:|")
    for label, view, f, ms, low in rows:
        print(f"| {label} | {view} | ×{f} | {ms:.1f} / {low:.1f} | {ms / demo[view]:.2f}× |")
    return rows


if __name__ == "__main__":
    icesheet()

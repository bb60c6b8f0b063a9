"""Cube format 2 on the release grid: spatial chunks + overview levels vs one chunk per day.

Run on the full-size synthetic demo (``meltwater demo --size full --data-root DIR``, one season
of 2863 × 1633 px). In one run, the same GeoTIFF layout is built twice — as the one-chunk-per-day
cube without levels (the naive path, format 1's layout) and as the default cube (1024 × 1024
chunks, levels ×2, ×4, ×8) — and each is given ``pmw_threshold`` predictions on the scrubbed
days. Then, as ratios naive / default:

* cube build, days per second (GeoTIFFs → zarr, levels included);
* one day of 3 variables at full resolution; a zoomed window (a 380 px map at 1 cell per px);
  and what a full-view 380 × 217 px map needs (the naive path reads the full day; the default
  reads level `choose_level` picks);
* the dashboard's server-side day step (Maps tab: prediction, SAR, error; `benchmarks.dashboard`
  method: the whole page in a Bokeh document, the day stepped) p50/p95 on the full grid, wall
  and the stepping thread's CPU (what an idle core would need), back to back and 0.2 s apart
  (the player at 5 days a second: the next day's prefetch has finished);
* a live ablation (the shipped UNet without the DEM on a SAR day) of a zoomed 380 × 380 view
  first — provisionally (`TiledRun.preview`: one pass over the view and a border, what the
  dashboard shows first), then exactly (`UNetPredictor.tiled`: the view's tiles, reading only
  their inputs) — and then of the rest of the domain, against the whole-domain path
  (`UNetPredictor.predict`, what the dashboard ran before it showed anything), with the
  window's |Δ| to that path.
* precompute and evaluate days/s on 1, 2 and 4 dask.distributed workers (a LocalCluster) and
  on the threaded path, on a subset of days (`benchmarks.scale_workers`; ``--scaleout-models
  unet``: the shipped UNet, loaded once per worker; ``--scaleout-workers 1,2`` and
  ``--scaleout-precompute-only`` keep such a run short);
* the dashboard day step's read (level + window) on the demo, release and a whole-ice-sheet
  grid (15 000 × 27 000 px, three days, only the chunks read are written:
  `benchmarks.scale_icesheet`).

Usage: python -m benchmarks.scale --data-root DIR [--frames 30] [--skip-build]
       [--scaleout-days 12] [--scaleout-models pmw_threshold,mar_interp|unet] [--scaleout-only]
       [--scaleout-workers 1,2,4] [--scaleout-precompute-only]
       [--icesheet-only] [--live-only]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube, open_level, update_cube
from meltwater.data.overviews import choose_level
from meltwater.precompute import precompute

from .scale_icesheet import icesheet
from .scale_workers import scaleout

VARIABLES = ("pmw", "mar_wa1", "sar")
PLOT = (380, 217)  # the dashboard's map frame (frame_width 380, data aspect 1) in px
MODEL = "pmw_threshold"
PLAY_PAUSE_S = 0.2  # the player's fastest speed: 5 days a second


def _median_ms(fn, items) -> float:
    out = []
    for it in items:
        t = time.perf_counter()
        fn(it)
        out.append(time.perf_counter() - t)
    return 1000 * float(np.median(out))


def _layouts(root: Path) -> dict[str, Path]:
    """Data roots of the two cubes; the naive one links to the default's GeoTIFF layout."""
    naive = root.with_name(root.name + "-daychunks")
    naive.mkdir(exist_ok=True)
    if not (naive / "demo").exists():
        (naive / "demo").symlink_to((root / "demo").resolve())
    return {"naive": naive, "default": root}


def _build(roots: dict[str, Path], days: int) -> dict[str, float]:
    rates = {}
    for name, root in roots.items():
        source = get_source("demo", data_root=root)
        opts = dict(chunk=0, overviews=False) if name == "naive" else {}
        t = time.perf_counter()
        update_cube(source, overwrite=True, **opts)
        rates[name] = days / (time.perf_counter() - t)
        cube = open_cube(source)
        print(f"{name:8s} build {rates[name]:.2f} days/s, chunks {cube['pmw'].encoding['chunks']}")
    return rates


def _reads(roots: dict[str, Path], n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name, root in roots.items():
        path = get_source("demo", data_root=root).cube_path
        cube = open_cube(path)
        xs, ys = cube.x.values, cube.y.values
        factors = [] if name == "naive" else [2, 4, 8]
        left, right = xs[0] - 50, xs[-1] + 50
        bottom, top = min(ys) - 50, max(ys) + 50
        full = choose_level((left, bottom, right, top), PLOT, xs, ys, factors)
        cx, cy = float(np.median(xs)), float(np.median(ys))
        zoom = choose_level((cx, cy, cx + 38_000, cy + 38_000), (380, 380), xs, ys, factors)
        level = open_level(path, full.factor)
        days = range(10, 10 + n)

        def whole(i, c=cube):
            return [c[v].isel(time=i).values for v in VARIABLES]

        def window(i, c=cube, w=zoom):
            return [c[v].isel(time=i, y=slice(*w.rows), x=slice(*w.cols)).values for v in VARIABLES]

        def screen(i, c=level, w=full):
            return [c[v].isel(time=i, y=slice(*w.rows), x=slice(*w.cols)).values for v in VARIABLES]

        whole(0)
        out[name] = {
            "full resolution": _median_ms(whole, days),
            "zoomed window": _median_ms(window, days),
            "full view (screen level)": _median_ms(screen, days),
        }
        print(f"{name:8s} full view reads level ×{full.factor} window {full.rows} {full.cols}")
    return out


def _chunk_times(tmp: str, data: dict, crop: tuple, side: int, n: int) -> tuple[float, float]:
    """(one day, 380 × 380 window) median ms of ``data`` cropped, stored with ``side`` chunks."""
    import zarr

    arrays = []
    for v, a in data.items():
        a = a[(slice(None), *crop)]
        ny, nx = a.shape[1:]
        chunks = (1, ny, nx) if side == 0 else (1, min(side, ny), min(side, nx))
        z = zarr.create_array(f"{tmp}/{v}", shape=a.shape, chunks=chunks, dtype=a.dtype)
        z[...] = a
        arrays.append(z)
    r0, c0 = arrays[0].shape[1] // 3, arrays[0].shape[2] // 3
    day = _median_ms(lambda i: [z[i] for z in arrays], range(n))
    win = _median_ms(lambda i: [z[i, r0 : r0 + 380, c0 : c0 + 380] for z in arrays], range(n))
    return day, win


def _sweep(path: Path, n: int) -> None:
    """One-day and window read times of 3 variables by chunk side, on the full grid and on a
    crop the size of the default demo (384 × 640): the rule of `overviews.chunk_shape`."""
    import tempfile

    cube = open_cube(path)
    data = {v: cube[v].isel(time=slice(10, 10 + n)).values for v in VARIABLES}
    ny, nx = data[VARIABLES[0]].shape[1:]
    crops = {f"{nx} × {ny}": (slice(None), slice(None))}
    if ny > 384 and nx > 640:  # a crop the size of the default demo
        crops["640 × 384"] = (slice(ny // 3, ny // 3 + 384), slice(nx // 3, nx // 3 + 640))
    print("\nchunk side sweep (median ms, 3 variables):")
    print("| grid | chunk | one day | 380 × 380 window |")
    print("|---|---|---:|---:|")
    for label, crop in crops.items():
        for side in (0, 1024, 512, 256):
            with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
                day, win = _chunk_times(tmp, data, crop, side, n)
            chunk = "whole day" if side == 0 else f"{side}²"
            print(f"| {label} | {chunk} | {day:.1f} | {win:.1f} |")


def _scrub(state, days: range, pause_s: float = 0.0) -> list[tuple[float, float]]:
    """(wall, CPU of this thread) ms per day step, ``pause_s`` apart: the thread CPU leaves out
    the background prefetch of the next day, which `benchmarks.dashboard` counts with the
    process CPU; back to back (0 s apart) the prefetch competes with the step for the GIL."""
    out = []
    for i in days:
        time.sleep(pause_s)
        w, c = time.perf_counter(), time.thread_time()
        state.day = i
        out.append((1000 * (time.perf_counter() - w), 1000 * (time.thread_time() - c)))
    return out


def _step(root: Path, frames: int) -> np.ndarray:
    """p50/p95 of wall and thread-CPU ms of the dashboard's day step on the cube under
    ``root``: back to back, then `PLAY_PAUSE_S` apart (the player's fastest speed)."""
    import holoviews as hv
    from bokeh.document import Document

    from meltwater_dashboard.app import build_app
    from meltwater_dashboard.state import DashboardState
    from meltwater_dashboard.store import Store

    os.environ["MELTWATER_DATA"] = str(root)
    hv.extension("bokeh")
    state = DashboardState(source="demo", store=Store())  # its one model: MODEL
    build_app(state).get_root(Document())
    _scrub(state, range(1, 3))  # datashader's first call compiles
    ms = np.array(_scrub(state, range(3, 3 + frames)))  # (wall, cpu) per step
    paced = np.array(_scrub(state, range(3 + frames, 3 + 2 * frames), PLAY_PAUSE_S))
    # [[wall p50, cpu p50], [wall p95, cpu p95]], back to back then paced
    return np.concatenate([np.percentile(m, [50, 95], axis=0) for m in (ms, paced)])


def _live_ablation(cube_path: Path, repeats: int) -> list[tuple[str, float, float]]:
    """(label, whole-domain path ms, window-first path ms) of a live ablation on the cube: the
    view shown provisionally (one pass, as the dashboard does), then exactly (its tiles), then
    the whole domain."""
    from meltwater.models.inference import UNetPredictor
    from meltwater_dashboard.live_ablation import PREVIEW_MARGIN

    cube = open_cube(cube_path)
    unet = UNetPredictor.from_registry()  # precision auto: measured at load
    day = cube.indexes["time"][np.flatnonzero(cube["has_sar"].values)[len(cube.time) // 40]]
    xs, ys = cube.x.values, cube.y.values
    cx, cy = float(np.median(xs)), float(np.median(ys))
    win = choose_level((cx, cy, cx + 38_000, cy + 38_000), (380, 380), xs, ys, ())
    box, ablate = (*win.rows, *win.cols), ("dem",)
    warm = unet.tiled(cube, day, ablate)
    warm.run(warm.plan.needed(box)[:1])  # kernels set up, as the dashboard's Store.unet does
    t = time.perf_counter()
    whole = unet.predict(cube, day, ablate).values
    whole_ms = 1000 * (time.perf_counter() - t)
    want = whole[slice(*win.rows), slice(*win.cols)]
    shown, first, rest, delta, moved, p99 = [], [], [], 0.0, 0.0, 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        run = unet.tiled(cube, day, ablate)
        provisional = run.preview(box, PREVIEW_MARGIN)
        shown.append(1000 * (time.perf_counter() - t))
        assert provisional is not None
        diff = np.abs(provisional - want)
        moved, p99 = max(moved, float(diff.max())), max(p99, float(np.quantile(diff, 0.99)))
        t = time.perf_counter()
        run.run(run.plan.needed(box))
        first.append(shown[-1] + 1000 * (time.perf_counter() - t))
        got = run.result()[slice(*win.rows), slice(*win.cols)]
        delta = max(delta, float(np.abs(got - want).max()))
        t = time.perf_counter()
        run.run(range(run.total))
        rest.append(1000 * (time.perf_counter() - t))
    needed = len(run.plan.needed(box))
    r0, r1, c0, c1 = run.plan.around(box, PREVIEW_MARGIN) or box
    print(
        f"live ablation on {day:%Y-%m-%d}, path {unet.chosen_precision}: window {box} needs "
        f"{needed} of {run.total} tiles ({run.plan.th} px); the provisional pass covers "
        f"{r1 - r0} × {c1 - c0} px (margin {PREVIEW_MARGIN}); |Δ| to the whole-domain path: "
        f"provisional max {moved:.3f} / p99 {p99:.1e}, exact max {delta:.1e}"
    )
    s, w, r = (float(np.median(v)) for v in (shown, first, rest))
    return [
        ("live ablation, 380 × 380 view shown, provisional (ms)", whole_ms, s),
        ("live ablation, 380 × 380 view exact (ms)", whole_ms, w),
        ("live ablation, whole domain, view first (ms)", whole_ms, w + r),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", required=True, help="where `meltwater demo --size full` wrote")
    p.add_argument("--frames", type=int, default=30, help="day steps timed per cube")
    p.add_argument("--reads", type=int, default=10, help="days read per read timing")
    p.add_argument("--skip-build", action="store_true", help="reuse both cubes (no build timing)")
    p.add_argument("--sweep", action="store_true", help="also time reads by chunk side")
    p.add_argument("--live-repeats", type=int, default=3, help="window-first live ablations")
    p.add_argument("--live-only", action="store_true", help="only the live ablation (no writes)")
    p.add_argument("--scaleout-days", type=int, default=12, help="days per scale-out run")
    p.add_argument(
        "--scaleout-models",
        default="pmw_threshold,mar_interp,linear_dem",
        help="models of the scale-out table (any of meltwater's, e.g. unet: the shipped UNet)",
    )
    p.add_argument("--scaleout-workers", default="1,2,4", help="LocalCluster sizes, e.g. 1,2")
    p.add_argument(
        "--scaleout-precompute-only",
        action="store_true",
        help="time precompute only (evaluating the UNet scores its SAR days live)",
    )
    p.add_argument("--scaleout-only", action="store_true", help="only the scale-out table")
    p.add_argument("--icesheet-only", action="store_true", help="only the ice-sheet table")
    args = p.parse_args()
    loads = [os.getloadavg()[0]]
    if args.live_only:
        source = get_source("demo", data_root=Path(args.data_root).resolve())
        _print_rows(_live_ablation(source.cube_path, args.live_repeats))
        _print_loads(loads)
        return
    if args.icesheet_only:
        icesheet()
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
        return
    scale_models = args.scaleout_models.split(",")
    scale_args = (
        [int(n) for n in args.scaleout_workers.split(",")],
        not args.scaleout_precompute_only,
    )
    if args.scaleout_only:
        source = get_source("demo", data_root=Path(args.data_root).resolve())
        scaleout(source.cube_path, scale_models, args.scaleout_days, *scale_args)
        print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
        return
    roots = _layouts(Path(args.data_root).resolve())
    source = get_source("demo", data_root=roots["default"])
    rates = {}
    if not args.skip_build:
        from meltwater.data.geotiff import open_source

        days = open_source(source).sizes["time"]
        rates = _build(roots, days)
        for root in roots.values():  # predictions of the scrubbed days, levels included
            cube_path = get_source("demo", data_root=root).cube_path
            dates = open_cube(cube_path).indexes["time"][: args.frames + 8]
            precompute(cube_path, [MODEL], (), dates=dates)
        loads.append(os.getloadavg()[0])
    cube = open_cube(source)
    print(f"grid {cube.sizes['y']} × {cube.sizes['x']}, {cube.sizes['time']} days")
    if args.sweep:
        _sweep(source.cube_path, args.reads)
    reads = _reads(roots, args.reads)
    loads.append(os.getloadavg()[0])
    steps = {name: _step(root, args.frames) for name, root in roots.items()}
    loads.append(os.getloadavg()[0])
    live = _live_ablation(source.cube_path, args.live_repeats)
    rows = []
    if rates:
        rows.append(("cube build (days/s, higher is better)", rates["naive"], rates["default"]))
    for what in reads["naive"]:
        rows.append((f"read 3 vars, {what} (ms)", reads["naive"][what], reads["default"][what]))
    for q, pct in enumerate(
        ("p50", "p95", f"p50 {PLAY_PAUSE_S} s apart", f"p95 {PLAY_PAUSE_S} s apart")
    ):
        for k, clock in enumerate(("wall", "thread CPU")):
            label = f"dashboard day step {pct}, {clock} (ms)"
            rows.append((label, steps["naive"][q, k], steps["default"][q, k]))
    _print_rows(rows + live)
    loads.append(os.getloadavg()[0])
    scaleout(source.cube_path, scale_models, args.scaleout_days, *scale_args)
    loads.append(os.getloadavg()[0])
    icesheet()
    _print_loads(loads)


def _print_rows(rows: list[tuple[str, float, float]]) -> None:
    print("\n| measure | naive path | default path | naive / default |")
    print("|---|---:|---:|---:|")
    for label, naive, default in rows:
        print(f"| {label} | {naive:.1f} | {default:.1f} | {naive / default:.2f}× |")


def _print_loads(loads: list[float]) -> None:
    loads.append(os.getloadavg()[0])
    load = ", ".join(f"{x:.1f}" for x in loads)
    print(f"\nload average (1 min) during the run: {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

"""Server-side dashboard timings on a real cube: day scrubbing and a live ablation.

Scrub: the whole page (Maps tab in view: prediction, SAR, error) is rendered into a Bokeh
document, then the day is stepped; each step runs every watcher of the page, datashader regrid
and the Bokeh model updates (what a browser session waits for, minus the network). Compared in
the same run with the naive path: full-resolution ``hv.Image`` panes re-rendered per day, read
straight from the cube, no rasterize and no cache. Live ablation: the UNet on one day without
two channels (the model loaded and run once before, as the served app does in the background).

Analysis tabs (``--views``, issue 17): each tab's first render into a Bokeh document (built
lazily when first shown, as served, on the catalog's cube) and its update on a day step while in
view, over SAR and non-SAR days; the score card needs a results file of `meltwater evaluate`.

Usage: python -m benchmarks.dashboard [--source demo] [--frames 40] [--checkpoint PATH] [--views]
If the cube has no ``pred_<model>`` yet, ``pred_sar_running_mean`` is taken as the cube's
``sar_interp`` (that baseline's definition), so the read cost is the same.
"""

from __future__ import annotations

import argparse
import os
import time

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
from bokeh.document import Document

from meltwater.evaluation.summaries import models_in
from meltwater.schema import pred_var
from meltwater_dashboard.app import build_app
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import PredictFn, Store
from meltwater_dashboard.views.analysis import ANALYSIS_VIEWS
from meltwater_dashboard.views.conservation import season_curve
from meltwater_dashboard.views.regions import summary


def _pcts(ms: list[tuple[float, ...]]) -> str:
    cols = np.array(ms).T
    names = ("wall", "cpu", "own cpu")
    return " | ".join(
        f"{name} p50 {np.percentile(c, 50):6.1f} p95 {np.percentile(c, 95):6.1f} ms"
        for name, c in zip(names, cols, strict=False)
    )


def _timed(fn) -> tuple[float, float, float]:
    """(wall, process CPU, calling thread's CPU) milliseconds of ``fn()``. Process CPU is what an
    idle core would need, background threads that run meanwhile (a live spread, a season read)
    included; the thread's own CPU is the update's alone."""
    w, c, o = time.perf_counter(), time.process_time(), time.thread_time()
    fn()
    return (
        1000 * (time.perf_counter() - w),
        1000 * (time.process_time() - c),
        1000 * (time.thread_time() - o),
    )


def _scrub(state: DashboardState, days: range) -> list[tuple[float, float]]:
    return [_timed(lambda i=i: setattr(state, "day", i)) for i in days]


def _naive(state: DashboardState, frames: int) -> list[float]:
    cube, g = state.cube, state.store.grid(state.source)
    var = pred_var(state.model)

    def images(day: int) -> list[hv.Image]:
        t = state.days[day]
        sar = np.asarray(cube["sar"].sel(time=t).values, np.float32)
        pred = np.asarray(cube[var].sel(time=t).values, np.float32)
        valid = np.asarray(cube["valid"].sel(time=t).values, bool)
        arrays = [pred, sar, np.where(valid, pred - sar, np.nan)]
        return [hv.Image(a, bounds=g.bounds).opts(colorbar=True, tools=["hover"]) for a in arrays]

    panes = [pn.pane.HoloViews(img) for img in images(0)]
    pn.FlexBox(*panes).get_root(Document())

    def step(i: int) -> None:
        for pane, img in zip(panes, images(i), strict=True):
            pane.object = img

    return [_timed(lambda i=i: step(i)) for i in range(1, frames + 1)]


def _checkpoint_predictor(checkpoint: str, cube: xr.Dataset) -> PredictFn:
    from meltwater.models.inference import UNetPredictor

    unet = UNetPredictor.from_checkpoint(checkpoint)
    unet.predict(cube, cube.time.values[0])
    return lambda cube, date, ablate: unet.predict(cube, date, ablate=ablate)


def _ablation(state: DashboardState, checkpoint: str | None) -> None:
    if not checkpoint:  # a given checkpoint was loaded (and timed) before the state
        t = time.perf_counter()
        state.store.unet(state.source)  # what `panel serve` preloads in the background
        print(f"UNet load + first run (once per process): {time.perf_counter() - t:6.2f} s")
    subset = ("pmw", "dem")
    date = state.date_str
    for label in ("live ablation (cold)", "same day again (cached)"):
        wall, cpu, _ = _timed(lambda: state.store.ablated_prediction(state.source, date, subset))
        print(f"{label:28s} wall {wall / 1000:6.3f} s | cpu {cpu / 1000:6.3f} s")
    state.day += 1
    wall, cpu, _ = _timed(lambda: setattr(state, "ablate", ["mar_wa1", "sar_interp"]))
    print(f"{'toggle + 3 maps, next day':28s} wall {wall / 1000:6.3f} s | cpu {cpu / 1000:6.3f} s")


def _views(
    state: DashboardState, frames: int, only: list[str] | None = None, pause_s: float = 0.3
) -> None:
    """First render and day-step update of each analysis tab (the tab in view; ``only``: these
    tabs): steps back to back, then steps ``pause_s`` apart (a user or the player: its
    background reads can finish). The season read of the conservation and regions tabs (a
    background thread) is timed to its end before the steps."""
    sar = np.flatnonzero(state.cube["has_sar"].sel(time=state.days).values)
    start = int(sar[0]) if len(sar) else 0

    def paused(d: int) -> tuple[float, float]:
        time.sleep(pause_s)
        return _timed(lambda: setattr(state, "day", d))

    for name, (_, tab) in ANALYSIS_VIEWS.items():
        if only and name not in only:
            continue
        state.day, state.tab = start, name
        first = _timed(lambda tab=tab: tab(state).get_root(Document()))
        wall, cpu, own = first
        print(
            f"{name}: first render wall {wall:6.0f} ms | cpu {cpu:6.0f} ms | own cpu {own:6.0f} ms"
        )
        background = {
            "conservation": lambda: season_curve(state),
            "regions": lambda: summary(state, state.region),
        }
        if name in background:
            t = time.perf_counter()
            background[name]().result()
            print(f"{name}: season read {time.perf_counter() - t:6.1f} s after the render")
        runs = (("back to back", _scrub), (f"{pause_s:.1f} s apart", lambda s, ds: map(paused, ds)))
        for i, (label, run) in enumerate(runs):
            days = range(start + 1 + i * frames, start + 1 + (i + 1) * frames)
            steps = list(run(state, days))
            on_sar = [t for t, d in zip(steps, days, strict=True) if d in sar]
            print(f"{name}: day step, {label}, all {frames}: {_pcts(steps)}")
            if on_sar:
                print(f"{name}: day step, {label}, {len(on_sar)} SAR days: {_pcts(on_sar)}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default="demo")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--checkpoint", default=None, help="UNet checkpoint (default: the registry's)")
    p.add_argument("--views", action="store_true", help="time the analysis tabs only")
    p.add_argument("--only", nargs="*", help="with --views: these tabs only")
    args = p.parse_args()
    hv.extension("bokeh")
    cube = Store().get_cube(args.source)
    if not models_in(cube):
        cube = cube.assign(pred_sar_running_mean=cube["sar_interp"])
        print("no predictions in the cube: pred_sar_running_mean = sar_interp")
    t = time.perf_counter()
    predictor = _checkpoint_predictor(args.checkpoint, cube) if args.checkpoint else None
    if predictor:
        print(f"checkpoint load + first run: {time.perf_counter() - t:6.2f} s")
    # --views: the catalog's store, as served (season summaries read from beside the cube)
    store = Store() if args.views else Store({args.source: cube}, predictor=predictor)
    state = DashboardState(source=args.source, store=store)
    state.day = 0
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    print(f"source {args.source}: grid {ny} x {nx}, model {state.model}, {args.frames} frames")
    if args.views:
        _views(state, args.frames, args.only)
        return
    t = time.perf_counter()
    build_app(state).get_root(Document())  # the whole page, Maps tab in view
    _scrub(state, range(1, 3))  # first datashader call JIT-compiles (use `panel serve --warm`)
    print(f"render + warm-up (numba JIT) {time.perf_counter() - t:.1f} s")
    cold = _scrub(state, range(3, args.frames + 3))
    warm = _scrub(state, range(3, args.frames + 3))
    state.playing = True
    playing = _scrub(state, range(args.frames + 3, 2 * args.frames + 3))
    state.playing = False
    naive = _naive(state, args.frames)
    print(f"step, 3 maps, new days:               {_pcts(cold)}")
    print(f"step, 3 maps, cached days:            {_pcts(warm)}")
    print(f"playing (prediction map per frame):   {_pcts(playing)}")
    print(f"naive: 3 full-res re-renders, no cache: {_pcts(naive)}")
    cpu = {k: np.median(np.array(v)[:, 1]) for k, v in (("n", naive), ("c", cold), ("p", playing))}
    print(f"naive / step (cpu p50): {cpu['n'] / cpu['c']:.1f}x")
    print(f"naive / playing frame (cpu p50): {cpu['n'] / cpu['p']:.1f}x")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    state.day = int(np.flatnonzero(cube["has_sar"].sel(time=state.days).values)[0])
    print(f"live ablation on {pd.Timestamp(state.date).date()}:")
    try:
        _ablation(state, args.checkpoint)
    except Exception as e:  # report why, keep the scrub numbers
        print(f"  unavailable: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()

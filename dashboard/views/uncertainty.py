"""Uncertainty: where is the UNet unsure, and is it wrong there?

Three maps of the shown day: the UNet's prediction (with the input switches' ablation), its
spread (the std of test-time augmentation members, `meltwater.models.tta`) and, on SAR days,
its absolute error against SAR; beside them the spread-vs-error calibration: the split's curve
from the results file (`meltwater evaluate`: mean |error| per spread bin) and the shown day's
binned points (`meltwater.evaluation.calibration.day_curve`). The spread is the cube's
``unc_unet`` where `meltwater precompute --uncertainty` stored the day (full inputs only); else
it is computed live for the shown day in a background thread (4 members, cached per process)
while the tab shows a loading indicator. Plain Bokeh figures: a day step rewrites image and
point sources.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, LinearColorMapper, Range1d
from bokeh.models.annotations import ColorBar, Title
from bokeh.palettes import Blues256, Magma256, Reds256
from bokeh.plotting import figure

from meltwater.errors import MeltwaterError
from meltwater.evaluation.calibration import SPREAD_EDGES, day_curve
from meltwater.schema import UNET, unc_var
from meltwater_dashboard.escape import markdown_text
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.bokeh_parts import grid_image
from meltwater_dashboard.views.ticks import follow

__all__ = [
    "LIVE_MEMBERS",
    "LiveSpread",
    "Superseded",
    "UncertaintyView",
    "live_spread",
    "superseded",
    "uncertainty_tab",
]

LIVE_MEMBERS = 4  # TTA members of a live spread (the shape-keeping flips and rotation)
LIVE_DAYS = 16  # live spreads kept per process
POLL_MS = 300  # how often a waiting tab looks for its live spread
SETTLE_S = 0.5  # a day shown this long starts its live spread (scrubbed-past days start none)
SPREAD_MAX = 0.3  # top of the spread colour scale (the std of fractions is at most 0.5)

SpreadFn = Callable[[str, str, tuple[str, ...]], np.ndarray]
"""``fn(source, date, ablate) -> spread`` (rows north → south)."""


class Superseded(Exception):
    """Another day was asked for while this one waited to settle: it was not computed."""


def superseded(future: Future) -> bool:
    """Whether ``future`` ended without a spread because another day was asked for."""
    return future.done() and not future.cancelled() and isinstance(future.exception(), Superseded)


class LiveSpread:
    """Spreads computed one at a time in a background thread; the last `LIVE_DAYS` kept.

    A day's computation waits ``settle_s`` first and is dropped (`Superseded`) when another
    day was asked for meanwhile: scrubbing or playing past days starts no UNet run that would
    compete with the day steps for the CPU; the day the user stops on starts ``settle_s`` later.
    """

    def __init__(self, compute: SpreadFn, settle_s: float = SETTLE_S):
        self.compute, self.settle_s = compute, settle_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meltwater-spread")
        self._done: OrderedDict[tuple, Future] = OrderedDict()
        self._lock = threading.Lock()
        self._latest: tuple | None = None

    def get(self, source: str, date: str, ablate: tuple[str, ...]) -> Future:
        """The (maybe running) computation of one day's spread. Days asked for earlier and
        not started yet are dropped: scrubbing or playing queues at most one day."""
        key = (source, date, ablate)
        with self._lock:
            self._latest = key
            if key in self._done and not superseded(self._done[key]):
                self._done.move_to_end(key)
                return self._done[key]
            for old in [k for k, f in self._done.items() if f.cancel() or superseded(f)]:
                del self._done[old]
            future = self._pool.submit(self._settled, key)
            self._done[key] = future
            while len(self._done) > LIVE_DAYS:
                self._done.popitem(last=False)
            return future

    def _settled(self, key: tuple) -> np.ndarray:
        time.sleep(self.settle_s)
        with self._lock:
            if self._latest != key:
                raise Superseded(key)
        return self.compute(*key)


def live_spread(state: DashboardState) -> LiveSpread:
    """The process's `LiveSpread` over the registry's UNet (`Store.unet`)."""
    store = state.store

    def compute(source: str, date: str, ablate: tuple[str, ...]) -> np.ndarray:
        from meltwater.models.tta import tta_predict

        unet = store.unet(source)
        cube = store.get_cube(source)
        spread = tta_predict(unet, cube, pd.Timestamp(date), LIVE_MEMBERS, ablate)[1]
        return spread if store.grid(source).y_descending else spread[::-1]

    return pn.state.as_cached(f"meltwater-live-spread-{id(store)}", lambda: LiveSpread(compute))


def _map(state: DashboardState, palette, high: float, label: str) -> tuple[figure, Any]:
    left, bottom, right, top = state.store.grid(state.source).bounds
    width = 330
    mapper = LinearColorMapper(palette=palette, low=0, high=high, nan_color="#dddddd")
    src = ColumnDataSource({"image": [np.full((1, 1), np.nan, np.float32)]})
    fig = figure(
        width=width + 70,
        height=int(width * (top - bottom) / (right - left)) + 30,
        x_range=Range1d(start=left, end=right),
        y_range=Range1d(start=bottom, end=top),
        tools="pan,wheel_zoom,box_zoom,reset,hover",
        toolbar_location=None,
        tooltips=[(label, "@image{0.000}")],
        title="",
    )
    grid_image(fig, (left, bottom, right, top), src, mapper)
    fig.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
    fig.axis.visible = False
    return fig, src


def _curve_figure() -> figure:
    fig = figure(
        width=420,
        height=300,
        title="Mean |error| vs SAR against the UNet's spread",
        tools="pan,box_zoom,reset,save,hover",
        toolbar_location="right",
        tooltips=[("spread", "@x{0.000}"), ("mean |error|", "@y{0.000}"), ("pixels", "@n")],
        x_range=Range1d(start=0, end=float(SPREAD_EDGES[-1])),
        y_range=Range1d(start=0, end=1),
    )
    fig.xaxis.axis_label = "spread (std of TTA members), bin mean"
    fig.yaxis.axis_label = "mean |prediction − SAR|"
    return fig


def _points(curve: xr.Dataset) -> dict[str, Any]:
    ok = curve["pixels"].values > 0
    return {
        "x": curve["spread"].values[ok],
        "y": curve["mae"].values[ok],
        "n": curve["pixels"].values[ok].astype(int),
    }


class UncertaintyView:
    """Maps, the calibration plot and notes of the tab; `update` follows day and ablation.

    Args:
        state: the dashboard state.
        live: where a spread the cube lacks comes from (default: `live_spread`).
    """

    def __init__(self, state: DashboardState, live: LiveSpread | None = None):
        self.state = state
        self.live = live or live_spread(state)
        self.pred_map, self.pred_src = _map(state, Blues256[::-1], 1.0, "melt fraction")
        self.spread_map, self.spread_src = _map(state, Magma256, SPREAD_MAX, "spread")
        self.error_map, self.error_src = _map(state, Reds256[::-1], 1.0, "|error|")
        self.curve = _curve_figure()
        self.split_src = ColumnDataSource({"x": [], "y": [], "n": []})
        self.day_src = ColumnDataSource({"x": [], "y": [], "n": []})
        self.curve.line(
            [0, 1], [0, 1], color="grey", line_dash="dashed", legend_label="|error| = spread"
        )
        self.curve.line("x", "y", source=self.split_src, color="black", legend_label="split")
        self.curve.scatter("x", "y", source=self.split_src, color="black", size=5)
        self.curve.scatter(
            "x", "y", source=self.day_src, color="#d62728", size=9, legend_label="shown day"
        )
        self.curve.legend.location = "top_left"
        self.spread_pane = pn.pane.Bokeh(self.spread_map)
        self.status = pn.pane.Markdown("", width=900)
        self.day_note = pn.pane.Markdown("", width=420)
        self.split_note = self._split()
        self._timer: Any = None
        self.update()

    def _split(self) -> str:
        res = self.state.store.results(self.state.source)
        if res is None or "calibration_mae" not in res:
            why = "no results file" if res is None else "results without a spread"
            return (
                f"No split curve ({why}): `meltwater precompute --uncertainty 4` stores the "
                "spread, then `meltwater evaluate` bins the errors by it."
            )
        n = int((res["spread_sums"].sel(spread_sum="n").sum("spread_bin") > 0).sum())
        self.split_src.data = _points(
            xr.Dataset(
                {
                    "spread": res["calibration_spread"],
                    "mae": res["calibration_mae"],
                    "pixels": res["calibration_pixels"],
                }
            )
        )
        split = markdown_text(res.attrs.get("split", "test"))
        return f"Black: the {split} split, {n} SAR days pooled (`meltwater evaluate`)."

    def stored(self) -> np.ndarray | None:
        """The cube's spread of the shown day (None: not stored, or the UNet is ablated)."""
        s = self.state
        if s.ablation or unc_var(UNET) not in s.cube:
            return None
        spread = s.layer(unc_var(UNET))
        return spread if np.isfinite(spread).any() else None

    def update(self) -> None:
        """Show the shown day: prediction, spread (stored, or live in the background), error."""
        s = self.state
        self._stop()
        if UNET not in s.models:
            self.status.object = "This cube has no UNet predictions (`meltwater precompute`)."
            return
        name = s.run_name(UNET)
        cast(Title, self.pred_map.title).text = f"{name}, {s.date_str}"
        self.pred_src.data = {"image": [s.prediction(UNET)[::-1]]}
        spread = self.stored()
        if spread is not None:
            self._show(spread, "stored (unc_unet)")
            return
        future = self.live.get(s.source, s.date_str, s.ablation)
        if future.done():
            self._done(future)
            return
        self.spread_pane.loading = True
        self.status.object = (
            f"Computing the spread of {name} on {s.date_str} live ({LIVE_MEMBERS} TTA members)…"
        )
        key = (s.source, s.date_str, s.ablation)

        def poll() -> None:
            if not future.done() or (s.source, s.date_str, s.ablation) != key:
                return
            self._stop()
            if future.cancelled() or superseded(future):  # another day went first: ask again
                self.update()
            else:
                self._done(future)

        self._timer = pn.state.add_periodic_callback(poll, period=POLL_MS)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.spread_pane.loading = False

    def _done(self, future: Future) -> None:
        try:
            spread = future.result()
        except (MeltwaterError, ImportError) as e:
            self.status.object = f"No spread for {self.state.date_str}: {markdown_text(e)}"
            self.spread_src.data = {"image": [np.full((1, 1), np.nan, np.float32)]}
            return
        self._show(spread, f"live, {LIVE_MEMBERS} TTA members")

    def _show(self, spread: np.ndarray, how: str) -> None:
        s = self.state
        land = s.layer("land", date="") > 0
        spread = np.where(land, spread, np.nan).astype(np.float32)
        self.spread_src.data = {"image": [spread[::-1]]}
        cast(Title, self.spread_map.title).text = f"spread, {how}"
        self.status.object = ""
        mean = float(np.nanmean(spread)) if land.any() else float("nan")
        if not s.has_sar:
            self.error_src.data = {"image": [np.full((1, 1), np.nan, np.float32)]}
            cast(Title, self.error_map.title).text = "|error|: no SAR scene this day"
            self.day_src.data = {"x": [], "y": [], "n": []}
            self.day_note.object = f"Mean spread over land {mean:.3f}; no SAR scene to score."
            return
        pred, sar = s.prediction(UNET), s.layer("sar")
        valid = (s.layer("valid") > 0) & np.isfinite(sar)
        error = np.where(valid, np.abs(pred - sar), np.nan).astype(np.float32)
        self.error_src.data = {"image": [error[::-1]]}
        cast(Title, self.error_map.title).text = "|prediction − SAR|"
        curve = day_curve(pred, sar, spread, valid)
        self.day_src.data = _points(curve)
        self.day_note.object = day_summary(curve, mean)


def day_summary(curve: xr.Dataset, mean_spread: float) -> str:
    """One line on the day: mean spread, MAE and the error where the UNet is most unsure."""
    n = curve["pixels"].values
    total = n.sum()
    if total == 0:
        return f"Mean spread over land {mean_spread:.3f}; no valid SAR pixel."
    mae = float(np.nansum(curve["mae"].values * n) / total)
    top = int(np.flatnonzero(n > 0)[-1])
    lo = float(curve["spread_lo"].values[top])
    return (
        f"Mean spread over land {mean_spread:.3f}; MAE {mae:.3f} over {int(total)} valid "
        f"pixels; where spread ≥ {lo:.2f} ({int(n[top])} pixels): mean |error| "
        f"{float(curve['mae'].values[top]):.3f}."
    )


def uncertainty_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with the UNet's spread beside its prediction and its error against SAR."""
    view = UncertaintyView(state)
    follow(state, "tick_uncertainty", view.update)
    intro = (
        "Where is the UNet unsure, and is it wrong there? The spread is the standard deviation "
        "of the UNet's predictions of the same day seen flipped and rotated (test-time "
        "augmentation): large where the answer depends on how the scene is oriented. On SAR "
        "days the error map and the red points test it: a useful spread rises with the error "
        "(points near the dashed line)."
    )
    return pn.Column(
        pn.pane.Markdown(intro, width=1000),
        view.status,
        pn.Row(pn.pane.Bokeh(view.pred_map), view.spread_pane, pn.pane.Bokeh(view.error_map)),
        pn.Row(
            pn.pane.Bokeh(view.curve),
            pn.Column(view.day_note, pn.pane.Markdown(view.split_note, width=420)),
        ),
    )

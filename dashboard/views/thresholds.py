"""Threshold explorer: accuracy, precision, recall and CSI of every model against the threshold.

Solid curves score the shown day (SAR days only), dashed curves the mean over the images of
the evaluation split (`meltwater evaluate`'s ``threshold_counts``); the grey line is the
paper's 0.1, the red one the slider's threshold, which also sets the day's table. The day's
curves follow the day and model through ``tick_thresholds``; the slider moves only its line
and the table.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import xarray as xr

from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.thresholds import SCORES, THRESHOLDS, split_scores, threshold_scores
from meltwater.schema import pred_var
from meltwater_dashboard.escape import markdown_text
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.curves import PALETTE

__all__ = ["DayScores", "split_curves", "threshold_table", "thresholds_tab"]

TITLES = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "csi": "CSI"}
OPTS = dict(frame_width=300, frame_height=190, show_grid=True, xlim=(0.0, 0.95), ylim=(0, 1.02))


class DayScores:
    """The shown day's `threshold_scores` of every model, computed once per day."""

    def __init__(self, state: DashboardState):
        self.state = state
        self._key: tuple | None = None
        self._value: xr.DataArray | None = None

    def __call__(self) -> xr.DataArray | None:
        """``(model, score, threshold)`` of the shown day; None on a day without SAR."""
        s = self.state
        key = (s.source, s.date_str, tuple(s.models))
        if key != self._key:
            self._key, self._value = key, None
            if s.has_sar:
                preds = {m: s.store.frame(s.source, pred_var(m), s.date_str) for m in s.models}
                valid = s.layer("valid").astype(bool)
                self._value = threshold_scores(preds, s.layer("sar"), valid)
        return self._value


def split_curves(state: DashboardState) -> tuple[xr.DataArray | None, str]:
    """Split means ``(model, score, threshold)`` from the results file and a line saying so."""
    res = state.store.results(state.source)
    if res is None or "threshold_counts" not in res:
        why = "no results file" if res is None else "a results file without threshold counts"
        return None, f"Dashed split curves need `meltwater evaluate` ({why} for this source)."
    split = markdown_text(res.attrs.get("split", "test"))
    note = f"Dashed: mean over the {res.sizes['time']} images of the {split} split."
    return split_scores(res["threshold_counts"]), note


def threshold_table(day: xr.DataArray | None, split: xr.DataArray | None, t: float):
    """The scores of the day and of the split at threshold ``t`` (grid value nearest to it)."""
    cols = {}
    for label, da in (("day", day), ("split", split)):
        if da is None:
            continue
        at = da.sel(threshold=t, method="nearest")
        for score in SCORES:
            cols[(label, TITLES[score])] = at.sel(score=score).to_series()
    if not cols:
        return pd.DataFrame()
    return pd.DataFrame(cols).round(3)


def _color(state: DashboardState, model: str) -> str:
    models = state.models
    return PALETTE[models.index(model) % len(PALETTE)] if model in models else "grey"


def _plot(state: DashboardState, score: str, day_scores: DayScores, split, slider) -> hv.Overlay:
    kdim = hv.Dimension("threshold", label="melt threshold")
    vdim = hv.Dimension(score, label=TITLES[score], range=(0, 1))

    def day_curves(tick_thresholds: int) -> hv.Overlay:
        da = day_scores()
        curves = []
        for m in state.models:
            y = da.sel(model=m, score=score).values if da is not None else np.full(18, np.nan)
            width = 3.0 if m == state.model else 1.5
            curves.append(
                hv.Curve((THRESHOLDS, y), kdim, vdim, label=m).opts(
                    color=_color(state, m), line_width=width, tools=["hover"]
                )
            )
        return hv.Overlay(curves)

    dmap = hv.DynamicMap(day_curves, streams=[hv.streams.Params(state, ["tick_thresholds"])])
    layers = dmap * hv.VLine(BINARY_THRESHOLD).opts(color="grey", line_width=1.5)
    if split is not None:
        for m in split.model.values:
            y = split.sel(model=m, score=score).values
            layers = layers * hv.Curve((split.threshold.values, y), kdim, vdim).opts(
                color=_color(state, str(m)), line_dash="dashed", line_width=1.5
            )
    line = hv.DynamicMap(
        lambda value: hv.VLine(value).opts(color="red", line_dash="dotted", line_width=2),
        streams=[hv.streams.Params(slider, ["value"])],
    )
    return (layers * line).opts(
        hv.opts.Curve(**OPTS),
        hv.opts.Overlay(title=TITLES[score], show_legend=score == SCORES[-1]),
    )


def thresholds_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with the four score-vs-threshold plots, the threshold slider and the day's table."""
    day_scores = DayScores(state)
    split, note = split_curves(state)
    slider = pn.widgets.FloatSlider(
        label="Melt threshold (the paper's: 0.1)",
        start=float(THRESHOLDS[0]),
        end=float(THRESHOLDS[-1]),
        step=0.05,
        value=BINARY_THRESHOLD,
        width=320,
    )

    def heading(tick: int, t: float) -> str:
        if not state.has_sar:
            shown = "the split's are shown" if split is not None else "pick a SAR day"
            return f"**{state.date_str}: no SAR scene**, so no day scores ({shown})."
        return f"**Scores of {state.date_str} at threshold {t:.2f}** (both maps binarised at > t)"

    def table(tick: int, t: float) -> pd.DataFrame:
        return threshold_table(day_scores(), split, t)

    plots = [pn.pane.HoloViews(_plot(state, k, day_scores, split, slider)) for k in SCORES]
    return pn.Column(
        pn.pane.Markdown(
            "Melt is where a map exceeds the threshold; accuracy, precision, recall and CSI "
            "(hits / (hits + misses + false alarms)) of every model as the threshold moves. "
            f"Solid: the shown day. {note} Grey: the paper's 0.1; red: the slider.",
            width=900,
        ),
        slider,
        pn.pane.Markdown(pn.bind(heading, state.param.tick_thresholds, slider)),
        pn.pane.DataFrame(pn.bind(table, state.param.tick_thresholds, slider), max_width=900),
        pn.GridBox(*plots, ncols=2),
    )

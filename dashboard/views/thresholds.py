"""Threshold explorer: accuracy, precision, recall and CSI of every model against the threshold.

Solid curves score the shown day (SAR days only), dashed curves the mean over the images of
the evaluation split (`meltwater evaluate`'s ``threshold_counts``); the grey line is the
paper's 0.1, the red one the slider's threshold, which also sets the day's table. The day's
curves follow the day and model through ``tick_thresholds`` by rewriting their Bokeh sources
(no HoloViews re-render); the slider moves only its line and the table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, Range1d
from bokeh.models.annotations import Legend, Span
from bokeh.models.renderers import GlyphRenderer
from bokeh.plotting import figure

from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.thresholds import SCORES, THRESHOLDS, split_scores, threshold_scores
from meltwater.schema import pred_var
from meltwater_dashboard.escape import markdown_text
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.curves import model_color
from meltwater_dashboard.views.ticks import follow

__all__ = [
    "DayScores",
    "ThresholdPlots",
    "split_curves",
    "threshold_table",
    "thresholds_tab",
]

TITLES = {"accuracy": "Accuracy", "precision": "Precision", "recall": "Recall", "csi": "CSI"}
FIGURE: dict[str, Any] = dict(
    width=380,
    height=250,
    tools="pan,box_zoom,reset,save,hover",
    toolbar_location=None,
    tooltips=[("model", "@model"), ("threshold", "@threshold{0.00}"), ("score", "@value{0.000}")],
)


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


class ThresholdPlots:
    """Bokeh figures of the four scores against the threshold, one line per model.

    Built once per tab; a day or model change rewrites only the day lines' data and widths
    (no HoloViews re-render: ~0.3 s per plot on this machine), the slider moves a span.
    """

    def __init__(self, state: DashboardState, day_scores: DayScores, split: xr.DataArray | None):
        self.state, self.day_scores = state, day_scores
        self.figures: dict[str, figure] = {}
        self.sources: dict[tuple[str, str], ColumnDataSource] = {}
        self.lines: dict[tuple[str, str], GlyphRenderer] = {}
        self.spans: list[Span] = []
        self.split_lines: dict[tuple[str, str], GlyphRenderer] = {}
        for score in SCORES:
            fig = figure(
                title=TITLES[score],
                x_range=Range1d(start=0, end=0.95),
                y_range=Range1d(start=0, end=1.02),
                **FIGURE,
            )
            fig.xaxis.axis_label, fig.yaxis.axis_label = "melt threshold", TITLES[score]
            for m in state.models:
                src = ColumnDataSource(self._data(m, None))
                line = fig.line("threshold", "value", source=src, color=model_color(m))
                line.glyph.line_width = 1.5
                self.sources[score, m], self.lines[score, m] = src, line
            if split is not None:
                for m in split.model.values:
                    y = split.sel(model=m, score=score).values
                    self.split_lines[score, str(m)] = fig.line(
                        split.threshold.values,
                        y,
                        color=model_color(str(m)),
                        line_dash="dashed",
                        line_width=1.5,
                    )
            fig.add_layout(
                Span(
                    location=BINARY_THRESHOLD, dimension="height", line_color="grey", line_width=1.5
                )
            )
            span = Span(
                location=BINARY_THRESHOLD,
                dimension="height",
                line_color="red",
                line_dash="dotted",
                line_width=2,
            )
            fig.add_layout(span)
            self.spans.append(span)
            self.figures[score] = fig
        last = self.figures[SCORES[-1]]
        last.width = (last.width or 0) + 150  # room for the legend
        items = [(m, [self.lines[SCORES[-1], m]]) for m in state.models]
        items += [  # models scored over the split only (not in the cube): their dashed line
            (f"{m} (split)", [line])
            for (score, m), line in self.split_lines.items()
            if score == SCORES[-1] and m not in state.models
        ]
        last.add_layout(Legend(items=items), "right")
        self.update()

    @staticmethod
    def _data(model: str, values: np.ndarray | None) -> dict:
        y = np.full(THRESHOLDS.size, np.nan) if values is None else values
        return {"threshold": THRESHOLDS, "value": y, "model": [model] * THRESHOLDS.size}

    def update(self, *_) -> None:
        """Show the current day's scores (NaN lines on a day without SAR), selected model bold.

        Every model's map of the next day is then read in the background (the maps' prefetch
        reads only the shown models).
        """
        day = self.day_scores()
        s = self.state
        if s.day + 1 < len(s.days):
            nxt = s.days[s.day + 1].strftime("%Y-%m-%d")
            s.store.prefetch(s.source, [pred_var(m) for m in s.models] + ["sar", "valid"], nxt)
        for (score, m), src in self.sources.items():
            src.data = self._data(m, None if day is None else day.sel(model=m, score=score).values)
            self.lines[score, m].glyph.line_width = 3.0 if m == self.state.model else 1.5

    def move(self, threshold: float) -> None:
        """Move the slider's line to ``threshold``."""
        for span in self.spans:
            span.location = threshold


def thresholds_tab(state: DashboardState) -> pn.layout.Panel:
    """Tab with the four score-vs-threshold plots, the threshold slider and the day's table."""
    day_scores = DayScores(state)
    split, note = split_curves(state)
    slider = pn.widgets.FloatSlider(
        label="Melt threshold (the paper's: 0.1)",
        start=float(THRESHOLDS[0]),
        end=float(THRESHOLDS[-1]),
        step=0.05,
        value=state.threshold,
        width=320,
    )

    def heading(tick: int, t: float) -> str:
        if not state.has_sar:
            shown = "the split's are shown" if split is not None else "pick a SAR day"
            return f"**{state.date_str}: no SAR scene**, so no day scores ({shown})."
        return f"**Scores of {state.date_str} at threshold {t:.2f}** (both maps binarised at > t)"

    def table(tick: int, t: float) -> pd.DataFrame:
        return threshold_table(day_scores(), split, t)

    plots = ThresholdPlots(state, day_scores, split)
    follow(state, "tick_thresholds", plots.update)
    slider.param.watch(lambda e: plots.move(e.new), "value")
    plots.move(state.threshold)
    # the slider and the state (the shareable link's ``threshold``) follow each other
    slider.param.watch(lambda e: setattr(state, "threshold", e.new), "value")
    state.param.watch(lambda e: setattr(slider, "value", e.new), "threshold")
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
        pn.GridBox(*[pn.pane.Bokeh(f) for f in plots.figures.values()], ncols=2),
    )

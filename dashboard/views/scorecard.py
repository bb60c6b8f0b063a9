"""Score card: model × metric × (month | elevation band) from `meltwater evaluate`'s results file.

Each cell shows the pooled value and its 90 % bootstrap interval over test images; its colour
says how much better (green) or worse (red) than MAR interpolation the model is, scaled per
metric. The selected model's row is bold and, by month, the shown day's month is outlined, so
the card follows the day and model through ``tick_scorecard``; it recomputes nothing.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import xarray as xr

from meltwater.evaluation.scorecard import CARD_METRICS, relative_skill
from meltwater_dashboard.escape import html_text
from meltwater_dashboard.state import DashboardState

__all__ = ["REFERENCE", "card_html", "scorecard_tab"]

REFERENCE = "mar_interp"
GROUPS = {"month": ("card_month", "month"), "elevation band": ("card_elevation", "elev_band")}
MONTH_NAMES = {4: "Apr", 5: "May", 6: "Jun", 7: "Jul", 8: "Aug", 9: "Sep"}
NAMES = {
    "accuracy": "Accuracy",
    "csi": "CSI",
    "precision": "Precision",
    "recall": "Recall",
    "mae": "MAE",
    "rmse": "RMSE",
    "bias": "Bias",
}
CSS = (
    "<style>.mw-card{border-collapse:collapse;margin:0 18px 14px 0;font-size:12px}"
    ".mw-card td,.mw-card th{border:1px solid #ddd;padding:2px 5px;text-align:right}"
    ".mw-card th{background:#f4f4f4}.mw-card .sel{font-weight:bold}"
    ".mw-card .day{outline:2px solid #d62728;outline-offset:-2px}</style>"
)


def _colour(skill: float, scale: float) -> str:
    if not np.isfinite(skill) or scale == 0 or skill == 0:
        return "transparent"
    alpha = 0.12 + 0.6 * min(abs(skill) / scale, 1.0)
    rgb = "44,160,44" if skill > 0 else "214,39,40"
    return f"rgba({rgb},{alpha:.2f})"


def _label(group: str, value) -> str:
    return MONTH_NAMES.get(int(value), str(value)) if group == "month" else f"{value} m"


def card_html(card: xr.DataArray, model: str, month: int | None, reference: str) -> str:
    """Tables (one per metric) of a card ``(model, card_metric, <group>, bound)`` as HTML.

    Args:
        card: ``card_month`` or ``card_elevation`` of a results file.
        model: the row shown in bold.
        month: the month column outlined (None: none).
        reference: the model the colours compare with.
    """
    group = next(str(d) for d in card.dims if d not in ("model", "card_metric", "bound"))
    card = card.transpose("model", "card_metric", group, "bound")
    skill = relative_skill(card.sel(bound="value"), reference).values
    vals = card.values
    models = [str(m) for m in card.model.values]
    metrics = [str(k) for k in card.card_metric.values]
    groups = list(card[group].values)
    head = "".join(f"<th>{html_text(_label(group, g))}</th>" for g in groups)
    out = [CSS, '<div style="display:flex;flex-wrap:wrap">']
    for metric in CARD_METRICS:
        k = metrics.index(metric)
        rel = skill[:, k]
        scale = float(np.nanmax(np.abs(rel))) if np.isfinite(rel).any() else 0.0
        rows = [f"<tr><th>{NAMES[metric]}</th>{head}</tr>"]
        for i, m in enumerate(models):
            cells = []
            for j, g in enumerate(groups):
                v, lo, hi = vals[i, k, j]
                text = "–" if not np.isfinite(v) else f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                cls = ' class="day"' if group == "month" and g == month else ""
                cells.append(f'<td{cls} style="background:{_colour(rel[i, j], scale)}">{text}</td>')
            name = html_text(m) + (" (ref.)" if m == reference else "")
            sel = ' class="sel"' if m == model else ""
            rows.append(f"<tr{sel}><th>{name}</th>{''.join(cells)}</tr>")
        out.append(f'<table class="mw-card">{"".join(rows)}</table>')
    return "".join(out) + "</div>"


def scorecard_tab(state: DashboardState) -> pn.viewable.Viewable:
    """Tab with the month / elevation-band score card of the source's results file."""
    res = state.store.results(state.source)
    if res is None or "card_month" not in res:
        why = "no results file" if res is None else "a results file without score cards"
        return pn.pane.Markdown(
            f"The score card needs `meltwater evaluate` ({why} for this source)."
        )
    models = [str(m) for m in res.model.values]
    reference = REFERENCE if REFERENCE in models else models[0]
    by = pn.widgets.RadioButtonGroup(options=list(GROUPS), value="month")
    split = html_text(res.attrs.get("split", "test"))
    attrs = res["card_month"].attrs

    def render(tick: int, kind: str) -> str:
        var, _ = GROUPS[kind]
        month = int(state.date.month) if kind == "month" else None
        return card_html(res[var], state.model, month, reference)

    intro = (
        f"<p>Scores of the <b>{split}</b> split ({res.sizes['time']} images) pooled over the "
        f"valid pixels of each cell's images; brackets: {100 * float(attrs['level']):.0f} % "
        f"bootstrap interval over images ({int(attrs['n_boot'])} resamples, seed "
        f"{int(attrs['seed'])}). Green: better than <b>{html_text(reference)}</b>, red: "
        "worse (per metric, the deepest colour is the largest difference). Bold: the selected "
        "model; outlined: the shown day's month.</p>"
    )
    return pn.Column(
        pn.pane.HTML(intro, sizing_mode="stretch_width"),
        by,
        pn.pane.HTML(pn.bind(render, state.param.tick_scorecard, by), sizing_mode="stretch_width"),
    )

"""The dashboard's state: one `param.Parameterized` that every view reads and writes (views hold
none); redraws in `meltwater_dashboard.redraw`, the live ablation in `.ablation_session`, the
seasons still being precomputed in `.pending`."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import panel as pn
import param

from meltwater.data.cube import pixel_area_km2
from meltwater.data.overviews import LevelWindow
from meltwater.errors import CubeError, MeltwaterError
from meltwater.evaluation.metrics import BINARY_THRESHOLD
from meltwater.evaluation.scoring import Truth, score_day
from meltwater.evaluation.summaries import models_in
from meltwater.schema import CHANNELS, pred_var, run_name
from meltwater_dashboard.ablation_session import FollowsAblation
from meltwater_dashboard.escape import html_text
from meltwater_dashboard.pending import FollowsPrecompute
from meltwater_dashboard.redraw import ANALYSIS_TABS, Redraws
from meltwater_dashboard.store import Store
from meltwater_dashboard.swipe import Swipe

__all__ = ["CHANNELS", "MONTHS", "MONTH_NAMES", "DashboardState"]

MONTHS = (4, 5, 6, 7, 8, 9)
MONTH_NAMES = {4: "Apr", 5: "May", 6: "Jun", 7: "Jul", 8: "Aug", 9: "Sep"}
NOTICE_REPEAT_S = 10.0  # the same notice is not shown again within this time
NOTICE_BURST = 3  # notices shown at most per NOTICE_REPEAT_S


class DashboardState(FollowsPrecompute, FollowsAblation, Redraws):
    """Selected source, day, models, ablations, tab, pixel; data access for the current view."""

    source: param.Selector[str] = param.Selector(
        objects=[], doc="catalog source whose cube is shown"
    )
    year: param.Selector[int] = param.Selector(objects=[], doc="season shown")
    day = param.Integer(default=0, bounds=(0, None), doc="index of the day within the season")
    model: param.Selector[str] = param.Selector(objects=[], doc="model whose prediction is shown")
    compare = param.Boolean(default=False, doc="show a second model side by side")
    model_b: param.Selector[str] = param.Selector(
        objects=[], doc="second model of the compare mode"
    )
    ablate = param.ListSelector(default=[], objects=list(CHANNELS), doc="UNet inputs switched off")
    tour = param.Integer(default=0, bounds=(0, None), doc="guided-tour step shown (0: none)")
    months = param.ListSelector(default=list(MONTHS), objects=list(MONTHS))
    pixel = param.Tuple(default=None, length=2, allow_None=True, doc="tapped (x, y)")
    region = param.String(default="", doc="Regions tab: a region name or 'x0,y0,x1,y1' (m)")
    threshold = param.Number(
        default=BINARY_THRESHOLD, bounds=(0.05, 0.9), doc="Thresholds tab: the melt threshold"
    )
    hover = param.Tuple(default=None, length=2, allow_None=True, doc="pointer (x, y) on a map")
    view = param.Tuple(
        default=None, length=4, allow_None=True, doc="(x0, y0, x1, y1) the maps show (None: all)"
    )
    map_detail = param.String(default="", doc="the cube level and window the maps read")
    message = param.String(default="", doc="last notification shown to the user")

    def __init__(self, source: str | None = None, store: Store | None = None, **params):
        self.store = store or Store.shared()
        sources = self.store.available_sources()
        if not sources:
            raise CubeError(
                "no analysis cube found: run `meltwater demo` and `meltwater cube` "
                "(and `meltwater precompute` for predictions) first"
            )
        self.param.source.objects = sources
        self._notices: dict[str, float] = {}
        self._ablate_ok: list[str] = []  # the last accepted ablation (a refused one reverts)
        self._last_model = ""
        self.swipe = Swipe()  # the swipe comparison's layers and divider
        super().__init__(source=source or sources[0])
        self._load_source()
        self.param.update(**params)
        self.maps_date = self.date_str
        self.check_pending()

    # ----- derived values
    @property
    def cube(self):
        return self.store.get_cube(self.source)

    @property
    def times(self) -> pd.DatetimeIndex:
        """Every day of the cube."""
        return self.store.times(self.source)

    @property
    def days(self) -> pd.DatetimeIndex:
        """The season days of the selected year."""
        return self.store.season_days(self.source, int(self.year))

    @property
    def date(self) -> pd.Timestamp:
        return self.days[self.day]

    @property
    def date_str(self) -> str:
        return self.store.season_day_labels(self.source, int(self.year))[self.day]

    @property
    def has_sar(self) -> bool:
        return self.date in self.store.sar_days(self.source)

    @property
    def maps_has_sar(self) -> bool:
        """Whether the day of the maps held while playing (`maps_date`) has a SAR scene."""
        return pd.Timestamp(self.maps_date) in self.store.sar_days(self.source)

    @property
    def ablation(self) -> tuple[str, ...]:
        """Switched-off channels in the canonical channel order."""
        return tuple(c for c in CHANNELS if c in self.ablate)

    @property
    def models(self) -> list[str]:
        return list(self.param.model.objects)

    @property
    def shown_models(self) -> list[str]:
        return [self.model, self.model_b] if self.compare else [self.model]

    def run_name(self, model: str | None = None) -> str:
        """``model`` as shown, with the ablation for the UNet (``unet_no_dem``)."""
        model = model or self.model
        return run_name(model, self.ablation if model == "unet" else ())

    # ----- data of the current day (rows north → south)
    def prediction(
        self,
        model: str | None = None,
        window: LevelWindow | None = None,
        date: str | None = None,
    ) -> np.ndarray:
        """Prediction of ``model`` (default: the selected one; the UNet with the ablation) on
        ``date`` (default: the shown day), NaN over the ocean; the whole grid, or the level
        window ``window`` (`Store.window`)."""
        model = model or self.model
        date = date or self.date_str
        if model == "unet" and self.ablation:
            ablation = self.ablation
            if window is None:
                pred = self.store.ablated_prediction(self.source, date, ablation)
            else:
                pred = self.store.ablated_window(self.source, date, ablation, window)
        else:
            pred = self._read(pred_var(model), date, window)
        return np.where(self._read("land", "", window) > 0, pred, np.float32(np.nan))

    def _read(self, var: str, date: str, window: LevelWindow | None) -> np.ndarray:
        """One day of ``var`` (the whole grid, or a level window). A day that cannot be read (a
        damaged chunk, a mixed prediction variable) is reported as a notice naming variable,
        day and store, and shows as no data (NaN; no valid pixel) instead of stopping the page.
        """
        try:
            if window is None:
                return self.store.frame(self.source, var, date)
            return self.store.window(self.source, var, date, window)
        except MeltwaterError as e:
            self.notify(f"{date or 'static map'}: {e}", "error")
            if window is None:
                g = self.store.grid(self.source)
                shape = (len(g.ys), len(g.xs))
            else:
                shape = (window.rows[1] - window.rows[0], window.cols[1] - window.cols[0])
            return np.full(shape, 0 if var == "valid" else np.nan, dtype=np.float32)

    def difference(self, window: LevelWindow | None = None) -> np.ndarray:
        """Prediction of `model` − prediction of `model_b` (NaN over the ocean)."""
        return self.prediction(self.model, window) - self.prediction(self.model_b, window)

    def layer(
        self, var: str, window: LevelWindow | None = None, date: str | None = None
    ) -> np.ndarray:
        """``var`` on ``date`` (default: the shown day): the whole grid, or the level window
        ``window``."""
        return self._read(var, date or self.date_str, window)

    def error(self, model: str | None = None, window: LevelWindow | None = None) -> np.ndarray:
        """prediction − SAR on valid pixels, NaN elsewhere (all NaN on days without SAR)."""
        valid = self.layer("valid", window).astype(bool)
        return np.where(valid, self.prediction(model, window) - self.layer("sar", window), np.nan)

    def day_metrics(self) -> pd.DataFrame:
        """The day's MAE, bias, accuracy vs SAR and melt area of each shown prediction."""
        sar = self.layer("sar")
        truth = Truth(sar, self.layer("valid").astype(bool) & np.isfinite(sar))
        land = self.store.frame(self.source, "land", "").astype(bool)
        area = pixel_area_km2(self.cube)
        rows = {}
        with_unet = ["unet"] if self.ablation and "unet" in self.models else []
        names = list(dict.fromkeys(self.shown_models + with_unet))
        for m in names:
            preds = {m: self.store.frame(self.source, pred_var(m), self.date_str)}
            if m == "unet" and self.ablation and self.ablation_ready:
                preds[self.run_name("unet")] = self.prediction("unet")
            for label, p in preds.items():
                s = score_day(p, truth, land, area)
                rows[label] = {
                    "MAE": s["mae"],
                    "bias": s["bias"],
                    "accuracy": s["accuracy"],
                    "melt area km²": s["melt_area_km2"],
                }
        return pd.DataFrame.from_dict(rows, orient="index")

    # ----- actions
    def notify(self, msg: str, level: str = "warning") -> None:
        """Tell the user (toast when served, as escaped text) and keep the text in `message`.

        The same message is not repeated within `NOTICE_REPEAT_S`, and at most
        `NOTICE_BURST` toasts are shown per `NOTICE_REPEAT_S` window.
        """
        self.message = msg
        now = time.monotonic()
        recent = {m: t for m, t in self._notices.items() if now - t < NOTICE_REPEAT_S}
        self._notices = recent
        if msg in recent or len(recent) >= NOTICE_BURST:
            return
        self._notices[msg] = now
        toast = html_text(msg, limit=300)

        def show() -> None:
            if pn.state.notifications is not None:
                getattr(pn.state.notifications, level)(toast, duration=5000)

        pn.state.onload(show)  # at once, or when the page has loaded (toasts need the page)

    def jump_to(self, when) -> None:
        """Select the day of the cube nearest to ``when`` (a date or epoch milliseconds)."""
        if when is None:
            return
        t = pd.Timestamp(when, unit="ms") if isinstance(when, int | float) else pd.Timestamp(when)
        times = self.times
        nearest = times[int(np.abs((times - t.tz_localize(None)).total_seconds()).argmin())]
        days = self.store.season_days(self.source, int(nearest.year))
        self.param.day.bounds = (0, max(len(days) - 1, self.day))  # the new season may be longer
        with param.parameterized.batch_call_watchers(self):
            self.year = int(nearest.year)
            self.day = int(np.flatnonzero(days == nearest)[0])

    # ----- watchers
    def _load_source(self) -> None:
        cube = self.cube
        years = sorted({int(y) for y in self.times.year})
        models = models_in(cube)
        if not models:
            raise CubeError(
                f"cube of source {self.source!r} has no pred_* (model prediction) variables: "
                "run `meltwater precompute` first"
            )
        self.param.year.objects = years
        self.param.model.objects = models
        self.param.model_b.objects = models[1:] or models
        self.swipe.set_layers(models)
        self.param.update(
            year=years[-1] if self.year not in years else self.year,
            day=0,
            model=models[0],
            model_b=models[1] if len(models) > 1 else models[0],
            compare=self.compare and len(models) > 1,
            pixel=None,
        )
        self.param.day.bounds = (0, len(self.days) - 1)
        self._loaded = self.source

    @param.depends("source", watch=True)
    def _on_source(self) -> None:
        try:
            self._load_source()
        except MeltwaterError as e:
            self.notify(f"source {self.source!r} unavailable: {e}", "error")
            self.source = self._loaded
            return
        self.check_pending()
        self._refresh()

    @param.depends("year", watch=True)
    def _on_year(self) -> None:
        self.param.day.bounds = (0, len(self.days) - 1)
        self.day = min(self.day, len(self.days) - 1)
        self._refresh(("errors",))  # the per-pixel errors are over the season

    @param.depends("ablate", watch=True)
    def _on_ablate(self) -> None:
        if self.ablation and self.ablation_error:
            self.ablate = []
            return
        if len(self.ablation) == len(CHANNELS):
            self.notify("at least one UNet input must stay on")
            self.ablate = list(self._ablate_ok)
            return
        if self.ablation and "unet" not in self.models:
            self.notify("ablation needs the UNet's predictions in the cube (meltwater precompute)")
            self.ablate = []
            return
        if self.ablation and not self._compute_ablation():
            self.ablate = []
            return
        if not self.ablation:
            self._follow(None)
        self._ablate_ok = list(self.ablate)
        self._refresh(("maps", "curves", "uncertainty"))

    @param.depends("day", "year", watch=True)
    def _on_day(self) -> None:
        if self.ablation and not self._compute_ablation():
            self.ablate = []
        if self.day + 1 < len(self.days):  # the next day is read while this one is looked at
            nxt = self.days[self.day + 1].strftime("%Y-%m-%d")
            rest = [] if self.playing else ["sar", "valid"]
            self.store.prefetch(self.source, [pred_var(m) for m in self.shown_models] + rest, nxt)
        self.check_pending()
        self._refresh(("maps", "inputs", "curves", "series", *ANALYSIS_TABS))

    @param.depends("model", "model_b", "compare", watch=True)
    def _on_model(self) -> None:
        if self._fix_model_b():
            return  # the fix changed a parameter, whose own call refreshed the views
        self._refresh(("maps", "errors", "curves", "series", *ANALYSIS_TABS))

    def _fix_model_b(self) -> bool:
        """Keep the second model distinct from the first; True when a parameter was changed."""
        others = [m for m in self.models if m != self.model]
        self.param.model_b.objects = others or [self.model]
        if self.compare and not others:
            self.notify("compare needs a second model in the cube (meltwater precompute)")
            self.compare = False
            return True
        if others and self.model_b not in others:  # the two swap when possible
            self.model_b = self._last_model if self._last_model in others else others[0]
            return True
        self._last_model = self.model
        return False

    @param.depends("pixel", watch=True)
    def _on_pixel(self) -> None:
        self._refresh(("series",))

    @param.depends("months", watch=True)
    def _on_months(self) -> None:
        self._refresh(("errors",))

    @param.depends("view", watch=True)
    def _on_view(self) -> None:
        box = self._view_box()
        if self._job is not None and box is not None:
            self._job.refocus(box)

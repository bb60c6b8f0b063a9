"""Season animations: the shown prediction map, or a side-by-side pair (the model and SAR, or
the two compared models), over a range of days as GIF or MP4, rendered on the server.

Frames are drawn like the Map PNG (`export.map_figure`: hillshade, colour bar, title) with the
day stamped in the top-left corner; one figure is drawn per animation and only the map values
and the stamp change between frames. imageio encodes them (Pillow for GIF, imageio-ffmpeg for
MP4).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pandas as pd
import panel as pn
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from meltwater.errors import InvalidArgumentError
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.maps import STYLES, palette

__all__ = [
    "FORMATS",
    "Pane",
    "animation_bytes",
    "animation_days",
    "animation_name",
    "animation_panel",
    "encode",
    "panes",
    "render_frames",
]

FORMATS = ("gif", "mp4")
FPS = 6
PANE_WIDTH_PX = 640  # one map; a pair is two of them side by side
DPI = 100
MACRO_BLOCK = 16  # frame sizes are multiples of this (MP4 encoders want it)
STEPS = {"every day": 1, "every 2nd day": 2, "every 3rd day": 3, "weekly": 7}


@dataclass(frozen=True)
class Pane:
    """One map of an animation: its style (a `maps.STYLES` key), title, values of a day and a
    note of a day stamped beside the date (e.g. that SAR has no scene)."""

    key: str
    title: str
    values: Callable[[str], np.ndarray]
    note: Callable[[str], str] | None = None


def panes(state: DashboardState, pair: bool) -> list[Pane]:
    """The selected model's prediction; with ``pair`` also the second model (compare mode) or
    SAR beside it."""
    first = Pane("pred", f"Prediction {state.run_name()}", lambda d: state.prediction(date=d))
    if not pair:
        return [first]
    if state.compare:
        b = state.model_b
        return [
            first,
            Pane("pred", f"Prediction {state.run_name(b)}", lambda d: state.prediction(b, date=d)),
        ]
    scenes = state.store.sar_days(state.source)

    def no_scene(day: str) -> str:
        return "" if pd.Timestamp(day) in scenes else "no SAR scene"

    return [first, Pane("sar", "SAR observation", lambda d: state.layer("sar", date=d), no_scene)]


def animation_days(
    state: DashboardState,
    start: object = None,
    end: object = None,
    step: int = 1,
) -> list[str]:
    """``YYYY-MM-DD`` of every ``step``-th season day of the shown year from ``start`` to
    ``end`` (inclusive; default: the whole season).

    Raises:
        InvalidArgumentError: ``step`` below 1, or no season day in the range.
    """
    if step < 1:
        raise InvalidArgumentError(f"step must be at least 1 day, got {step}")
    days = state.days
    lo = pd.Timestamp(start) if start is not None else days[0]
    hi = pd.Timestamp(end) if end is not None else days[-1]
    chosen = days[(days >= lo.normalize()) & (days <= hi.normalize())][::step]
    if not len(chosen):
        raise InvalidArgumentError(
            f"start/end: no day of season {state.year} between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}"
        )
    return [d.strftime("%Y-%m-%d") for d in chosen]


def _frame_size(n_panes: int, aspect: float) -> tuple[int, int]:
    """(width, height) in pixels, multiples of `MACRO_BLOCK`, for ``n_panes`` maps of
    height/width ``aspect``."""
    width = PANE_WIDTH_PX * n_panes
    height = int(0.8 * PANE_WIDTH_PX * aspect) + 90  # the map beside its colour bar, titles
    return width, -(-height // MACRO_BLOCK) * MACRO_BLOCK


def render_frames(
    state: DashboardState,
    maps: Sequence[Pane],
    days: Sequence[str],
    title: str,
    progress: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """RGB frames (height, width, 3) of ``maps`` on each of ``days`` with ``title`` on top and
    the day stamped in the top-left corner; ``progress(i)`` is called after frame i."""
    g = state.store.grid(state.source)
    left, bottom, right, top = g.bounds
    extent = (left, right, bottom, top)  # rows run north → south, as imshow draws them
    width, height = _frame_size(len(maps), (top - bottom) / (right - left))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    shade = state.store.hillshade(state.source)
    images = []
    for i, pane in enumerate(maps):
        _, unit, _, clim = STYLES[pane.key]
        ax = fig.add_subplot(1, len(maps), i + 1)
        ax.imshow(shade, cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="nearest")
        cmap = ListedColormap(palette(pane.key, min_alpha=0.0))
        img = ax.imshow(
            np.full(shade.shape, np.nan), cmap=cmap, vmin=clim[0], vmax=clim[1], animated=True
        )
        img.set_extent(extent)
        fig.colorbar(img, ax=ax, label=unit, shrink=0.8)
        ax.set_title(_text(pane.title), fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
        images.append(img)
    fig.suptitle(_text(title), fontsize=12, x=0.6)
    stamp = fig.text(0.01, 0.99, days[0] if days else "", ha="left", va="top", fontsize=15)
    stamp.set(fontweight="bold", family="monospace", animated=True)
    stamp.set_bbox({"facecolor": "white", "edgecolor": "black", "boxstyle": "round"})
    canvas.draw()  # everything but the maps and the stamp, laid out once
    background = canvas.copy_from_bbox(fig.bbox)
    for n, day in enumerate(days):
        canvas.restore_region(background)
        for pane, img in zip(maps, images, strict=True):
            img.set_data(pane.values(day))
            fig.draw_artist(img)
        notes = [p.note(day) for p in maps if p.note is not None]
        stamp.set_text("  ".join([day, *filter(None, notes)]))
        fig.draw_artist(stamp)
        yield np.asarray(canvas.buffer_rgba())[..., :3].copy()
        if progress is not None:
            progress(n + 1)


def _text(value: str) -> str:
    return value.replace("$", r"\$")  # names as text, never matplotlib mathtext


def encode(frames: Iterable[np.ndarray], fmt: str, fps: int = FPS) -> bytes:
    """``frames`` encoded as a looping GIF or an H.264 MP4 of ``fps`` frames a second.

    Raises:
        InvalidArgumentError: ``fmt`` is not one of `FORMATS`.
    """
    if fmt not in FORMATS:
        raise InvalidArgumentError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    with tempfile.TemporaryDirectory(prefix="meltwater-anim-") as tmp:
        path = Path(tmp) / f"animation.{fmt}"
        if fmt == "gif":
            writer = imageio.get_writer(path, mode="I", duration=1000 / fps, loop=0)
        else:
            writer = imageio.get_writer(
                path, format="FFMPEG", mode="I", fps=fps, macro_block_size=MACRO_BLOCK
            )
        with writer:
            for frame in frames:
                writer.append_data(frame)
        return path.read_bytes()


def animation_bytes(
    state: DashboardState,
    fmt: str,
    pair: bool = False,
    days: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The animation file of `panes` over ``days`` (default: the whole shown season)."""
    days = list(days) if days is not None else animation_days(state)
    maps = panes(state, pair)
    title = f"{state.source}: {days[0]} to {days[-1]}"
    return encode(render_frames(state, maps, days, title, progress), fmt)


def animation_name(state: DashboardState, fmt: str, pair: bool, days: Sequence[str]) -> str:
    """``meltwater_<source>_<models as run>[_sar]_<first day>_<last day>.<fmt>``."""
    shown = [state.run_name(m) for m in (state.shown_models if pair else [state.model])]
    if pair and not state.compare:
        shown.append("sar")
    return f"meltwater_{state.source}_{'_'.join(shown)}_{days[0]}_{days[-1]}.{fmt}"


def animation_panel(state: DashboardState) -> pn.Column:
    """Format, maps, day range and step of an animation, a download button that renders it and a
    progress bar that follows the frames."""
    w = pn.widgets
    fmt = w.RadioButtonGroup(options={"GIF": "gif", "MP4": "mp4"}, value="gif", width=110)
    pair = w.Checkbox(label="side by side (SAR or the compared model)", value=False)
    step = w.Select(options=STEPS, value=1, width=130, margin=(5, 10))
    days = state.days
    span = w.DateRangeSlider(
        label="Days",
        start=days[0],
        end=days[-1],
        value=(days[0], days[-1]),
        step=1,
        sizing_mode="stretch_width",
    )
    bar = pn.indicators.Progress(value=0, max=1, visible=False, sizing_mode="stretch_width")

    def chosen() -> list[str]:
        return animation_days(state, span.value[0], span.value[1], int(step.value))

    def name() -> str:
        try:
            return animation_name(state, fmt.value, pair.value, chosen())
        except InvalidArgumentError:  # no season day in the range: the button is disabled
            return f"meltwater_{state.source}_animation.{fmt.value}"

    def show(n: int) -> None:
        with pn.io.unlocked():  # sent at once, while the frames are drawn
            bar.value = n

    def build() -> io.BytesIO:
        picked = chosen()
        with pn.io.unlocked():
            bar.param.update(max=len(picked), value=0, visible=True)
        try:
            data = animation_bytes(state, fmt.value, pair.value, picked, show)
        finally:
            bar.visible = False
        return io.BytesIO(data)

    download = w.FileDownload(
        callback=build, filename=name(), label="Animation", color="light", embed=False
    )

    def rename(*_) -> None:
        download.filename = name()
        try:
            chosen()
            download.disabled = False
        except InvalidArgumentError:
            download.disabled = True

    def on_season(*_) -> None:
        d = state.days
        span.param.update(start=d[0], end=d[-1], value=(d[0], d[-1]))

    state.param.watch(on_season, ["year", "source"])
    state.param.watch(rename, ["year", "model", "model_b", "compare", "source", "ablate"])
    for widget, attr in ((fmt, "value"), (pair, "value"), (step, "value"), (span, "value")):
        widget.param.watch(rename, attr)
    return pn.Column(pn.Row(fmt, step), pair, span, download, bar, sizing_mode="stretch_width")

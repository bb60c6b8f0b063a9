"""Downloads: PNG of the shown prediction map (rendered server-side) and CSVs of the curves and
the tapped pixel."""

from __future__ import annotations

import io

import pandas as pd
import panel as pn
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.curves import summary_frame
from meltwater_dashboard.views.maps import STYLES, palette
from meltwater_dashboard.views.pixel_errors import pixel_frame

__all__ = [
    "export_panel",
    "map_figure",
    "map_png",
    "pixel_csv_name",
    "pixel_table",
    "png_name",
    "to_csv",
]

FIGURE_WIDTH_IN = 8.0


def map_figure(state: DashboardState) -> Figure:
    """The shown prediction over the hillshade with a colour bar and a title naming the model
    (as run: ``unet_no_dem``), the day and the source; dry pixels are transparent."""
    _, unit, _, clim = STYLES["pred"]
    g = state.store.grid(state.source)
    left, bottom, right, top = g.bounds
    extent = (left, right, bottom, top)  # rows run north → south, as imshow draws them
    height = FIGURE_WIDTH_IN * (top - bottom) / (right - left) + 1.2
    fig = Figure(figsize=(FIGURE_WIDTH_IN, height), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    shade = state.store.hillshade(state.source)
    ax.imshow(shade, cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="nearest")
    cmap = ListedColormap(palette("pred", min_alpha=0.0))
    img = ax.imshow(state.prediction(), cmap=cmap, vmin=clim[0], vmax=clim[1], extent=extent)
    fig.colorbar(img, ax=ax, label=f"predicted {unit}", shrink=0.8)
    title = f"{state.run_name()} — {state.date_str} — {state.source}"
    ax.set_title(title.replace("$", r"\$"))  # names as text, never matplotlib mathtext
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.ticklabel_format(style="plain", useOffset=False)
    return fig


def map_png(state: DashboardState) -> bytes:
    """PNG bytes of `map_figure`."""
    out = io.BytesIO()
    map_figure(state).savefig(out, format="png")
    return out.getvalue()


def png_name(state: DashboardState) -> str:
    """``meltwater_<source>_<model as run>_<date>.png``."""
    return f"meltwater_{state.source}_{state.run_name()}_{state.date_str}.png"


def pixel_table(state: DashboardState) -> pd.DataFrame | None:
    """`pixel_frame` with the pixel's x, y (m, the cube's CRS) and lat, lon columns in front."""
    df = pixel_frame(state)
    if df is None:
        return None
    x, y = df.attrs["x"], df.attrs["y"]
    coords = {"x_m": x, "y_m": y}
    ll = state.store.grid(state.source).lonlat(x, y)
    if ll is not None:
        coords.update(lat=ll[1], lon=ll[0])
    return pd.concat([pd.DataFrame(coords, index=df.index), df], axis=1)


def pixel_csv_name(state: DashboardState) -> str:
    """``meltwater_<source>_pixel_x<x>_y<y>_<first day>_<last day>.csv`` of the tapped pixel."""
    df = pixel_frame(state)
    if df is None:
        return f"meltwater_{state.source}_pixel_none.csv"
    days = f"{df.index[0]:%Y-%m-%d}_{df.index[-1]:%Y-%m-%d}"
    return f"meltwater_{state.source}_pixel_x{df.attrs['x']:.0f}_y{df.attrs['y']:.0f}_{days}.csv"


def to_csv(df: pd.DataFrame | None) -> io.StringIO:
    """A CSV buffer of a data frame (None → a one-line note)."""
    buf = io.StringIO()
    if df is None:
        buf.write("no pixel selected: tap a map first\n")
    else:
        df.to_csv(buf, float_format="%.6g")
    buf.seek(0)
    return buf


def export_panel(state: DashboardState) -> pn.layout.Panel:
    """Three download buttons, each building its file when clicked."""

    def curves_name() -> str:
        return f"meltwater_{state.source}_curves_{state.year}.csv"

    buttons = [
        pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(map_png(state)),
            filename=png_name(state),
            label="Map PNG",
            color="light",
        ),
        pn.widgets.FileDownload(
            callback=lambda: to_csv(summary_frame(state)),
            filename=curves_name(),
            label="Curves CSV",
            color="light",
        ),
        pn.widgets.FileDownload(
            callback=lambda: to_csv(pixel_table(state)),
            filename=pixel_csv_name(state),
            label="Pixel CSV",
            color="light",
        ),
    ]

    def rename(*_) -> None:
        buttons[0].filename = png_name(state)
        buttons[1].filename = curves_name()
        buttons[2].filename = pixel_csv_name(state)

    state.param.watch(rename, ["day", "year", "model", "source", "ablate", "pixel"])
    return pn.Row(*buttons)

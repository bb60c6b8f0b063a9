"""Downloads: PNG of the shown prediction map (rendered server-side) and CSVs of the curves."""

from __future__ import annotations

import io

import datashader.transfer_functions as tf
import numpy as np
import panel as pn
import xarray as xr
from matplotlib import colormaps
from matplotlib.colors import to_hex

from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.views.curves import summary_frame
from meltwater_dashboard.views.maps import STYLES
from meltwater_dashboard.views.pixel_errors import pixel_frame

__all__ = ["export_panel", "map_png", "to_csv"]


def _palette(name: str, n: int = 256) -> list[str]:
    cmap = colormaps[name]
    return [to_hex(cmap(i / (n - 1))) for i in range(n)]


def map_png(state: DashboardState, key: str = "pred") -> bytes:
    """PNG bytes of the shown map (``pred``, ``sar`` or ``error``) over the hillshade, full grid."""
    values = {"pred": state.prediction, "sar": lambda: state.layer("sar"), "error": state.error}
    arr = values[key]()
    _, _, cmap, clim = STYLES[key]
    rows, cols = np.arange(arr.shape[0]), np.arange(arr.shape[1])
    as_da = lambda a: xr.DataArray(a, dims=("y", "x"), coords={"y": rows, "x": cols})  # noqa: E731
    shade = tf.shade(
        as_da(state.store.hillshade(state.source)),
        cmap=["black", "white"],
        how="linear",
        span=(0, 1),
    )
    img = tf.shade(as_da(arr), cmap=_palette(cmap), how="linear", span=clim, alpha=230)
    out = io.BytesIO()
    # rows run north → south, so row 0 goes at the top of the picture
    tf.stack(shade, img).to_pil(origin="upper").save(out, format="PNG")
    return out.getvalue()


def to_csv(df) -> io.StringIO:
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

    def png() -> io.BytesIO:
        return io.BytesIO(map_png(state))

    def name(kind: str, ext: str) -> str:
        return f"meltwater_{state.source}_{kind}_{state.date_str}.{ext}"

    buttons = [
        pn.widgets.FileDownload(
            callback=png, filename=name(state.model, "png"), label="Map PNG", color="light"
        ),
        pn.widgets.FileDownload(
            callback=lambda: to_csv(summary_frame(state)),
            filename=f"meltwater_{state.source}_curves_{state.year}.csv",
            label="Curves CSV",
            color="light",
        ),
        pn.widgets.FileDownload(
            callback=lambda: to_csv(pixel_frame(state)),
            filename=f"meltwater_{state.source}_pixel_{state.year}.csv",
            label="Pixel CSV",
            color="light",
        ),
    ]

    def rename(*_) -> None:
        buttons[0].filename = name(state.model, "png")
        buttons[1].filename = f"meltwater_{state.source}_curves_{state.year}.csv"
        buttons[2].filename = f"meltwater_{state.source}_pixel_{state.year}.csv"

    state.param.watch(rename, ["day", "year", "model", "source"])
    return pn.Row(*buttons)

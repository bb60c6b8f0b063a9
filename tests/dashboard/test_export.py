"""Map PNG and pixel CSV downloads (`dashboard.views.export`) on the toy cube."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from pyproj import Transformer

from meltwater_dashboard.views.export import (
    map_figure,
    map_png,
    pixel_csv_name,
    pixel_table,
    png_name,
)


def test_png_export_titles_colour_bar_and_transparent_dry_pixels(state):
    fig = map_figure(state)
    ax, colour_bar = fig.axes
    assert (
        ax.get_title() == "unet — 2019-06-01 — toy" and "melt fraction" in colour_bar.get_ylabel()
    )
    shade, pred = ax.get_images()
    assert pred.origin == "upper" and pred.get_array()[0, 30] == 0.75  # row 0 = north, on top
    assert pred.cmap(0.0)[3] == 0.0 and pred.cmap(1.0)[3] == 1.0  # no melt: hillshade shows
    state.ablate = ["dem"]
    assert map_figure(state).axes[0].get_title().startswith("unet_no_dem — 2019-06-01")
    assert png_name(state) == "meltwater_toy_unet_no_dem_2019-06-01.png"
    assert Image.open(io.BytesIO(map_png(state))).format == "PNG"


def test_pixel_csv_has_coordinates_and_a_telling_name(state):
    assert pixel_table(state) is None and pixel_csv_name(state) == "meltwater_toy_pixel_none.csv"
    x, y = float(state.cube.x[20]), float(state.cube.y[3])
    state.pixel = (x + 10, y - 10)
    df = pixel_table(state)
    lon, lat = Transformer.from_crs("EPSG:3413", "EPSG:4326", always_xy=True).transform(x, y)
    assert list(df.columns[:4]) == ["x_m", "y_m", "lat", "lon"]
    assert (df["x_m"] == x).all() and df["lat"].iloc[0] == pytest.approx(lat)
    assert pixel_csv_name(state) == (
        f"meltwater_toy_pixel_x{x:.0f}_y{y:.0f}_2019-06-01_2019-09-04.csv"
    )

"""Dashboard state and views driven from Python on the hand-set toy cube (tests/toycube.py)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import pytest
import xarray as xr
from fixtures.toycube import OCEAN_COLS
from pyproj import Transformer

from meltwater_dashboard.live import LiveRaster
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.url import apply_url
from meltwater_dashboard.views.curves import (
    PLOT_HEIGHT,
    legend_height,
    monthly_plot,
    results_section,
    season_plot,
    summary_frame,
)
from meltwater_dashboard.views.maps import map_view, readout
from meltwater_dashboard.views.pixel_errors import pixel_frame, pixel_plot


def test_stores_are_independent(store):
    assert store.available_sources()[:2] == ["toy", "toy_no_unet"]
    assert "toy" not in Store().available_sources()


def test_initial_state(state):
    assert state.param.year.objects == [2019, 2020]
    assert state.models == ["unet", "mar_interp"]
    assert state.date == pd.Timestamp("2019-06-01")
    assert state.param.day.bounds == (0, 11)


def test_day_change_shows_that_day(state):
    state.day = 2
    assert state.date == pd.Timestamp("2019-06-03")
    assert state.layer("pmw")[0, 0] == 202.0  # pmw = 200 + cube time index
    state.year = 2020
    assert state.date == pd.Timestamp("2020-06-03")
    assert state.layer("pmw")[0, 0] == 214.0
    assert state.has_sar
    state.day = 3
    assert not state.has_sar and np.isnan(state.layer("sar")).all()


def test_model_switch_and_error(state):
    assert state.prediction()[0, OCEAN_COLS] == 0.75
    state.model = "mar_interp"
    err = state.error()
    assert err[0, OCEAN_COLS] == 0.0 and err[-1, OCEAN_COLS] == 1.0
    assert np.isnan(err[:, :OCEAN_COLS]).all()
    state.param.update(compare=True, model_b="unet")
    assert state.shown_models == ["mar_interp", "unet"]
    assert state.error("unet")[0, OCEAN_COLS] == pytest.approx(-0.25)


def test_ablation_precomputed_then_live_and_cached(state, unet):
    state.ablate = ["pmw"]  # SAR day: precomputed pred_unet_no_pmw = 0.25
    assert state.prediction()[0, OCEAN_COLS] == 0.25
    assert unet.calls == []
    state.ablate = ["dem", "pmw"]  # no precomputed pair → live, canonical order
    assert state.prediction()[5, 20] == pytest.approx(0.2)
    assert unet.calls == [(pd.Timestamp("2019-06-01"), ("pmw", "dem"))]
    state.ablate = ["pmw"]
    state.ablate = ["pmw", "dem"]
    assert len(unet.calls) == 1  # cached per (source, day, subset)
    df = state.day_metrics()
    assert df.loc["unet", "MAE"] == pytest.approx(0.125)
    assert df.loc["unet_no_pmw_no_dem", "MAE"] == pytest.approx(0.5 * 0.8 + 0.5 * 0.2)
    assert df.loc["unet_no_pmw_no_dem", "melt area km²"] == pytest.approx(20.0)
    state.day = 1  # no SAR scene: precomputed is NaN → the live run for the new day
    assert unet.calls[-1] == (pd.Timestamp("2019-06-02"), ("pmw", "dem"))


def test_ablation_failure_reverts_with_message(unet, store):
    unet.fail = True
    state = DashboardState(source="toy", store=store)
    state.ablate = ["mar_wa1"]
    assert state.ablate == []
    assert "ablation unavailable" in state.message and "models.yaml" in state.message
    assert not state.busy


def test_only_the_tab_in_view_redraws(state):
    before = (state.tick_maps, state.tick_inputs)
    state.day = 4
    assert state.tick_maps == before[0] + 1 and state.tick_inputs == before[1]
    state.tab = "inputs"
    assert state.tick_inputs == before[1] + 1
    state.tab = "maps"
    assert state.tick_maps == before[0] + 1  # nothing changed while away


def test_hidden_views_wait_for_their_tab(state):
    curves, series, errors = state.tick_curves, state.tick_series, state.tick_errors
    state.day = 4
    state.pixel = (300_500.0, -2_500_500.0)
    state.year = 2020
    assert (state.tick_curves, state.tick_series, state.tick_errors) == (curves, series, errors)
    state.tab = "errors"  # the series and the season's error maps catch up once
    assert (state.tick_series, state.tick_errors) == (series + 1, errors + 1)
    state.tab = "curves"
    assert state.tick_curves == curves + 1
    state.day = 5
    assert state.tick_curves == curves + 2 and state.tick_series == series + 1


def test_while_playing_only_predictions_follow(state):
    state.playing = True
    pred, rest = state.tick_pred, state.tick_maps
    state.day = 5
    state.day = 6
    assert (state.tick_pred, state.tick_maps) == (pred + 2, rest)
    state.playing = False  # pause: SAR and error catch up once
    assert (state.tick_pred, state.tick_maps) == (pred + 2, rest + 1)


def _image_renderer(fig):
    from bokeh.models import Image as BkImage

    return [r for r in fig.renderers if isinstance(getattr(r, "glyph", None), BkImage)]


def test_map_renders_bokeh_with_current_day(state):
    state.model = "mar_interp"
    dmap = map_view(state, "error", state.error, "tick_maps")
    fig = hv.render(dmap)
    images = _image_renderer(fig)
    assert len(images) == 2  # hillshade + error
    err = np.asarray(images[1].data_source.data["image"][0])
    assert np.nanmin(err) == 0.0 and np.nanmax(err) == 1.0
    state.day = 1  # no SAR: error all NaN after the redraw
    fig = hv.render(dmap)
    assert np.isnan(np.asarray(_image_renderer(fig)[1].data_source.data["image"][0])).all()


def test_live_regrid_block_means_bottom_row_first():
    # 4 x 6 cells of 1 m, rows north -> south; regridded to 2 x 3 = means of 2 x 2 blocks
    arr = np.arange(24, dtype=np.float32).reshape(4, 6)
    live = LiveRaster(lambda: arr, xs=np.arange(6) + 0.5, ys=np.arange(4)[::-1] + 0.5)
    out = live.regrid(arr, 0.0, 0.0, 6.0, 4.0, (2, 3))
    south = arr[2:].reshape(2, 3, 2).mean(axis=(0, 2))
    north = arr[:2].reshape(2, 3, 2).mean(axis=(0, 2))
    np.testing.assert_allclose(out, [south, north])


def test_day_change_pushes_into_the_rendered_map(state):
    state.tab = "inputs"
    dmap = map_view(state, "pmw", lambda: state.layer("pmw"), "tick_inputs")
    fig = hv.render(dmap)
    source = _image_renderer(fig)[1].data_source
    assert np.nanmax(source.data["image"][0]) == 200.0  # pmw = 200 + cube time index
    state.day = 2
    pushed = np.asarray(source.data["image"][0])
    assert np.allclose(pushed, 202.0)
    fresh = np.asarray(_image_renderer(hv.render(dmap))[1].data_source.data["image"][0])
    np.testing.assert_array_equal(pushed, fresh)  # a new render (pan/zoom) shows the same day


def test_curves_and_tap_jump(state):
    dmap = season_plot(state, "bias")
    overlay = dmap[()]
    curves = [el for el in overlay.traverse(lambda e: e, [hv.Curve])]
    unet_curve = next(c for c in curves if c.label == "unet")
    assert np.allclose(unet_curve.dimension_values(1), -0.125)
    assert len(unet_curve) == 6  # SAR days of 2019
    assert overlay.traverse(lambda e: e.data, [hv.HLine]) == [0]  # zero line
    area = season_plot(state, "valid_melt_area_km2")[()]
    dots = {e.label: e for e in area.traverse(lambda e: e, [hv.Scatter])}
    assert set(dots) == {"unet", "mar_interp", "SAR"}
    assert np.allclose(dots["SAR"].dimension_values(1), 10.0)  # valid SAR pixels only
    assert np.allclose(dots["mar_interp"].dimension_values(1), 20.0)
    fig = hv.render(dmap)
    (hover,) = [t for t in fig.tools if type(t).__name__ == "HoverTool"]
    assert hover.tooltips[:2] == [("model", "@{model}"), ("date", "@{date}{%F}")]
    state.jump_to(pd.Timestamp("2020-09-02 10:00").value // 10**6)  # epoch ms from Bokeh
    assert (state.year, state.date) == (2020, pd.Timestamp("2020-09-02"))
    monthly = monthly_plot(state, "melt_fraction")
    curves = {c.label: c for c in monthly.traverse(lambda e: e, [hv.Curve])}
    assert list(curves["unet"].dimension_values(1)) == [0.375, 0.375]
    assert list(curves["SAR"].dimension_values(0)) == ["Jun", "Sep"]
    assert set(curves["unet"].dimension_values("model")) == {"unet"}  # hover names the model
    assert list(curves["SAR"].dimension_values(1)) == [0.5, 0.5]
    df = summary_frame(state)
    assert df.index[0] == pd.Timestamp("2020-06-01") and "bias_unet" in df


def test_url_values_validated(state):
    cube_before = (state.source, state.date, state.model)
    bad = apply_url(
        state,
        {"source": "../../etc/passwd", "date": "2031-01-01", "model": "gpt", "tab": "x"},
    )
    assert len(bad) == 4 and "passwd" in state.message
    assert (state.source, state.date, state.model) == cube_before
    good = apply_url(
        state,
        {"date": "2020-09-03", "model": "mar_interp", "ablate": "dem,bogus", "tab": "curves"},
    )
    assert good == ["ablate 'bogus'"]
    assert (state.date, state.model, state.ablate, state.tab) == (
        pd.Timestamp("2020-09-03"),
        "mar_interp",
        ["dem"],
        "curves",
    )


def test_readout_and_pixel_series(state):
    x, y = float(state.cube.x[20]), float(state.cube.y[3])
    state.hover = (x, y)
    html = readout(state)
    lon, lat = Transformer.from_crs("EPSG:3413", "EPSG:4326", always_xy=True).transform(x, y)
    assert f"{lat:.4f}°, {lon:.4f}°" in html
    assert "200 K" in html and "0.75" in html and "0.01 kg" in html
    state.pixel = (x, y)
    df = pixel_frame(state)
    assert list(df.columns) == ["sar", "sar_interp", "pmw", "mar_wa1", "pred_unet"]
    assert len(df) == 12 and df["sar"].notna().sum() == 6
    plot = pixel_plot(state).object
    curves = {c.label: c for c in plot.traverse(lambda e: e, [hv.Curve])}
    assert set(curves["unet"].dimension_values("model")) == {"unet"}  # hover names the model
    hv.render(plot)


def test_results_file_section(state, tmp_path, monkeypatch):
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    assert "run `meltwater evaluate`" in results_section(state).object
    models, metrics_ = ["unet", "mar_interp"], ["accuracy", "mae", "bias"]
    agg = np.zeros((2, 3, 2))
    agg[1, 1] = [0.5, 0.1]  # mar_interp MAE mean 0.5, std 0.1
    res = xr.Dataset(
        {
            "aggregates": (("model", "metric", "stat"), agg),
            "month_bias": (("model", "month"), np.array([[0.1, -0.1], [0.2, 0.0]])),
            "season_day_bias": (("model", "season_day"), np.zeros((2, 3))),
        },
        coords={
            "model": models,
            "metric": metrics_,
            "stat": ["mean", "std"],
            "month": [6, 9],
            "season_day": [0, 1, 2],
        },
        attrs={"split": "test"},
    )
    (tmp_path / "results").mkdir()
    res.to_netcdf(tmp_path / "results" / "toy_test.nc")
    pn.state.clear_caches()
    section = results_section(state)
    table = section[1].object
    assert table.loc["mar_interp", "mae"] == "0.500 ± 0.100"
    month = section[2][0].object  # the first plot of the grid
    curve = next(c for c in month.traverse(lambda e: e, [hv.Curve]) if c.label == "mar_interp")
    assert list(curve.dimension_values(1)) == [0.2, 0.0]
    assert list(curve.dimension_values(0)) == ["Jun", "Sep"]
    assert hv.render(month).height == legend_height(2) == PLOT_HEIGHT


def test_a_long_legend_gets_a_taller_plot():
    # ten models (six + four ablations) on the right of a 280 px plot overflowed its frame
    assert legend_height(10) == 100 + 23 * 10 == 330
    assert legend_height(5) == PLOT_HEIGHT


def test_ablation_without_unet_in_cube(unet, store):
    state = DashboardState(source="toy_no_unet", store=store)
    assert state.models == ["mar_interp"]
    state.ablate = ["dem"]
    assert state.ablate == [] and "precompute" in state.message
    assert unet.calls == []


def test_maps_read_the_level_that_fills_the_plot(tmp_path, monkeypatch):
    from fixtures.microsource import DAYS, micro

    from meltwater.data.cube import build_cube, open_cube
    from meltwater.data.overviews import coarsen
    from meltwater_dashboard.live import Windowed

    src = micro(tmp_path)  # 8 × 12 cells of 100 m
    build_cube(src, overviews=(2, 4), chunk=4)
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    store, day = Store(), DAYS[1].strftime("%Y-%m-%d")
    cube = open_cube(src)
    g = store.grid("demo")
    full = store.choose("demo", g.bounds, (3, 2))  # 12 × 8 cells on 3 × 2 px: level ×4
    assert (full.factor, full.rows, full.cols) == (4, (0, 2), (0, 3))
    dem = store.window("demo", "dem", "", full)  # dem = 100 × column + row
    np.testing.assert_array_equal(dem, coarsen(cube["dem"].values, 4))
    assert dem[0, 0] == 100 * 1.5 + 1.5
    zoom = store.choose("demo", (10_300, 19_500, 10_500, 19_700), (40, 40))
    assert zoom.factor == 1 and zoom.cols == (2, 6) and zoom.rows == (2, 6)
    np.testing.assert_array_equal(store.window_coords("demo", zoom)[0], g.xs[2:6])
    reads = []

    def read(win):
        reads.append(win)
        return store.window("demo", "pmw", day, win)

    windowed = Windowed(
        lambda e, px: store.choose("demo", e, px), lambda w: store.window_coords("demo", w), read
    )
    live = LiveRaster(lambda: pytest.fail("the whole grid is not read"), g.xs, g.ys, windowed)

    class Source:  # what a rendered Bokeh image source holds: its geometry and image
        data = {"x": [g.bounds[0]], "y": [g.bounds[1]], "dw": [1200.0], "dh": [800.0]}
        data["image"] = [np.zeros((2, 3))]

    source = Source()
    live._sources.add(source)
    assert live.push(1) == 1 and reads[-1].factor == 4
    np.testing.assert_allclose(source.data["image"][0], np.full((2, 3), 201.0))


def test_pan_zoom_reads_the_window_of_the_chosen_level(tmp_path, monkeypatch):
    from fixtures.microsource import micro
    from holoviews.core.spaces import get_nested_dmaps

    from meltwater.data.cube import build_cube
    from meltwater.precompute import precompute

    src = micro(tmp_path)  # 8 × 12 cells of 100 m, x 10 000–11 200, y 19 200–20 000
    build_cube(src, overviews=(2, 4), chunk=4)
    precompute(src.cube_path, ["pmw_threshold"], (), scheduler="synchronous")
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    state = DashboardState(source="demo", store=Store(), year=2019)
    reads = []

    def reader(win):
        reads.append(win)
        return state.store.window("demo", "dem", "", win)

    overlay = map_view(state, "dem", lambda: pytest.fail("the whole grid is read"), None, reader)
    hv.render(overlay)  # the full view on a 380 px frame: 12 cells < 380 px → level 0
    assert reads[-1].factor == 1
    inner = next(  # the map's own DynamicMap (not the pixel marker's)
        d
        for d in get_nested_dmaps(overlay)
        if d.callback.inputs == [] and any(isinstance(s, hv.streams.RangeXY) for s in d.streams)
    )
    streams = {type(s).__name__: s for s in inner.streams}
    streams["PlotSize"].event(width=3, height=2)
    streams["RangeXY"].event(x_range=(10_000, 11_200), y_range=(19_200, 20_000))
    image = inner[()]  # what regrid then shows: level ×4, 3 × 2 cells
    assert reads[-1].factor == 4 and image.data.shape == (2, 3)
    streams["PlotSize"].event(width=300, height=300)
    streams["RangeXY"].event(x_range=(10_300, 10_500), y_range=(19_500, 19_700))
    image = inner[()]  # zoomed in: level 0, the 4 × 4 cells around the view
    assert reads[-1].factor == 1 and image.data.shape == (4, 4)
    assert image.bounds.lbrt() == (10_200.0, 19_400.0, 10_600.0, 19_800.0)

"""The dashboard serving a cube on object storage (moto's S3 server on 127.0.0.1), read-only.

The catalog's ``cube:`` is an ``s3://`` URL and the local data folder holds nothing: the maps
read the cube and its overview levels through fsspec, the curves the summaries beside it, and
nothing is locked, computed or written.
"""

from __future__ import annotations

import shutil

import holoviews as hv
import numpy as np
import pytest
import xarray as xr
from fixtures.microsource import DAYS, micro
from fixtures.s3server import catalog_with_cube, s3_server
from holoviews.core.spaces import get_nested_dmaps

from meltwater.data import remote
from meltwater.data.cube import build_cube, open_cube, open_level
from meltwater.errors import DataNotFoundError
from meltwater.evaluation.summary_store import season_summary, write_season_summaries
from meltwater.precompute import precompute
from meltwater_dashboard.app import build_app
from meltwater_dashboard.opening import story_day
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.curves import curves_tab, monthly_plot, season_plot, summary_notice
from meltwater_dashboard.views.maps import map_view

PRED = "pred_pmw_threshold"
DAY = DAYS[1].strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def endpoint():
    yield from s3_server()


@pytest.fixture(scope="module")
def local(endpoint, tmp_path_factory):
    """The micro source's cube (8 × 12 px, 4 days, levels ×2 and ×4 in 4 px chunks) without
    predictions (``bare``) and with ``pred_pmw_threshold`` on every day (``full``)."""
    root = tmp_path_factory.mktemp("local")
    src = micro(root)
    build_cube(src, overviews=(2, 4), chunk=4)
    bare = root / "bare.zarr"
    shutil.copytree(src.cube_path, bare)
    precompute(src.cube_path, ["pmw_threshold"], (), scheduler="synchronous")
    remote.configure("s3://cubes", endpoint)
    remote.filesystem("s3://cubes")[0].mkdir("cubes")
    return {"full": src.cube_path, "bare": bare}


def _serve(url, endpoint, tmp_path, monkeypatch) -> Store:
    """A store of a process whose catalog's demo cube is ``url`` and whose data folder is empty."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("MELTWATER_CATALOG", str(catalog_with_cube(tmp_path, url, endpoint)))
    monkeypatch.setenv("MELTWATER_DATA", str(data))
    return Store()


def test_maps_and_curves_of_a_cube_on_s3(local, endpoint, tmp_path, monkeypatch):
    url = "s3://cubes/served.zarr"
    remote.publish(local["full"], url)
    stored = write_season_summaries(url)
    assert stored == [
        "s3://cubes/served.summary/2019.nc",
        "s3://cubes/served.summary/onset_2019.nc",
    ]
    store = _serve(url, endpoint, tmp_path, monkeypatch)
    assert store.available_sources() == ["demo"] and store.remote("demo")
    state = DashboardState(source="demo", store=store, year=2019)
    build_app(state)
    assert state.pending == "" and not store.writer_active("demo")

    ref = open_cube(local["full"])
    g = store.grid("demo")
    whole = store.choose("demo", g.bounds, (600, 400))
    assert whole.factor == 1  # 12 × 8 cells fill 600 × 400 px at full resolution
    day = store.window("demo", PRED, DAY, whole)
    np.testing.assert_array_equal(day, ref[PRED].sel(time=DAY).values.astype("f4"))
    assert np.isfinite(day).any()
    pmw = store.window("demo", "pmw", DAY, whole)
    np.testing.assert_array_equal(pmw, np.full((8, 12), 201.0, "f4"))

    reads = []

    def reader(win):
        reads.append(win)
        return store.window("demo", PRED, DAY, win)

    overlay = map_view(state, "pred", lambda: pytest.fail("the whole grid is read"), None, reader)
    inner = next(
        d
        for d in get_nested_dmaps(overlay)
        if d.callback.inputs == [] and any(isinstance(s, hv.streams.RangeXY) for s in d.streams)
    )
    streams = {type(s).__name__: s for s in inner.streams}
    streams["PlotSize"].event(width=3, height=2)  # the full view on 3 × 2 px: level ×4
    streams["RangeXY"].event(x_range=(10_000, 11_200), y_range=(19_200, 20_000))
    image = inner[()]
    assert reads[-1].factor == 4 and image.data.shape == (2, 3)
    coarse = open_level(local["full"], 4)[PRED].sel(time=DAY).values.astype("f4")
    np.testing.assert_array_equal(store.window("demo", PRED, DAY, reads[-1]), coarse)
    assert store.level("demo", 4).encoding["source"].startswith("s3://cubes/served.zarr")

    summary = store.daily_summary("demo", 2019)
    xr.testing.assert_equal(summary, season_summary(ref, 2019))
    assert int(store.season_timing("demo", 2019)["observed_days"].max()) == 3
    assert not any(tmp_path.rglob("*.lock")) and not any((tmp_path / "data").iterdir())


def test_missing_summary_names_the_object(local, endpoint, tmp_path, monkeypatch):
    url = "s3://cubes/nosummary.zarr"
    remote.publish(local["full"], url)  # precomputed, but no summary stored beside it
    store = _serve(url, endpoint, tmp_path, monkeypatch)
    state = DashboardState(source="demo", store=store, year=2019)
    tab = curves_tab(state)  # the page opens; the curves tab says what is missing
    assert tab[0].visible and tab[0].object.startswith(  # escaped Markdown
        "No season curves for 2019: season summary s3://cubes/nosummary\\.summary/2019\\.nc is "
        "missing; \\`meltwater precompute\\` writes it beside the cube"
    )
    for plot in (season_plot(state, "bias"), monthly_plot(state, "bias")):
        hv.render(plot)  # empty, under the notice
    assert story_day(state) is None or story_day(state).year == 2019
    with pytest.raises(
        DataNotFoundError,
        match=r"season summary s3://cubes/nosummary\.summary/"
        r"2019\.nc is missing; `meltwater precompute` writes it",
    ):
        store.daily_summary("demo", 2019)
    with pytest.raises(
        DataNotFoundError,
        match=r"onset timing s3://cubes/nosummary\.summary/"
        r"onset_2019\.nc is missing",
    ):
        store.season_timing("demo", 2019)


def test_pending_notice_of_a_remote_cube_computes_nothing(local, endpoint, tmp_path, monkeypatch):
    part = tmp_path / "part.zarr"
    shutil.copytree(local["bare"], part)
    precompute(part, ["pmw_threshold"], (), dates=DAYS[:2], scheduler="synchronous")
    url = "s3://cubes/part.zarr"
    remote.publish(part, url)
    store = _serve(url, endpoint, tmp_path, monkeypatch)
    state = DashboardState(source="demo", store=store, year=2019, day=3)
    assert state.pending.startswith(
        "Predictions for 2019 are not all in the cube at s3://cubes/part.zarr: 2 of 4 days"
    )
    assert "read-only and computes nothing" in state.pending
    assert "still being computed" not in state.pending
    assert np.isnan(store.frame("demo", PRED, DAYS[3].strftime("%Y-%m-%d"))).all()


def test_results_are_read_beside_the_cube(local, endpoint, tmp_path, monkeypatch):
    url = "s3://cubes/evaluated.zarr"
    remote.publish(local["full"], url)
    res = xr.Dataset({"score": ("model", np.array([0.25, 0.5]))}, {"model": ["a", "b"]})
    res.to_netcdf(tmp_path / "r.nc")
    remote.upload(tmp_path / "r.nc", "s3://cubes/results/demo_test.nc")
    store = _serve(url, endpoint, tmp_path, monkeypatch)
    xr.testing.assert_equal(store.results("demo", "test"), res)
    assert store.results("demo", "val") is None


def test_summary_notice_is_escaped_text(state, monkeypatch):
    def missing(source, year):
        raise DataNotFoundError("season summary s3://b/<img src=x onerror=alert(1)>.nc is missing")

    monkeypatch.setattr(state.store, "daily_summary", missing)
    notice = summary_notice(state)
    assert notice.startswith("No season curves for 2019: season summary")
    assert "<img" not in notice and "&lt;img" in notice

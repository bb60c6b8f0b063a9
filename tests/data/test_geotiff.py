import os
import re
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from fixtures.microsource import DAYS as MICRO_DAYS
from fixtures.microsource import micro

from meltwater.data.catalog import get_source
from meltwater.data.cube import build_cube, open_cube
from meltwater.data.geotiff import (
    Grid,
    coords_from_grid,
    open_source,
    read_grid,
    read_raster,
    winter_means,
    write_raster,
)
from meltwater.data.synthetic import DEMO_CRS
from meltwater.data.timeaxis import time_axis
from meltwater.errors import DataNotFoundError, GridMismatchError, NodataTagWarning
from meltwater.resources import catalog_path


@pytest.fixture
def grid():
    return Grid(DEMO_CRS, Affine(100.0, 0, 1000.0, 0, -100.0, 5000.0), (4, 6))


def test_raster_round_trip(tmp_path, grid):
    data = np.arange(24, dtype=np.float32).reshape(4, 6)
    data[1, 2] = np.nan
    write_raster(tmp_path / "a.tif", data, grid)
    back = read_raster(tmp_path / "a.tif", grid)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, data)
    assert read_grid(tmp_path / "a.tif").matches(grid)
    assert not list(tmp_path.glob(".*tmp*"))


def test_cell_centre_coordinates(grid):
    c = coords_from_grid(grid)
    np.testing.assert_allclose(c["x"], [1050, 1150, 1250, 1350, 1450, 1550])
    np.testing.assert_allclose(c["y"], [4950, 4850, 4750, 4650])


def test_read_raster_errors(tmp_path, grid):
    with pytest.raises(DataNotFoundError, match="absent.tif"):
        read_raster(tmp_path / "absent.tif")
    (tmp_path / "junk.tif").write_bytes(b"II*\x00 definitely not a tiff")
    with pytest.raises(GridMismatchError, match="junk.tif.*not a readable GeoTIFF"):
        read_raster(tmp_path / "junk.tif")
    shifted = Grid(grid.crs, grid.transform @ Affine.translation(1, 0), grid.shape)
    write_raster(tmp_path / "s.tif", np.zeros(grid.shape), shifted)
    with pytest.raises(GridMismatchError, match="s.tif is on a different grid"):
        read_raster(tmp_path / "s.tif", grid)


def test_open_source_layout(tiny_source):
    ds = open_source(tiny_source)
    dem_grid = read_grid(tiny_source.static_path("dem"))
    assert ds.rio.crs == dem_grid.crs
    assert ds.rio.transform().almost_equals(dem_grid.transform)
    assert ds["pmw"].dims == ("time", "y", "x") and ds["pmw"].shape[1:] == dem_grid.shape
    assert ds["pmw"].dtype == np.float32
    assert ds["pmw"].chunks[0] == (1,) * ds.sizes["time"]
    times = ds.indexes["time"]
    assert times[0] == pd.Timestamp("2017-04-01") and times[-1] == pd.Timestamp("2018-09-30")
    scene = tiny_source.split_dates("train")[3]
    np.testing.assert_array_equal(
        ds["sar"].sel(time=scene).values, read_raster(tiny_source.day_path("sar", scene))
    )
    no_scene = next(t for t in times if not tiny_source.day_path("sar", t).is_file())
    assert np.isnan(ds["sar"].sel(time=no_scene).values).all()
    assert not ds["valid"].sel(time=no_scene).values.any()
    assert ds["land"].dtype == bool and (~ds["land"]).any()


@pytest.fixture
def source_copy(tiny_source, tmp_path):
    shutil.copytree(tiny_source.root, tmp_path / "demo")
    return get_source("demo", data_root=tmp_path)


def test_grid_mismatch_names_the_file(source_copy):
    day = source_copy.split_dates("deploy")[10]
    path = source_copy.day_path("pmw", day)
    with rasterio.open(path) as src:
        profile, data = src.profile, src.read(1)
    profile.update(transform=profile["transform"] @ Affine.translation(5, 0))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    with pytest.raises(GridMismatchError, match=f"{day:%Y_%m_%d}.tif is on a different grid"):
        open_source(source_copy)


def test_missing_day_is_nan_not_error(source_copy):
    deploy = source_copy.split_dates("deploy")
    day = next(d for d in deploy[5:] if not source_copy.day_path("sar", d).is_file())
    source_copy.day_path("mar_wa1", day).unlink()
    ds = open_source(source_copy, years=[2017])
    assert np.isnan(ds["mar_wa1"].sel(time=day).values).all()
    assert np.isfinite(ds["mar_wa1"].isel(time=0).values).all()


def test_year_without_data(source_copy):
    with pytest.raises(DataNotFoundError, match=r"no days in years \[2031\]"):
        open_source(source_copy, years=[2031])


def test_winter_mean_derived_from_daily_files(source_copy):
    source_copy.winter_mean_path(2017).unlink()
    grid = read_grid(source_copy.static_path("dem"))
    jan = np.full(grid.shape, 200.0, np.float32)
    feb = np.full(grid.shape, 210.0, np.float32)
    write_raster(source_copy.day_path("pmw", "2017-01-15"), jan, grid)
    write_raster(source_copy.day_path("pmw", "2017-02-15"), feb, grid)
    wm = winter_means(source_copy, [2017, 2018])
    assert wm.dims == ("year", "y", "x")
    np.testing.assert_allclose(wm.sel(year=2017).values, 205.0)
    assert source_copy.winter_mean_path(2017).is_file()
    source_copy.winter_mean_path(2018).unlink()
    with pytest.raises(DataNotFoundError, match="2018_jan_feb.tif is missing"):
        winter_means(source_copy, [2018])


# --- time axis: every season day of the layout's years ∪ every split date (issue 15) ----------

REAL_SPLITS = catalog_path().parent / "splits" / "meltwaterbench"
TINY = Grid(DEMO_CRS, Affine(100.0, 0, 0.0, 0, -100.0, 200.0), (2, 3))


def _shipped(split: str) -> pd.DatetimeIndex:
    """A shipped split list, parsed here (not by the code under test)."""
    names = (REAL_SPLITS / f"{split}.csv").read_text().split()
    return pd.DatetimeIndex(pd.to_datetime([n[:10] for n in names], format="%Y_%m_%d"))


@pytest.fixture
def real_layout(tmp_path):
    """The `meltwaterbench` source (shipped split lists) on a 2 × 3 px layout that holds only
    the split dates: one file per daily variable, hard-linked under every split date's name."""
    src = get_source("meltwaterbench", data_root=tmp_path)
    write_raster(src.static_path("dem"), np.full(TINY.shape, 500.0), TINY, nodata=None)
    write_raster(src.static_path("land"), np.ones(TINY.shape), TINY, nodata=None)
    dates = _shipped("train").union(_shipped("val")).union(_shipped("test"))
    for v in src.layout.daily:
        template = tmp_path / f"{v}.tif"
        write_raster(template, np.full(TINY.shape, 0.5), TINY)
        src.variable_dir(v).mkdir(parents=True)
        for d in dates:
            os.link(template, src.day_path(v, d))
    return src


def test_time_axis_holds_every_shipped_split_date(real_layout):
    scenes = _shipped("train").union(_shipped("val")).union(_shipped("test"))
    assert len(scenes) == 389 + 70 + 70 == 529
    deploy = _shipped("deploy")
    assert len(scenes.difference(deploy)) == 8, "the reference's deploy list misses 8 scenes"
    extra = pd.Timestamp("2021-07-04")  # a season day with a PMW file only: in the axis
    assert extra not in scenes
    write_raster(real_layout.day_path("pmw", extra), np.full(TINY.shape, 200.0), TINY)
    write_raster(real_layout.day_path("pmw", "2021-10-01"), np.full(TINY.shape, 200.0), TINY)
    axis = time_axis(real_layout)
    assert scenes.isin(axis).all(), scenes.difference(axis)
    assert pd.Timestamp("2021-08-31") in axis
    assert axis.equals(scenes.union([extra]))
    assert len(axis) == 530 and axis.name == "time"
    ds = open_source(real_layout, check_grid=False)
    assert ds.indexes["time"].equals(axis)
    assert (ds["sar"].sel(time="2021-08-31").values == 0.5).all()
    assert np.isnan(ds["sar"].sel(time=extra).values).all()
    assert (ds["pmw"].sel(time=extra).values == 200.0).all()


def test_time_axis_of_some_years(real_layout):
    axis = time_axis(real_layout, years=[2021])
    scenes = _shipped("train").union(_shipped("val")).union(_shipped("test"))
    assert axis.equals(scenes[scenes.year == 2021]) and pd.Timestamp("2021-08-31") in axis
    for d in real_layout.variable_dir("pmw").glob("2019_*.tif"):  # a year not (yet) downloaded
        for v in real_layout.layout.daily:
            real_layout.day_path(v, d.stem.replace("_", "-")).unlink()
    assert 2019 not in set(time_axis(real_layout).year), "not one of the layout's years"
    with pytest.raises(DataNotFoundError, match=r"2019-04-\d\d \(train\): .*2019_04_\d\d\.tif"):
        time_axis(real_layout, years=[2019])


@pytest.mark.parametrize("variable", ["sar", "pmw", "mar_wa1"])
def test_split_date_without_its_file_is_named(real_layout, variable):
    path = real_layout.day_path(variable, "2021-08-31")
    path.unlink()
    with pytest.raises(DataNotFoundError) as err:
        time_axis(real_layout)
    msg = str(err.value)
    assert "1 file(s) of split dates missing" in msg
    assert f"2021-08-31 (test): {path}" in msg
    with pytest.raises(DataNotFoundError, match=r"2021-08-31 \(test\)"):
        open_source(real_layout)


# --- no-data: daily files use NaN; a non-NaN tag is warned about once and ignored (issue 15) --


def _retag(path, nodata) -> None:
    """Rewrite a GeoTIFF with another nodata tag, values unchanged."""
    with rasterio.open(path) as s:
        profile, data = s.profile, s.read(1)
    profile.update(nodata=nodata)
    with rasterio.open(path, "w", **profile) as d:
        d.write(data, 1)


@pytest.fixture
def tagged(tmp_path):
    """A micro source whose SAR and MAR files carry nodata = 0 (PMW keeps the NaN tag)."""
    src = micro(tmp_path)
    for v in ("sar", "mar_wa1"):
        for p in src.variable_dir(v).glob("*.tif"):
            _retag(p, 0.0)
    return src


def _nodata_warnings(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, NodataTagWarning)]


@pytest.mark.parametrize("check_grid", [True, False], ids=["headers-up-front", "lazy"])
def test_daily_nodata_tag_is_warned_once_and_ignored(tagged, check_grid):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ds = open_source(tagged, check_grid=check_grid).load()
    got = _nodata_warnings(record)
    assert len(got) == 2, got
    for v, folder in (("sar", "HH_PercentMelt"), ("mar_wa1", "WA1")):
        (msg,) = [m for m in got if f"daily variable {v!r}" in m]
        assert re.search(rf"{folder}/2019_06_0\d\.tif: nodata tag 0\.0 ignored", msg), msg
    sar = ds["sar"].sel(time=MICRO_DAYS[0]).values
    assert (sar == 0).sum() == 6 * 8 and np.isfinite(sar).all(), "dry SAR pixels stay 0"
    assert (ds["mar_wa1"].sel(time=MICRO_DAYS[0]).values == 0).all(), "MAR zeros stay 0"
    land = ds["land"].values
    assert (ds["valid"].sel(time=MICRO_DAYS[0]).values == land).all(), "zeros are valid"


def test_read_raster_policies(tagged):
    path = tagged.day_path("sar", MICRO_DAYS[0])
    assert np.isnan(read_raster(path)).sum() == 6 * 8, "static policy: the tag is no data"
    assert (read_raster(path, nodata_tag=False) == 0).sum() == 6 * 8, "daily policy: a value"


def test_static_files_honour_their_nodata_tag(tagged):
    dem = tagged.static_path("dem")
    with rasterio.open(dem) as s:
        profile, data = s.profile, s.read(1)
    data[0, 0] = -9999.0
    profile.update(nodata=-9999.0)
    with rasterio.open(dem, "w", **profile) as d:
        d.write(data, 1)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ds = open_source(tagged, variables=["pmw"])
    assert not _nodata_warnings(record), "no warning for static files or NaN-tagged daily files"
    assert np.isnan(ds["dem"].values[0, 0]) and np.isfinite(ds["dem"].values[0, 1])


def test_cube_keeps_tagged_zeros(tagged):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        cube = open_cube(build_cube(tagged))
    assert len(_nodata_warnings(record)) == 2
    day = MICRO_DAYS[0]
    assert (cube["sar"].sel(time=day).values == 0).sum() == 6 * 8
    assert int(cube["valid"].sel(time=day).sum()) == int(cube["land"].sum())


@pytest.mark.slow
def test_cube_labels_the_split_scenes_of_a_year(real_layout):
    write_raster(real_layout.winter_mean_path(2021), np.full(TINY.shape, 190.0), TINY)
    cube = open_cube(build_cube(real_layout, years=[2021], batch_days=200))
    labels = pd.Series(cube["split"].values).value_counts().to_dict()
    assert labels == {"train": 107, "val": 12, "test": 12}
    assert cube["split"].sel(time="2021-08-31").item() == "test"

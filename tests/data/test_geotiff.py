import shutil

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine

from meltwater.data.catalog import get_source
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
from meltwater.errors import DataNotFoundError, GridMismatchError


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
    day = source_copy.split_dates("deploy")[5]
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

"""Issue 8, part 1: the bad-input corpus for the catalog, the GeoTIFF layout, the download
parameters, dashboard URLs and the command line. Every case is generated here (no committed
binaries) and asserts a typed error whose message names the file or parameter, or a graceful
result. Stores (cube, precompute, checkpoints): tests/test_bad_inputs_stores.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from affine import Affine
from fixtures.microsource import DAYS, GRID, SHAPE, micro
from rasterio.crs import CRS

from meltwater.cli import main
from meltwater.data.catalog import get_source, load_catalog
from meltwater.data.cube import build_cube, open_cube
from meltwater.data.download import allow_patterns, download, read_manifest
from meltwater.data.geotiff import open_source, read_grid, read_raster, write_raster
from meltwater.data.timeaxis import list_dates
from meltwater.errors import (
    CatalogError,
    DataNotFoundError,
    GridMismatchError,
    UnknownNameError,
)
from meltwater.resources import catalog_path


@pytest.fixture
def src(tmp_path):
    return micro(tmp_path)


def _catalog(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(catalog_path().read_text())
    mutate(doc["sources"]["demo"])
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _rewrite(path: Path, **profile_changes) -> None:
    """Rewrite a GeoTIFF with a changed profile (dtype, crs, shape, band count)."""
    with rasterio.open(path) as s:
        profile, data = s.profile, s.read(1)
    count = profile_changes.pop("count", 1)
    profile.update(profile_changes, count=count)
    shape = (profile["height"], profile["width"])
    data = np.resize(data, shape).astype(profile["dtype"])
    path.unlink()
    with rasterio.open(path, "w", **profile) as d:
        for band in range(1, count + 1):
            d.write(data, band)


# --- catalog ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (
            lambda d: d["layout"]["variables"]["sar"].pop("path"),
            r"missing key sources\.demo\.layout\.variables\.sar\.path",
        ),
        (lambda d: d.pop("splits"), r"missing key sources\.demo\.splits"),
        (
            lambda d: d["layout"].update(base="/data/helheim"),
            r"sources\.demo\.layout\.base.*'/data/helheim'.*relative",
        ),
        (
            lambda d: d["layout"]["static"]["dem"].update(path="../../dem.tif"),
            r"sources\.demo\.layout\.static\.dem\.path.*'\.\.'",
        ),
        (lambda d: d.update(cube="cubes/../../demo.zarr"), r"sources\.demo\.cube"),
        (lambda d: d["splits"].update(dir="/etc"), r"sources\.demo\.splits\.dir"),
        (
            lambda d: d.update(kind="simulated"),
            r"sources\.demo\.kind.*'synthetic' or 'real'.*'simulated'",
        ),
        (lambda d: d["layout"].update(variables={}), r"sources\.demo\.layout\.variables.*mapping"),
    ],
    ids=[
        "missing-path",
        "missing-splits",
        "absolute-base",
        "dotdot-static",
        "dotdot-cube",
        "absolute-splits",
        "bad-kind",
        "empty-variables",
    ],
)
def test_catalog_entry_errors_name_the_key(tmp_path, mutate, match):
    path = _catalog(tmp_path, mutate)
    with pytest.raises(CatalogError, match=match):
        get_source("demo", catalog_path=path, data_root=tmp_path)


def test_unknown_source_and_catalog_file(tmp_path):
    with pytest.raises(
        UnknownNameError,
        match=r"unknown source 'helheimm'.*valid: \['demo', 'demo_temporal', 'meltwaterbench'",
    ):
        get_source("helheimm")
    (tmp_path / "c.yaml").write_text("version: 1\n")
    with pytest.raises(CatalogError, match=r"c\.yaml: expected a top-level 'sources' mapping"):
        load_catalog(tmp_path / "c.yaml")
    with pytest.raises(DataNotFoundError, match=r"nowhere\.yaml not found"):
        load_catalog(tmp_path / "nowhere.yaml")


def test_split_file_with_a_bad_entry(src):
    (src.splits_dir / "train.csv").write_text("2019_06_01.tif\nscene_17.tif\n")
    with pytest.raises(CatalogError, match=r"'scene_17\.tif' is not a date file name"):
        src.split_dates("train")


# --- GeoTIFF layout ----------------------------------------------------------------------------


def test_micro_source_is_valid(src):
    ds = open_source(src)
    assert ds.sizes == {"time": 4, "y": 8, "x": 12}
    np.testing.assert_array_equal(ds["pmw"].isel(x=0, y=0).values, [200.0, 201.0, 202.0, 203.0])


@pytest.mark.parametrize("static", ["dem", "land"])
def test_missing_static_file(src, static):
    src.static_path(static).unlink()
    name = src.static_path(static).name
    with pytest.raises(DataNotFoundError, match=rf"missing: .*{name}; run `meltwater demo`"):
        open_source(src)


def test_missing_variable_folder(src):
    for p in src.variable_dir("mar_wa1").iterdir():
        p.unlink()
    src.variable_dir("mar_wa1").rmdir()
    with pytest.raises(DataNotFoundError, match=r"missing: .*MAR/MARv3\.14_nearest/WA1"):
        open_source(src)


def test_missing_day_file_is_an_all_nan_day(src):
    src.day_path("pmw", DAYS[2]).unlink()
    ds = open_source(src)
    assert np.isnan(ds["pmw"].sel(time=DAYS[2]).values).all()
    assert (ds["pmw"].sel(time=DAYS[1]).values == 201.0).all()


def test_day_without_sar_and_all_nan_sar_scene(src):
    write_raster(src.day_path("sar", DAYS[3]), np.full(SHAPE, np.nan), GRID)
    ds = open_source(src)
    assert not ds["valid"].sel(time=DAYS[2]).values.any(), "no scene: nothing valid"
    assert not ds["valid"].sel(time=DAYS[3]).values.any(), "all-NaN scene: nothing valid"
    cube = open_cube(build_cube(src))
    assert cube["has_sar"].values.tolist() == [True, True, False, True]
    assert cube["split"].values.tolist() == ["train", "train", "none", "val"]
    assert int(cube["valid"].sel(time=DAYS[3]).sum()) == 0


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda raw: raw[: len(raw) // 2], r"GeoTIFF has no CRS|not a readable GeoTIFF"),
        (lambda raw: raw[:-20], r"not a readable GeoTIFF"),
        (lambda raw: raw[:8], r"not a readable GeoTIFF"),
        (lambda raw: b"", r"not a readable GeoTIFF"),
        (lambda raw: raw[:4] + os.urandom(len(raw) - 4), r"not a readable GeoTIFF|no CRS"),
    ],
    ids=["truncated-half", "truncated-tail", "header-only", "empty", "garbage"],
)
def test_corrupt_geotiff_names_the_file(src, damage, match):
    path = src.day_path("sar", DAYS[1])
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(GridMismatchError, match=rf"2019_06_02\.tif.*({match})"):
        read_raster(path, GRID)
    with pytest.raises(GridMismatchError, match=r"HH_PercentMelt/2019_06_02\.tif"):
        open_source(src)["sar"].values  # noqa: B018  (lazy: the read raises)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"crs": CRS.from_epsg(3413)}, r"different grid .*EPSG:3413"),
        ({"width": 13}, r"different grid \(shape \(8, 13\)"),
        (
            {"transform": GRID.transform @ Affine.translation(0.5, 0)},
            r"different grid .*origin \(10050\.0",
        ),
        (
            {"transform": Affine(50.0, 0, 10_000.0, 0, -50.0, 20_000.0)},
            r"different grid .*res \(50\.0",
        ),
    ],
    ids=["crs", "shape", "shifted", "resolution"],
)
def test_geotiff_on_another_grid(src, change, match):
    path = src.day_path("pmw", DAYS[0])
    _rewrite(path, **change)
    with pytest.raises(GridMismatchError, match=rf"PMWv1\.0/2019_06_01\.tif is on a {match}"):
        open_source(src)


def test_geotiff_without_crs(src):
    path = src.day_path("mar_wa1", DAYS[0])
    _rewrite(path, crs=None)
    with pytest.raises(GridMismatchError, match=r"WA1/2019_06_01\.tif: GeoTIFF has no CRS"):
        read_grid(path)
    with pytest.raises(GridMismatchError, match=r"WA1/2019_06_01\.tif: GeoTIFF has no CRS"):
        read_raster(path, GRID)
    with pytest.raises(GridMismatchError, match=r"2019_06_01\.tif"):
        open_source(src)


def test_geotiff_with_two_bands(src):
    path = src.day_path("pmw", DAYS[0])
    _rewrite(path, count=2)
    with pytest.raises(
        GridMismatchError, match=r"PMWv1\.0/2019_06_01\.tif: expected 1 band, found 2"
    ):
        open_source(src)["pmw"].values  # noqa: B018


def test_geotiff_with_complex_dtype(src):
    path = src.day_path("pmw", DAYS[0])
    _rewrite(path, dtype="complex64", nodata=None)
    with pytest.raises(
        GridMismatchError, match=r"2019_06_01\.tif: expected numeric data, got complex64"
    ):
        read_raster(path, GRID)


def test_integer_geotiff_is_read_as_float_with_nodata(src):
    path = src.day_path("pmw", DAYS[0])
    _rewrite(path, dtype="int16", nodata=-9999)
    with rasterio.open(path, "r+") as d:
        arr = d.read(1)
        arr[0, 0] = -9999
        d.write(arr, 1)
    out = read_raster(path, GRID)
    assert out.dtype == np.float32 and np.isnan(out[0, 0]) and out[0, 1] == 200.0


def test_stray_files_in_a_day_folder_are_ignored(src):
    folder = src.variable_dir("pmw")
    (folder / "notes.tif").write_bytes(b"not a raster")
    (folder / "2019_13_45.tif").write_bytes(b"bad date")
    (folder / "README.md").write_text("x")
    assert list(list_dates(folder)) == list(DAYS)


def test_year_with_no_data(src):
    with pytest.raises(
        DataNotFoundError, match=r"source 'demo' under .* has no days in years \[2016\]"
    ):
        open_source(src, years=[2016])


def test_missing_winter_mean_without_daily_pmw(src):
    src.winter_mean_path(2019).unlink()
    with pytest.raises(
        DataNotFoundError, match=r"2019_jan_feb\.tif is missing and no Jan–Feb 2019 PMW"
    ):
        build_cube(src)


# --- download ----------------------------------------------------------------------------------


def test_download_parameter_errors(tmp_path):
    real = get_source("meltwaterbench", data_root=tmp_path)
    with pytest.raises(UnknownNameError, match=r"unknown variables \['tb'\].*'variables'"):
        allow_patterns(real, variables=["tb"])
    with pytest.raises(UnknownNameError, match=r"unknown years \[2030\].*'years'.*2017"):
        download(real, years=[2030], progress=False)
    with pytest.raises(CatalogError, match=r"sources\.demo\.hub\.repo_id"):
        download(get_source("demo", data_root=tmp_path), progress=False)


def test_corrupt_manifest(tmp_path):
    real = get_source("meltwaterbench", data_root=tmp_path)
    real.root.mkdir()
    (real.root / "MANIFEST.sha256").write_text("deadbeef  raw/a.tif\n")
    with pytest.raises(DataNotFoundError, match=r"MANIFEST\.sha256 line 1 is corrupt"):
        read_manifest(real)


# --- dashboard URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "rejected"),
    [
        ({"source": "../../etc/passwd"}, "source '../../etc/passwd'"),
        ({"date": "2019-06-01T00:00:00Z"}, "date '2019-06-01T00:00:00Z'"),
        ({"date": "2019-06-02T12:00"}, "date '2019-06-02T12:00'"),
        ({"date": "2019-12-25"}, "date '2019-12-25'"),
        ({"date": "99999-01-01"}, "date '99999-01-01'"),
        ({"date": "NaT"}, "date 'NaT'"),
        ({"model": "unet\n"}, "model 'unet\\n'"),
        ({"compare": "gpt"}, "compare 'gpt'"),
        ({"tab": "<script>"}, "tab '<script>'"),
        ({"ablate": "pmw;rm"}, "ablate 'pmw;rm'"),
    ],
    ids=[
        "source-path",
        "tz-date",
        "time-of-day",
        "off-season",
        "overflow",
        "nat",
        "model-newline",
        "compare",
        "tab-html",
        "ablate",
    ],
)
def test_invalid_url_values_are_dropped_with_a_message(values, rejected):
    from fixtures.toycube import make_toy_cube

    from meltwater_dashboard.state import DashboardState
    from meltwater_dashboard.store import Store
    from meltwater_dashboard.url import apply_url

    state = DashboardState(source="toy", store=Store({"toy": make_toy_cube()}), year=2019)
    before = (state.source, state.date, state.model, state.compare, state.tab, list(state.ablate))
    assert apply_url(state, values) == [rejected]
    assert rejected in state.message
    after = (state.source, state.date, state.model, state.compare, state.tab, list(state.ablate))
    assert after == before


# --- command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["cube", "--source", "helheimm"], "meltwater cube: error: unknown source 'helheimm'"),
        (
            ["download", "--years", "1999"],
            "meltwater download: error: download: unknown years [1999]",
        ),
        (
            ["download", "--source", "demo"],
            "meltwater download: error: catalog key sources.demo.hub",
        ),
        (["cube"], "meltwater cube: error: source 'demo' under"),
    ],
    ids=["unknown-source", "bad-year", "no-hub", "no-data"],
)
def test_cli_user_errors_are_one_line(tmp_path, capsys, argv, match):
    assert main([*argv, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(match), err
    assert err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises((UnknownNameError, CatalogError, DataNotFoundError)):
        main(["--verbose", *argv, "--data-root", str(tmp_path)])


@pytest.mark.parametrize("command", ["download", "cube"])
def test_cli_non_numeric_years(tmp_path, capsys, command):
    try:
        rc = main([command, "--years", "2019,abc", "--data-root", str(tmp_path)])
    except SystemExit as e:  # argparse type errors exit 2 with a usage line
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert "--years" in err and "abc" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["precompute", "--models", "gpt"], "gpt"),
        (["train", "--config", "{tmp}/bad.yaml"], "bad.yaml"),
        (["precompute", "--years", "2030", "--models", "pmw_threshold"], "2030"),
    ],
    ids=["precompute-model", "train-yaml", "precompute-year"],
)
def test_cli_more_user_errors(src, tmp_path, capsys, argv, names):
    build_cube(src)
    (tmp_path / "bad.yaml").write_text("source: [unclosed")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([*argv, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert names in err and "Traceback" not in err

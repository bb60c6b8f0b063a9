"""A cube on object storage: a real S3 API (moto's server on 127.0.0.1) behind a catalog URL.

Round trip of the cube (values, CRS, overview levels), precompute writing to it, the commit
of `publish` (a failed upload keeps the old cube, a failed copy leaves none that opens) and a
clear error for an endpoint nobody answers.
"""

from __future__ import annotations

import fsspec.config
import numpy as np
import pytest
import xarray as xr
from fixtures.microsource import micro
from fixtures.s3server import catalog_with_cube, free_port, s3_server

from meltwater.cli import main
from meltwater.data import remote
from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube, open_level, update_cube
from meltwater.data.reads import read_netcdf
from meltwater.errors import CubeError
from meltwater.precompute import precompute

URL = "s3://cubes/demo.zarr"
VARS = ("pmw", "sar", "valid", "sar_interp", "dem", "land")


@pytest.fixture(scope="module")
def endpoint():
    """An S3-compatible server on 127.0.0.1 with an empty bucket ``cubes``."""
    yield from s3_server()


@pytest.fixture(scope="module")
def on_s3(endpoint, tmp_path_factory):
    """The micro source (4 days, 8 × 12 px) with its cube (levels ×2) published to
    s3://cubes/demo.zarr."""
    tmp = tmp_path_factory.mktemp("s3data")
    micro(tmp)
    catalog = catalog_with_cube(tmp, URL, endpoint)
    source = get_source("demo", catalog, tmp)
    fs, _ = remote.filesystem(URL)
    fs.mkdir("cubes")
    update_cube(source, overviews=(2,))
    return source


def test_catalog_url_source(on_s3, tmp_path):
    assert on_s3.cube_url == URL and on_s3.cube == URL
    assert on_s3.cube_path.name == "demo.zarr"  # the local staging copy
    assert remote.is_url(URL) and not remote.is_url(on_s3.cube_path)


def test_cube_round_trip(on_s3):
    local, cube = open_cube(on_s3.cube_path), open_cube(on_s3)
    assert cube.encoding["source"] == URL
    for v in VARS:
        np.testing.assert_array_equal(cube[v].values, local[v].values)
    assert cube.rio.crs == local.rio.crs and cube.rio.crs is not None
    assert cube.rio.transform() == local.rio.transform()
    lvl, ref = open_level(URL, 2), open_level(on_s3.cube_path, 2)
    for v in ("pmw", "sar", "dem"):
        np.testing.assert_array_equal(lvl[v].values, ref[v].values)
    assert lvl.rio.crs == local.rio.crs
    assert lvl.sizes["x"] == -(-local.sizes["x"] // 2)
    assert update_cube(on_s3).rebuilt is False  # up to date: nothing rebuilt or uploaded


def test_precompute_writes_to_the_url(on_s3, endpoint, tmp_path, capsys):
    catalog = catalog_with_cube(tmp_path, URL, endpoint)
    args = ["--catalog", str(catalog), "--data-root", str(on_s3.cube_path.parents[1])]
    main(["precompute", *args, "--models", "pmw_threshold", "--ablations", "none"])
    assert "pred_pmw_threshold: 4 days" in capsys.readouterr().out
    precompute(on_s3.cube_path, ["pmw_threshold"], (), scheduler="synchronous")
    cube, local = open_cube(URL), open_cube(on_s3.cube_path)
    pred, ref = cube["pred_pmw_threshold"].values, local["pred_pmw_threshold"].values
    np.testing.assert_array_equal(pred, ref)
    assert np.isfinite(pred).any()
    lvl, lref = open_level(URL, 2), open_level(on_s3.cube_path, 2)
    ref = lref["pred_pmw_threshold"].values
    np.testing.assert_array_equal(lvl["pred_pmw_threshold"].values, ref)
    for name in ("2019.nc", "onset_2019.nc"):  # the season summaries, beside the cube
        assert remote.stamp(f"s3://cubes/demo.summary/{name}") is not None


def test_failed_upload_keeps_the_old_cube(on_s3, endpoint, monkeypatch):
    url = "s3://cubes/atomic.zarr"
    remote.publish(on_s3.cube_path, url)
    before = open_cube(url)["pmw"].values
    fs, _ = remote.filesystem(url)

    def broken_put(*a, **k):
        raise OSError("connection reset")

    monkeypatch.setattr(fs, "put", broken_put)  # the cached instance publish uses
    with pytest.raises(OSError, match="connection reset"):
        remote.publish(on_s3.cube_path, url)
    np.testing.assert_array_equal(open_cube(url)["pmw"].values, before)
    assert not [p for p in fs.ls("cubes") if ".tmp-" in p]  # the temporary prefix is gone


def test_failed_copy_leaves_no_cube_that_opens(on_s3, monkeypatch):
    url = "s3://cubes/atomic2.zarr"
    remote.publish(on_s3.cube_path, url)
    fs, _ = remote.filesystem(url)
    copy, calls = fs.copy, []

    def flaky_copy(*a, **k):
        calls.append(1)
        if len(calls) == 2:  # the batch of objects copies, the root metadata does not
            raise OSError("copy failed")
        return copy(*a, **k)

    monkeypatch.setattr(fs, "copy", flaky_copy)
    with pytest.raises(OSError, match="copy failed"):
        remote.publish(on_s3.cube_path, url)
    with pytest.raises(CubeError, match="no analysis cube at s3://cubes/atomic2.zarr"):
        open_cube(url)
    monkeypatch.setattr(fs, "copy", copy)
    remote.publish(on_s3.cube_path, url)  # a rerun commits
    assert open_cube(url).sizes == open_cube(on_s3.cube_path).sizes


def test_unreachable_url_is_a_clear_error(tmp_path):
    port = free_port()  # nobody listens there
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "k", "secret": "s"}
    options["config_kwargs"] = {"connect_timeout": 1, "retries": {"max_attempts": 1}}
    options["retries"] = 1
    url = "s3://nowhere/demo.zarr"
    source = get_source("demo", catalog_with_cube(tmp_path, url, {}), tmp_path)
    saved = dict(fsspec.config.conf.get("s3", {}))
    try:
        fsspec.config.conf["s3"] = options
        with pytest.raises(CubeError, match=r"cube URL s3://nowhere/demo.zarr cannot be reached"):
            open_cube(source)
    finally:
        fsspec.config.conf["s3"] = saved


def test_evaluate_uploads_results_beside_the_cube(on_s3, endpoint, tmp_path, capsys):
    catalog = catalog_with_cube(tmp_path, URL, endpoint)
    args = ["--catalog", str(catalog), "--data-root", str(tmp_path)]
    main(["evaluate", *args, "--models", "pmw_threshold", "--split", "train", "--bootstrap", "1"])
    assert "results uploaded to s3://cubes/results/demo_train.nc" in capsys.readouterr().out
    local = read_netcdf(tmp_path / "results" / "demo_train.nc", "results")
    xr.testing.assert_identical(read_netcdf("s3://cubes/results/demo_train.nc", "results"), local)

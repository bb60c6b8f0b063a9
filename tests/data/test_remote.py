"""A cube on object storage: a real S3 API (moto's server on 127.0.0.1) behind a catalog URL.

Round trip of the cube (values, CRS, overview levels), precompute writing to it, the commit
of `publish` (a failed upload keeps the old cube, a failed copy leaves none that opens) and a
clear error for an endpoint nobody answers.
"""

from __future__ import annotations

import socket

import fsspec.config
import numpy as np
import pytest
import yaml
from fixtures.microsource import micro

from meltwater.cli import main
from meltwater.data import remote
from meltwater.data.catalog import get_source
from meltwater.data.cube import open_cube, open_level, update_cube
from meltwater.errors import CubeError
from meltwater.precompute import precompute
from meltwater.resources import catalog_path

URL = "s3://cubes/demo.zarr"
VARS = ("pmw", "sar", "valid", "sar_interp", "dem", "land")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint():
    """An S3-compatible server on 127.0.0.1 with an empty bucket ``cubes``."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    saved = dict(fsspec.config.conf.get("s3", {}))
    url = f"http://127.0.0.1:{port}"
    yield {"endpoint_url": url, "key": "testing", "secret": "testing"}
    fsspec.config.conf["s3"] = saved
    server.stop()


def _catalog(tmp_path, cube: str, options: dict):
    doc = yaml.safe_load(catalog_path().read_text())
    doc["sources"]["demo"]["cube"] = cube
    doc["sources"]["demo"]["cube_options"] = options
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def on_s3(endpoint, tmp_path_factory):
    """The micro source (4 days, 8 × 12 px) with its cube (levels ×2) published to
    s3://cubes/demo.zarr."""
    tmp = tmp_path_factory.mktemp("s3data")
    micro(tmp)
    catalog = _catalog(tmp, URL, endpoint)
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
    catalog = _catalog(tmp_path, URL, endpoint)
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
    port = _free_port()  # nobody listens there
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "k", "secret": "s"}
    options["config_kwargs"] = {"connect_timeout": 1, "retries": {"max_attempts": 1}}
    options["retries"] = 1
    url = "s3://nowhere/demo.zarr"
    source = get_source("demo", _catalog(tmp_path, url, {}), tmp_path)
    saved = dict(fsspec.config.conf.get("s3", {}))
    try:
        fsspec.config.conf["s3"] = options
        with pytest.raises(CubeError, match=r"cube URL s3://nowhere/demo.zarr cannot be reached"):
            open_cube(source)
    finally:
        fsspec.config.conf["s3"] = saved

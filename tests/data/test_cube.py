import shutil

import numpy as np
import pytest

from meltwater.data.catalog import get_source
from meltwater.data.cube import build_cube, open_cube
from meltwater.data.geotiff import read_raster
from meltwater.data.preprocess import neighbour_scenes
from meltwater.errors import CubeError


def test_cube_equals_the_geotiffs(tiny_source, tiny_cube):
    day = tiny_source.split_dates("test")[0]
    for v in ("pmw", "mar_wa1", "sar"):
        np.testing.assert_array_equal(
            tiny_cube[v].sel(time=day).values, read_raster(tiny_source.day_path(v, day))
        )
    np.testing.assert_array_equal(
        tiny_cube["dem"].values, read_raster(tiny_source.static_path("dem"))
    )
    assert tiny_cube.rio.crs.to_dict()["proj"] == "aea"
    assert tiny_cube["pmw"].encoding["chunks"] == (1, 64, 96)


def test_cube_labels_and_masks(tiny_source, tiny_cube):
    split = tiny_cube["split"].to_series()
    for name in ("train", "val", "test"):
        assert list(split[split == name].index) == list(tiny_source.split_dates(name))
    has_sar = tiny_cube["has_sar"].values
    assert (split[~has_sar] == "none").all()
    valid = tiny_cube["valid"].values
    assert not valid[~has_sar].any()
    assert not valid[:, ~tiny_cube["land"].values].any()


def test_sar_interp_is_the_training_neighbour_mean(tiny_source, tiny_cube):
    train = tiny_source.split_dates("train")
    target = tiny_source.split_dates("test")[3]
    near = neighbour_scenes(target, train)
    assert len(near) == 6 and target not in near
    stack = np.stack([tiny_cube["sar"].sel(time=d).values for d in near])
    count = np.isfinite(stack).sum(0)
    expected = np.where(count > 0, np.nansum(stack, 0) / np.maximum(count, 1), 0)
    got = tiny_cube["sar_interp"].sel(time=target).values
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, expected, atol=5e-4)


@pytest.fixture
def source_copy(tiny_source, tmp_path):
    shutil.copytree(tiny_source.root, tmp_path / "demo")
    return get_source("demo", data_root=tmp_path)


def test_rebuild_is_idempotent_and_interruptions_leave_no_trace(source_copy):
    path = build_cube(source_copy, years=[2018])
    before = {p: p.stat().st_mtime_ns for p in path.rglob("*")}
    assert build_cube(source_copy, years=[2018]) == path
    assert {p: p.stat().st_mtime_ns for p in path.rglob("*")} == before
    reference = open_cube(source_copy).load()
    stale = path.parent / f".{path.name}.tmp-deadbeef"
    shutil.copytree(path, stale)  # what a killed build leaves behind
    shutil.rmtree(path / "pmw")  # and a damaged final store
    with pytest.raises(CubeError, match="incomplete"):
        open_cube(source_copy)
    build_cube(source_copy, years=[2018])
    assert not stale.exists()
    rebuilt = open_cube(source_copy).load()
    assert rebuilt.drop_attrs().identical(reference.drop_attrs())


def test_open_cube_errors(tmp_path):
    with pytest.raises(CubeError, match="no analysis cube at .*meltwater cube --source demo"):
        open_cube(get_source("demo", data_root=tmp_path))
    (tmp_path / "junk.zarr").mkdir()
    with pytest.raises(CubeError, match="junk.zarr"):
        open_cube(tmp_path / "junk.zarr")

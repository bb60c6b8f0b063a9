"""Cube format 2: spatial chunks, overview levels, the level chooser and the format bump."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import zarr
from fixtures.microsource import DAYS, SHAPE, micro

from meltwater.data.cube import CUBE_VERSION, build_cube, open_cube, open_level, update_cube
from meltwater.data.overviews import (
    choose_level,
    chunk_shape,
    coarsen,
    level_coords,
    overview_factors,
)
from meltwater.errors import CorruptDataError, CubeError, InvalidArgumentError
from meltwater.precompute import precompute

MODELS = ("pmw_threshold", "sar_running_mean")
NAN = np.nan


def test_coarsen_by_hand():
    a = np.array(
        [
            [1.0, 2.0, NAN, 4.0, 5.0],
            [3.0, NAN, NAN, NAN, 7.0],
            [1.0, 1.0, 1.0, 1.0, NAN],
        ],
        np.float32,
    )
    # blocks: {1,2,3,nan} → 2; {nan,4,nan,nan} → 4; edge {5,7} → 6; {1,1} → 1; {1,1} → 1; {nan}
    np.testing.assert_array_equal(coarsen(a, 2), [[2.0, 4.0, 6.0], [1.0, 1.0, NAN]])
    wet = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], bool)
    np.testing.assert_array_equal(coarsen(wet, 2, "any"), [[True, False, True], [False] * 3])
    land = np.isfinite(a)  # 3 of 4, 1 of 4, 2 of 2 | 2 of 2, 2 of 2, 0 of 1
    np.testing.assert_array_equal(
        coarsen(land, 2, "majority"), [[True, False, True], [True, True, False]]
    )
    two = np.array([[True, False], [False, True]])  # a tie counts as land
    assert coarsen(two, 2, "majority").item() is True
    np.testing.assert_array_equal(coarsen(np.stack([a, 2 * a]), 2)[1], 2 * coarsen(a, 2))
    with pytest.raises(InvalidArgumentError, match="factor"):
        coarsen(a, 0)
    with pytest.raises(InvalidArgumentError, match="rule"):
        coarsen(a, 2, "median")


def test_chunk_and_level_rules():
    assert chunk_shape(1633, 2863) == (1024, 1024)  # the release grid: 2 × 3 chunks a day
    assert chunk_shape(384, 640) == (384, 640)  # the demo: one chunk per day
    assert chunk_shape(1633, 2863, chunk=0) == (1633, 2863)
    assert chunk_shape(1633, 2863, chunk=512) == (512, 512)
    assert overview_factors(1633, 2863) == (2, 4, 8)  # 358 px wide at ×8
    assert overview_factors(384, 640) == ()  # the demo: a day is one chunk
    assert overview_factors(1000, 1100) == (2, 4)
    assert overview_factors(64, 96) == ()
    np.testing.assert_allclose(
        level_coords(np.array([50.0, 150, 250, 350, 450]), 2), [100, 300, 500]
    )


def test_choose_level_full_view_coarse_window_fine():
    xs = np.arange(2863) * 100.0 + 50  # the release grid, rows north → south
    ys = (np.arange(1633) * 100.0 + 50)[::-1]
    full = choose_level((0, 0, 286_300, 163_300), (380, 217), xs, ys, (2, 4, 8))
    assert full.factor == 4  # 716 × 409 cells for 380 × 217 px; ×8 would be 358 < 380
    assert full.rows == (0, 409) and full.cols == (0, 716)
    zoom = choose_level((100_000, 50_000, 110_000, 60_000), (380, 380), xs, ys, (2, 4, 8))
    assert zoom.factor == 1  # 100 cells for 380 px
    # columns 1000–1099 and rows (163 300 − 60 000)/100 = 1033 … 1132, plus one cell each side
    assert zoom.cols == (999, 1101) and zoom.rows == (1032, 1134)
    half = choose_level((0, 0, 143_150, 81_650), (380, 217), xs, ys, (2, 4, 8))
    assert half.factor == 2 and half.cols == (0, 717)
    asc = choose_level((100_000, 50_000, 110_000, 60_000), (380, 380), xs, ys[::-1], ())
    assert asc.rows == (499, 601)  # rows counted as the ys given (south → north)
    with pytest.raises(InvalidArgumentError, match="extent"):
        choose_level((10, 0, 10, 5), (380, 217), xs, ys, (2,))
    with pytest.raises(InvalidArgumentError, match="plot_px"):
        choose_level((0, 0, 10, 5), (0, 217), xs, ys, (2,))


@pytest.fixture
def leveled(tmp_path):
    """The micro source (8 × 12 px) built with levels ×2, ×4 and 4 × 4 chunks, baselines done
    on its first three days."""
    src = micro(tmp_path)
    build_cube(src, overviews=(2, 4), chunk=4)
    precompute(src.cube_path, MODELS, (), dates=DAYS[:3], scheduler="synchronous")
    return src


def test_levels_are_coarsenings_of_level_zero(leveled):
    cube = open_cube(leveled)
    assert cube["pmw"].encoding["chunks"] == (1, 4, 4)
    assert cube.attrs["cube_version"] == CUBE_VERSION
    for f in (2, 4):
        level = open_level(leveled.cube_path, f)
        assert level.sizes["y"] == -(-SHAPE[0] // f) and level.sizes["x"] == -(-SHAPE[1] // f)
        assert level.rio.crs == cube.rio.crs
        assert level.rio.transform().a == f * cube.rio.transform().a
        assert level.rio.transform().c == cube.rio.transform().c  # same north-west corner
        for var in ("pmw", "sar", "sar_interp"):
            got = level[var].values.astype(np.float32)
            want = coarsen(cube[var].values, f).astype(level[var].dtype)
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(
            level["valid"].values, coarsen(cube["valid"].values, f, "any")
        )
        np.testing.assert_array_equal(
            level["land"].values, coarsen(cube["land"].values, f, "majority")
        )
        for m in MODELS:
            pred = level[f"pred_{m}"].values
            want = coarsen(cube[f"pred_{m}"].values[:3], f).astype(np.float16)
            np.testing.assert_array_equal(pred[:3], want)
            assert np.isnan(pred[3]).all()  # not computed: missing, as at level 0
    with pytest.raises(CubeError, match="no overview level 8"):
        open_level(leveled.cube_path, 8)


def test_precompute_writes_the_levels_of_its_days(leveled):
    precompute(leveled.cube_path, MODELS, (), dates=DAYS[3:], scheduler="synchronous")
    cube, level = open_cube(leveled), open_level(leveled.cube_path, 2)
    for m in MODELS:
        want = coarsen(cube[f"pred_{m}"].values, 2).astype(np.float16)
        np.testing.assert_array_equal(level[f"pred_{m}"].values, want)


def test_an_old_format_cube_is_refused_and_rebuilt_keeping_predictions(leveled, caplog):
    before = open_cube(leveled)[f"pred_{MODELS[0]}"].values
    zarr.open_group(str(leveled.cube_path), mode="r+").attrs["cube_version"] = "1"
    with pytest.raises(CubeError, match=r"cube_version '1' \(expected '2'\).*meltwater cube"):
        open_cube(leveled)
    with caplog.at_level(logging.WARNING):
        report = update_cube(leveled)
    assert report.rebuilt and report.reason == "cube format 1 is replaced by format 2"
    assert "cube format 1 is replaced by format 2; rebuilding it" in caplog.text
    assert report.carried[f"pred_{MODELS[0]}"] == (3, 3)
    np.testing.assert_array_equal(open_cube(leveled)[f"pred_{MODELS[0]}"].values, before)
    assert not update_cube(leveled).rebuilt


def test_bad_build_options_name_the_parameter(tmp_path):
    src = micro(tmp_path)
    with pytest.raises(InvalidArgumentError, match="chunk: expected"):
        update_cube(src, chunk=-1)
    with pytest.raises(InvalidArgumentError, match="overviews: expected factors ≥ 2"):
        update_cube(src, overviews=(1, 2))
    assert not src.cube_path.exists()


def test_verify_recomputes_a_damaged_level_chunk(leveled):
    group = zarr.open_group(str(leveled.cube_path))
    var = f"pred_{MODELS[0]}"
    before = group[f"overviews/2/{var}"][:3]
    chunk = leveled.cube_path / "overviews" / "2" / var / "c" / "1" / "0" / "0"
    chunk.write_bytes(np.random.default_rng(0).bytes(chunk.stat().st_size))
    with pytest.raises(CorruptDataError, match=f"{var} of 2019-06-02 in .*demo.zarr"):
        open_level(leveled.cube_path, 2)[var].load()
    precompute(leveled.cube_path, MODELS, (), dates=DAYS[:3], scheduler="synchronous", verify=True)
    np.testing.assert_array_equal(group[f"overviews/2/{var}"][:3], before)

"""Issue 14, finding 2: a cube rebuild keeps the predictions whose inputs did not change.

Each case builds the micro source's cube, stores baseline predictions, changes the source files
(touched only, one day rewritten, a training scene rewritten) and checks what the rebuilt store
still holds.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr
from fixtures.microsource import DAYS, GRID, SHAPE, micro

from meltwater.cli import main
from meltwater.data import cube as cubes
from meltwater.data.cube import build_cube, open_cube
from meltwater.data.geotiff import write_raster
from meltwater.precompute import DONE_ATTR, plan, precompute

DAYS_ATTR = "model_days"

MODELS = ("pmw_threshold", "sar_running_mean")


@pytest.fixture
def stored(tmp_path):
    """The micro source with a cube whose two baseline variables are complete."""
    src = micro(tmp_path)
    build_cube(src)
    precompute(src.cube_path, MODELS, (), scheduler="synchronous")
    return src


def _preds(src) -> dict[str, np.ndarray]:
    cube = open_cube(src)
    return {f"pred_{m}": cube[f"pred_{m}"].values for m in MODELS}


def _touch(path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # what `cp` without -a does


def test_touching_a_source_file_keeps_every_prediction(stored):
    before = _preds(stored)
    _touch(stored.day_path("pmw", DAYS[1]))
    built = open_cube(stored).attrs["source_fingerprint"]
    build_cube(stored)
    assert open_cube(stored).attrs["source_fingerprint"] != built  # rebuilt: files re-read
    after = _preds(stored)
    for var, values in before.items():
        np.testing.assert_array_equal(after[var], values)
        assert len(zarr.open_group(stored.cube_path)[var].attrs[DONE_ATTR]) == 4
    assert plan(stored.cube_path, MODELS, ()) == {}  # nothing left to recompute


def test_rebuild_reports_the_days_carried_over(stored):
    _touch(stored.day_path("pmw", DAYS[1]))
    report = cubes.update_cube(stored)
    assert report.rebuilt and report.path == stored.cube_path
    assert report.carried == {"pred_pmw_threshold": (4, 4), "pred_sar_running_mean": (4, 4)}
    assert not cubes.update_cube(stored).rebuilt


def test_a_changed_day_is_left_to_recompute(stored):
    before = _preds(stored)
    write_raster(stored.day_path("pmw", DAYS[2]), np.full(SHAPE, 260.0), GRID)  # not a train day
    report = cubes.update_cube(stored)
    assert report.carried["pred_pmw_threshold"] == (3, 4)
    after = _preds(stored)
    assert np.isnan(after["pred_pmw_threshold"][2]).all()
    np.testing.assert_array_equal(after["pred_pmw_threshold"][[0, 1, 3]], before[
        "pred_pmw_threshold"][[0, 1, 3]])  # fmt: skip
    assert sorted(plan(stored.cube_path, MODELS, ())) == [2]
    precompute(stored.cube_path, MODELS, (), scheduler="synchronous")
    assert np.isfinite(_preds(stored)["pred_pmw_threshold"][2]).all()


def test_a_changed_training_day_drops_the_fitted_baselines_not_the_unet(stored):
    from meltwater.data.provenance import create_prediction_variables, provenance_attrs

    cube = open_cube(stored)
    days = {"unet:small:abcd": ["2019-06-01", "2019-06-02"]}
    create_prediction_variables(
        stored.cube_path, cube.sizes, {"pred_unet": provenance_attrs(days, "unet:small:abcd")}
    )
    zarr.open_group(stored.cube_path, mode="r+")["pred_unet"][:2] = np.float16(0.5)
    # MAR of the training day 06-01 changes: the baselines are fitted on it, the UNet is not;
    # 06-02's own inputs (its SAR interpolation uses SAR only) are unchanged
    write_raster(stored.day_path("mar_wa1", DAYS[0]), np.full(SHAPE, 0.05), GRID)
    report = cubes.update_cube(stored)
    assert report.carried["pred_pmw_threshold"] == (0, 4)
    assert report.carried["pred_sar_running_mean"] == (0, 4)
    assert report.carried["pred_unet"] == (1, 2)
    out = open_cube(stored)["pred_unet"]
    assert out.attrs[DONE_ATTR] == ["2019-06-02"]
    assert np.isnan(out.values[0]).all() and (out.values[1] == np.float16(0.5)).all()


def test_the_unet_keeps_days_whose_own_inputs_did_not_change(stored):
    from meltwater.data.provenance import create_prediction_variables, provenance_attrs

    cube = open_cube(stored)
    unet = {"pred_unet": provenance_attrs({"unet:small:abcd": ["2019-06-01"]}, "unet:small:abcd")}
    create_prediction_variables(stored.cube_path, cube.sizes, unet)
    zarr.open_group(stored.cube_path, mode="r+")["pred_unet"][0] = np.float16(0.5)
    write_raster(stored.day_path("pmw", DAYS[3]), np.full(SHAPE, 250.0), GRID)
    report = cubes.update_cube(stored)
    assert report.carried["pred_unet"] == (1, 1)
    out = open_cube(stored)["pred_unet"]
    assert out.attrs[DAYS_ATTR] == {"unet:small:abcd": ["2019-06-01"]}
    assert (out.values[0] == np.float16(0.5)).all()


def test_a_cube_built_before_the_hashes_is_hashed_from_its_values(stored):
    group = zarr.open_group(stored.cube_path, mode="r+")
    del group["input_hash"]  # what a cube of the previous release looks like
    before = _preds(stored)
    _touch(stored.day_path("mar_wa1", DAYS[0]))
    report = cubes.update_cube(stored)
    assert report.carried["pred_sar_running_mean"] == (4, 4)
    np.testing.assert_array_equal(_preds(stored)["pred_sar_running_mean"], before[
        "pred_sar_running_mean"])  # fmt: skip


def test_cli_says_what_was_carried_over_and_when_nothing_was_rebuilt(stored, capsys):
    root = str(stored.root.parent)
    assert main(["cube", "--data-root", root]) == 0
    out = capsys.readouterr().out
    assert "is up to date" in out and "written" not in out
    before = _preds(stored)
    _touch(stored.day_path("sar", DAYS[3]))
    assert main(["cube", "--data-root", root]) == 0
    out = capsys.readouterr().out
    assert "cube written to" in out
    assert "pred_pmw_threshold: 4 of 4 days carried over" in out
    np.testing.assert_array_equal(_preds(stored)["pred_pmw_threshold"], before[
        "pred_pmw_threshold"])  # fmt: skip

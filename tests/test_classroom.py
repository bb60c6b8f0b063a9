"""meltwater.classroom: the notebook helpers, on hand-made arrays and the tiny demo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from meltwater import classroom
from meltwater.classroom import LessonSize
from meltwater.errors import CubeError


def test_lesson_size_reads_the_environment():
    fast = LessonSize.from_env({"MELTWATER_NOTEBOOK_FAST": "1"})
    full = LessonSize.from_env({})
    assert fast.fast and not full.fast
    assert fast.eval_days < full.eval_days
    assert fast.train_steps * fast.train_epochs < full.train_steps * full.train_epochs
    assert 0 < fast.dashboard_days < full.dashboard_days
    assert LessonSize.from_env({"MELTWATER_NOTEBOOK_FAST": "no"}) == full
    with pytest.raises(ValueError, match="MELTWATER_NOTEBOOK_FAST"):
        LessonSize.from_env({"MELTWATER_NOTEBOOK_FAST": "maybe"})


def test_spaced_keeps_first_and_last():
    dates = pd.date_range("2019-04-01", periods=10)
    assert list(classroom.spaced(dates, 4)) == [dates[0], dates[3], dates[6], dates[9]]
    assert len(classroom.spaced(dates, 0)) == 10
    assert len(classroom.spaced(dates, 20)) == 10


def _toy_cube(has_sar: list[bool], start: str = "2019-04-01") -> xr.Dataset:
    times = pd.date_range(start, periods=len(has_sar))
    return xr.Dataset({"has_sar": ("time", np.array(has_sar))}, coords={"time": times})


def test_revisit_gaps_within_a_season():
    cube = _toy_cube([True, False, False, True, False, True, True])
    gaps = classroom.revisit_gaps(cube)
    assert list(gaps.values) == [3, 2, 1]
    assert list(gaps.index.day) == [4, 6, 7]


def test_revisit_gaps_restart_each_season():
    a = _toy_cube([True, False, True], "2018-09-28")
    b = _toy_cube([True, False, False, True], "2019-04-01")
    gaps = classroom.revisit_gaps(xr.concat([a, b], dim="time"))
    # 2018-09-28 → 09-30 is 2 days; 2019-04-01 starts a new season (no gap); then 3 days
    assert list(gaps.values) == [2, 3]


def test_block_size_of_nearest_upsampled_blocks():
    rng = np.random.default_rng(0)
    coarse = rng.uniform(size=(5, 7))
    field = np.kron(coarse, np.ones((6, 6)))
    assert classroom.block_size(field) == 6
    assert classroom.block_size(rng.uniform(size=(20, 20))) == 1


def test_block_size_ignores_masked_pixels_and_small_domains():
    field = np.kron(np.arange(12.0).reshape(3, 4), np.ones((4, 4)))
    mask = np.ones_like(field, bool)
    mask[:, :2] = False  # a masked strip must not create short runs
    assert classroom.block_size(field, mask) == 4
    two_blocks = np.kron(np.array([[0.0, 1.0]]), np.ones((5, 5)))
    assert classroom.block_size(two_blocks) == 5  # no bounded run: the longest
    with pytest.raises(ValueError, match="2-D"):
        classroom.block_size(np.zeros(4))


def test_block_mean_by_hand():
    field = np.array([[1.0, 3.0, 10.0], [5.0, 7.0, 20.0]])
    out = classroom.block_mean(field, 2)
    np.testing.assert_allclose(out, [[4.0, 4.0, 15.0], [4.0, 4.0, 15.0]])
    mask = np.array([[True, False, False], [True, True, False]])
    out = classroom.block_mean(field, 2, mask)
    np.testing.assert_allclose(out[0, :2], [13 / 3, 13 / 3])
    assert np.isnan(out[0, 2])


def test_elevation_profile_by_hand():
    values = np.array([1.0, 0.0, 0.5, 0.25, 9.0])
    elev = np.array([10.0, 240.0, 260.0, 499.0, 700.0])
    mask = np.array([True, True, True, True, False])
    prof = classroom.elevation_profile(values, elev, mask, step=250)
    assert list(prof.index) == [0.0, 250.0]
    np.testing.assert_allclose(prof.values, [0.5, 0.375])


class _Fake:
    """Predicts SAR + 0.1 over valid pixels; each ablated channel adds 0.2 more."""

    def predict(self, cube, date, ablate=()):
        sar = np.nan_to_num(cube["sar"].sel(time=date).values)
        return xr.DataArray(np.clip(sar + 0.1 + 0.2 * len(ablate), -9, 9), dims=("y", "x"))


def _scored_cube() -> xr.Dataset:
    times = pd.date_range("2019-06-01", periods=3)
    sar = np.zeros((3, 4, 5), np.float32)
    sar[:, :, :2] = 0.5
    sar[1] = np.nan
    valid = np.isfinite(sar)
    return xr.Dataset(
        {
            "sar": (("time", "y", "x"), sar),
            "valid": (("time", "y", "x"), valid),
            "has_sar": ("time", np.array([True, False, True])),
        },
        coords={"time": times, "y": np.arange(4.0), "x": np.arange(5.0)},
    )


def test_score_days_and_ablation_scores_by_hand():
    cube = _scored_cube()
    days = [cube.time.values[0], cube.time.values[2]]
    scores = classroom.score_days(_Fake().predict, cube, days)
    np.testing.assert_allclose(scores["mae"], [0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(scores["bias"], [0.1, 0.1], atol=1e-6)
    np.testing.assert_allclose(scores["sar_melt_fraction"], [0.2, 0.2], atol=1e-6)
    # 0.1 (> threshold) predicted where SAR is 0: 12 of 20 pixels wrong
    np.testing.assert_allclose(scores["accuracy"], [0.4, 0.4])
    table = classroom.ablation_scores(_Fake().predict, cube, days, channels=("pmw", "dem"))
    assert list(table.index) == ["all inputs", "no pmw", "no dem"]
    np.testing.assert_allclose(table["delta_mae"], [0.0, 0.2, 0.2], atol=1e-6)
    with pytest.raises(CubeError, match="no SAR scene"):
        classroom.score_days(_Fake().predict, cube, [cube.time.values[1]])


def test_with_predictions_has_the_cube_schema(tiny_cube):
    from meltwater.evaluation.summaries import daily_summary, models_in
    from meltwater.models.registry import get_predictor

    dates = pd.DatetimeIndex(tiny_cube.time.values[60:64])
    p = get_predictor("pmw_threshold", tiny_cube)
    sub = classroom.with_predictions(tiny_cube, {"pmw_threshold": p}, dates, progress=False)
    assert models_in(sub) == ["pmw_threshold"]
    assert sub["pred_pmw_threshold"].dtype == np.float16
    assert sub.sizes["time"] == 4 and sub.rio.crs == tiny_cube.rio.crs
    expected = p.predict(tiny_cube, dates[1]).values
    np.testing.assert_allclose(sub["pred_pmw_threshold"].values[1], expected, atol=1e-3)
    summary = daily_summary(sub, progress=False)
    assert summary.sizes == {"model": 1, "time": 4}


def test_tiny_demo_reuses_a_tiny_catalog_demo(tiny_data_root, monkeypatch):
    monkeypatch.setenv("MELTWATER_DATA", str(tiny_data_root))
    source = classroom.tiny_demo()
    assert source.root == tiny_data_root / "demo"


def test_scratch_dir_is_below_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    assert classroom.scratch_dir("runs") == tmp_path / "classroom" / "runs"
    assert (tmp_path / "classroom" / "runs").is_dir()


def test_resolution_of_the_demo_inputs(tiny_cube):
    from meltwater.data.synthetic import DemoConfig

    cfg = DemoConfig.preset("tiny")
    has = tiny_cube["has_sar"].to_series()
    day = has.index[has.values & (has.index.month == 7)][0]
    res = classroom.resolution_km(tiny_cube, day, ("pmw", "sar"))
    pmw_px = round(cfg.pmw_km * 1000 / cfg.res)  # the generator's PMW cell in 100 m pixels
    assert res["pmw"] == pytest.approx(pmw_px * cfg.res / 1000)
    assert res["sar"] == pytest.approx(0.1)

"""Evaluation results: hand-computed values on tests/scicube.py, round trip, tiny demo, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from fixtures.scicube import NX, NY, OCEAN_COLS, cube_dates, make_cube

from meltwater.cli import main
from meltwater.errors import CubeError
from meltwater.evaluation import evaluate as E
from meltwater.evaluation.predictors import make_predictors
from meltwater.evaluation.thresholds import split_scores

LAND_PX = NY * (NX - OCEAN_COLS)


@pytest.fixture(scope="module")
def hand():
    """SAR: 1 in the top 12 rows, 0 below; stored predictions: ones, and 0.75 top / 0 below."""
    nt = len(cube_dates())
    top = np.zeros((NY, NX), np.float32)
    top[: NY // 2] = 1.0
    cube = make_cube(sar=np.broadcast_to(top, (nt, NY, NX)).copy())
    cube["pred_linear_dem"] = (("time", "y", "x"), np.ones((nt, NY, NX), np.float16))
    cube["pred_pmw_threshold"] = (
        ("time", "y", "x"),
        np.broadcast_to(0.75 * top, (nt, NY, NX)).astype(np.float16),
    )
    cube.attrs["source"] = "hand"
    ds = E.evaluate(cube, ["linear_dem", "pmw_threshold"], "test", ssim_sigma=2.0, progress=False)
    return cube, ds


def test_per_image_scores(hand):
    _, ds = hand
    assert ds.sizes["time"] == 2 and list(ds.model.values) == ["linear_dem", "pmw_threshold"]
    ones = ds.scores.sel(model="linear_dem")
    assert np.allclose(ones.sel(metric="bias"), 0.5)
    assert np.allclose(ones.sel(metric="mae"), 0.5)
    assert np.allclose(ones.sel(metric="accuracy"), 0.5)
    assert np.allclose(ones.sel(metric="precision"), 0.5)
    assert np.allclose(ones.sel(metric="recall"), 1.0)
    assert np.allclose(ones.sel(metric="r2"), -1.0)  # 1 - 0.5 / 0.25
    part = ds.scores.sel(model="pmw_threshold")
    assert np.allclose(part.sel(metric="bias"), -0.125)
    assert np.allclose(part.sel(metric="rmse"), np.sqrt(0.0625 / 2))
    assert np.allclose(part.sel(metric="r2"), 1 - (0.0625 / 2) / 0.25)
    assert (ds.n_valid == LAND_PX).all()


def test_aggregates_and_curves(hand):
    _, ds = hand
    agg = ds.aggregates.sel(model="pmw_threshold", metric="mae")
    assert float(agg.sel(stat="mean")) == pytest.approx(0.125)
    assert float(agg.sel(stat="std")) == pytest.approx(0.0)
    assert float(agg.sel(stat="weighted")) == pytest.approx(0.125)
    # test days: 11 June and 5 September
    assert float(ds.month_bias.sel(model="linear_dem", month=6)) == pytest.approx(0.5)
    assert np.isnan(float(ds.month_bias.sel(model="linear_dem", month=7)))
    assert float(ds.month_sar_melt_fraction.sel(month=9)) == pytest.approx(0.5)
    assert float(ds.month_melt_fraction.sel(model="pmw_threshold", month=9)) == pytest.approx(0.375)
    assert float(ds.season_day_bias.sel(model="pmw_threshold", season_day=71)) == pytest.approx(
        -0.125
    )
    assert int(ds.season_day_bias.notnull().sum()) == 4  # 2 models x 2 days


def test_gap_bins(hand):
    _, ds = hand
    # nearest training scenes: day 12 for day 10 (day 8 is val), day 22 / 26 for day 24
    assert list(ds.gap_days.values) == [2.0, 2.0]
    assert list(ds.gap_images.values) == [0, 2, 0, 0]
    assert float(ds.gap_mae.sel(model="linear_dem", gap_bin="2-3")) == pytest.approx(0.5)
    assert list(E.gap_bin(np.array([1, 2, 3, 4, 6, 7, np.inf]))) == [0, 1, 1, 2, 2, 3, 3]


def test_melt_area_every_day(hand):
    cube, ds = hand
    assert ds.sizes["day"] == cube.sizes["time"]
    assert np.allclose(ds.melt_area_km2.sel(model="linear_dem"), LAND_PX * 0.01)
    assert np.allclose(ds.melt_area_km2.sel(model="pmw_threshold"), LAND_PX / 2 * 0.01)
    sar_area = ds.sar_melt_area_km2.values
    assert np.allclose(sar_area[::2], LAND_PX / 2 * 0.01) and np.isnan(sar_area[1::2]).all()


def test_elevation_bias(hand):
    _, ds = hand
    # DEM = 100 m per row from the bottom; rows >= 1200 m melt. Ones: bias 1 below 1200 m.
    assert list(ds.elev_band.values) == ["0-500", "500-1000", "1000-1500", "1500-2000", "2000-2500"]
    b = ds.elevation_bias.sel(model="linear_dem", month=6).values
    np.testing.assert_allclose(b, [1.0, 1.0, 0.4, 0.0, 0.0])
    assert float(ds.elevation_pixels.sel(elev_band="1000-1500", month=6)) == 5 * (NX - OCEAN_COLS)
    assert np.isnan(ds.elevation_bias.sel(month=7)).all()


def test_threshold_counts(hand):
    _, ds = hand
    c = ds.threshold_counts
    assert c.dims == ("model", "time", "threshold", "outcome") and c.sizes["threshold"] == 18
    half = LAND_PX // 2
    ones = c.sel(model="linear_dem")  # 1 > every threshold: the dry half is false melt
    assert (ones.sel(outcome="tp") == half).all() and (ones.sel(outcome="fp") == half).all()
    part = c.sel(model="pmw_threshold", time=c.time[0])  # 0.75 is melt below 0.75 only
    assert list(part.sel(threshold=0.7).values) == [half, 0, 0, half]
    assert list(part.sel(threshold=0.75).values) == [0, 0, half, half]
    s = split_scores(c).sel(model="pmw_threshold")
    assert float(s.sel(score="accuracy", threshold=0.1)) == float(
        ds.aggregates.sel(model="pmw_threshold", metric="accuracy", stat="mean")
    )
    assert float(s.sel(score="csi", threshold=0.8)) == 0.0


def test_score_cards(hand):
    _, ds = hand
    assert ds.elevation_sums.dims == ("model", "time", "elev_band", "sum")
    month = ds.card_month.sel(model="linear_dem", card_metric="mae")
    assert list(month.sel(month=6).values) == [0.5, 0.5, 0.5]  # one June image: no spread
    assert np.isnan(month.sel(month=7)).all()
    elev = ds.card_elevation.sel(model="linear_dem", card_metric="mae", bound="value")
    np.testing.assert_allclose(elev.values, [1.0, 1.0, 0.4, 0.0, 0.0])  # = elevation_bias
    width = ds.card_elevation.sel(bound="hi") - ds.card_elevation.sel(bound="lo")
    assert float(abs(width).max()) < 1e-12  # the two test images are identical
    assert ds.card_month.attrs == {"n_boot": 1000, "seed": 0, "level": 0.9}


def test_attrs_and_table(hand):
    _, ds = hand
    assert ds.attrs["prediction_source"] == '{"linear_dem": "cube", "pmw_threshold": "cube"}'
    assert ds.attrs["schema_version"] == E.SCHEMA_VERSION
    table = E.results_table(ds)
    assert "| model | Accuracy | MAE | RMSE | R² | SSIM | Bias |" in table
    assert "| pmw_threshold | 1.000 ± 0.000 | 0.125 ± 0.000 |" in table


def test_round_trip(hand, tmp_path):
    _, ds = hand
    path = E.write_results(ds, E.results_path(tmp_path, "hand", "test"))
    assert path == tmp_path / "results" / "hand_test.nc"
    assert [p.name for p in path.parent.iterdir()] == ["hand_test.nc"]  # no temp left
    back = xr.load_dataset(path)
    for v in ds.data_vars:
        np.testing.assert_allclose(back[v].values, ds[v].values, equal_nan=True)
    assert list(back.model.values) == list(ds.model.values)
    assert list(back.gap_bin.values) == list(E.GAP_BINS)
    assert back.attrs == ds.attrs


def test_errors():
    cube = make_cube()
    with pytest.raises(CubeError, match="split 'deploy'"):
        E.evaluate(cube, ["linear_dem"], "deploy", progress=False)
    with pytest.raises(CubeError, match="SAR days"):
        E.evaluate(cube, ["linear_dem"], dates=pd.DatetimeIndex(["2019-06-02"]), progress=False)
    with pytest.raises(KeyError, match="valid"):
        E.evaluate(cube, ["nope"], progress=False)


def test_threads_match_serial():
    cube = make_cube()
    kw = dict(ssim_sigma=2.0, progress=False, area_days="split")
    one = E.evaluate(cube, ["mar_interp", "sar_running_mean"], workers=1, **kw)
    two = E.evaluate(cube, ["mar_interp", "sar_running_mean"], workers=2, **kw)
    xr.testing.assert_allclose(one.drop_attrs(), two.drop_attrs())
    assert one.sizes["day"] == 2


def test_tiny_demo_baselines(tiny_cube):
    models = ["mar_interp", "pmw_threshold", "sar_running_mean", "linear_dem"]
    ds = E.evaluate(tiny_cube, models, "test", ssim_sigma=3.0, area_days="split", progress=False)
    assert ds.sizes["time"] == int((tiny_cube.split == "test").sum())
    acc = ds.scores.sel(metric="accuracy")
    assert ((acc >= 0) & (acc <= 1)).all()
    assert np.isfinite(ds.aggregates.sel(stat="weighted", metric=["mae", "rmse", "ssim"])).all()
    assert ds.sizes["day"] == ds.sizes["time"]
    params = ds.attrs["model_params"]
    assert '"brightness"' in params and '"slope": 0.48' in params


def test_baseline_maps_carry_the_cube_crs(tiny_cube):
    import rioxarray  # noqa: F401

    from meltwater.models.registry import get_predictor

    day = tiny_cube.time.values[tiny_cube.split.values == "test"][0]
    pred = get_predictor("pmw_threshold", tiny_cube).predict(tiny_cube, day)
    assert pred.rio.crs is not None and pred.rio.crs == tiny_cube.rio.crs
    assert pred.rio.transform() == tiny_cube.rio.transform()


def test_sar_running_mean_equals_cube_channel(tiny_cube):
    # the cube stores sar_interp as float16: equal to its precision
    from meltwater.models.registry import get_predictor

    p = get_predictor("sar_running_mean", tiny_cube)
    for d in tiny_cube.time.values[tiny_cube.split.values == "test"][:3]:
        np.testing.assert_allclose(
            p.predict(tiny_cube, d).values, tiny_cube.sar_interp.sel(time=d).values, atol=1e-3
        )


def test_cli_evaluate(tiny_source, tiny_data_root, capsys):
    rc = main(
        [
            "evaluate",
            "--data-root",
            str(tiny_data_root),
            "--models",
            "pmw_threshold,linear_dem",
            "--area-days",
            "split",
        ]
    )
    assert rc == 0
    nc = tiny_data_root / "results" / "demo_test.nc"
    md = nc.with_suffix(".md")
    assert nc.is_file() and md.is_file()
    assert "| linear_dem |" in md.read_text()
    out = capsys.readouterr().out
    assert "| pmw_threshold |" in out and str(nc) in out
    assert main(["evaluate", "--data-root", str(tiny_data_root), "--models", "x"]) == 2


def test_slow_live_models_area_on_scored_days_only():
    cube = make_cube()
    models = ["random_forest", "pmw_threshold"]
    preds = make_predictors(
        cube,
        models,
        cube.time.to_index()[cube.split.values == "train"],
        baseline_kwargs={"random_forest": {"n_estimators": 2, "max_depth": 3}},
    )
    ds = E.evaluate(cube, models, predictors=preds, ssim_sigma=2.0, progress=False)
    rf = ds.melt_area_km2.sel(model="random_forest")
    scored = ds.day.isin(ds.time.values)
    assert np.isfinite(rf.where(scored, drop=True)).all()
    assert np.isnan(rf.where(~scored, drop=True)).all()
    assert np.isfinite(ds.melt_area_km2.sel(model="pmw_threshold")).all()
    assert ds.attrs["area_models"] == "pmw_threshold"


def test_prediction_source_cube_plus_live():
    cube = make_cube()
    nt = len(cube_dates())
    stored = np.full((nt, NY, NX), np.nan, np.float16)
    stored[10] = 0.5  # only the first test day is stored
    cube["pred_linear_dem"] = (("time", "y", "x"), stored)
    ds = E.evaluate(cube, ["linear_dem"], ssim_sigma=2.0, area_days="split", progress=False)
    assert ds.attrs["prediction_source"] == '{"linear_dem": "cube+live"}'
    assert '"pooled"' in ds.attrs["model_params"]
    assert float(ds.melt_fraction.isel(model=0, time=0)) == pytest.approx(0.5)


def test_default_models(tmp_path):
    cube = make_cube()
    baselines = ["mar_interp", "pmw_threshold", "sar_running_mean", "linear_dem", "random_forest"]
    assert E.default_models(cube, models_dir=tmp_path) == baselines
    cube["pred_unet"] = cube["sar_interp"]
    assert E.default_models(cube, models_dir=tmp_path) == ["unet", *baselines]


def test_unet_provenance_in_attrs():
    import json

    from meltwater.models.checkpoint import CheckpointMeta
    from meltwater.models.registry import UNetWrapper

    class FakeUNet:
        meta = CheckpointMeta(
            name="unet_fake",
            model={"encoder_name": "tu-resnet10t"},
            norm_stats={},
            training={"epochs": 7},
            created="2026-01-01T00:00:00Z",
        )

        def predict(self, cube, date, ablate=()):
            return cube["sar_interp"].sel(time=date)

    cube = make_cube()
    ds = E.evaluate(
        cube, ["unet"], predictors={"unet": UNetWrapper(FakeUNet())}, ssim_sigma=2.0, progress=False
    )
    params = json.loads(ds.attrs["model_params"])["unet"]
    assert params["checkpoint"] == "unet_fake" and params["epochs"] == 7
    assert np.allclose(ds.scores.sel(model="unet", metric="bias"), -0.5 * np.ones(2), atol=0.1)

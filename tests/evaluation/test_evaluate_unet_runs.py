"""Evaluation of the UNet's input ablations and of its spread-vs-error calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures.scicube import NX, NY, OCEAN_COLS, cube_dates, make_cube

from meltwater.errors import InvalidArgumentError, UnknownNameError
from meltwater.evaluation import evaluate as E
from meltwater.models.registry import UNetWrapper

LAND_HALF = NY // 2 * (NX - OCEAN_COLS)  # valid pixels in the top (or bottom) half of a day
ABLATED = {"pmw": 0.25, "dem": 1.0}  # the fake UNet's constant map with that channel off


class FakeUNet:
    """0.75 where SAR melts (top half), 0 below; a constant map with a channel off."""

    meta = None

    def __init__(self, top: np.ndarray):
        self.top = top
        self.calls: list[tuple] = []

    def predict(self, cube, date, ablate=()):
        self.calls.append(tuple(ablate))
        value = 0.75 * self.top if not ablate else np.full_like(self.top, ABLATED[ablate[0]])
        return cube["sar_interp"].sel(time=date).copy(data=value)


@pytest.fixture(scope="module")
def cube():
    nt = len(cube_dates())
    top = np.zeros((NY, NX), np.float32)
    top[: NY // 2] = 1.0
    c = make_cube(sar=np.broadcast_to(top, (nt, NY, NX)).copy())
    stored = np.full((nt, NY, NX), np.nan, np.float16)
    stored[[10, 24]] = 0.5  # the test days of pred_unet_no_dem are stored (0.5, not live 1.0)
    c["pred_unet_no_dem"] = (("time", "y", "x"), stored)
    spread = np.full((nt, NY, NX), np.nan, np.float16)
    spread[[10, 24]] = np.where(top > 0, 0.06, 0.0)  # unsure where it errs (the top half)
    c["unc_unet"] = (("time", "y", "x"), spread)
    c.attrs["source"] = "hand"
    return c, top


def _evaluate(cube, top, **kw):
    unet = FakeUNet(top)
    preds = {"unet": UNetWrapper(unet)}
    ds = E.evaluate(cube, ["unet"], predictors=preds, ssim_sigma=2.0, progress=False, **kw)
    return ds, unet


def test_ablations_are_models_of_the_results(cube):
    c, top = cube
    ds, unet = _evaluate(c, top, ablations=["pmw", "dem"], area_days="split")
    assert list(ds.model.values) == ["unet", "unet_no_pmw", "unet_no_dem"]
    mae = ds.scores.sel(metric="mae")
    assert np.allclose(mae.sel(model="unet"), 0.125)  # 0.25 error on half the pixels
    assert np.allclose(mae.sel(model="unet_no_pmw"), 0.5)  # 0.75 top, 0.25 below
    assert np.allclose(ds.scores.sel(model="unet_no_pmw", metric="bias"), -0.25)
    # pred_unet_no_dem is read from the cube on the stored days: 0.5 everywhere, MAE 0.5
    assert np.allclose(ds.melt_fraction.sel(model="unet_no_dem"), 0.5)
    assert ("dem",) not in unet.calls and unet.calls.count(("pmw",)) == 2
    source = json.loads(ds.attrs["prediction_source"])
    assert source == {"unet": "live", "unet_no_pmw": "live", "unet_no_dem": "cube"}
    assert ds.attrs["ablations"] == "unet_no_pmw,unet_no_dem"
    assert "unet_no_pmw" in E.results_table(ds)


def test_ablations_are_not_in_the_every_day_area_series(cube):
    c, top = cube
    ds, _ = _evaluate(c, top, ablations=["pmw"])
    assert ds.attrs["area_models"] == ""  # a live UNet: scored days only, like its ablations
    area = ds.melt_area_km2.sel(model="unet_no_pmw")
    scored = ds.day.isin(ds.time.values)
    assert np.isfinite(area.where(scored, drop=True)).all()
    assert np.isnan(area.where(~scored, drop=True)).all()


def test_ablation_errors(cube):
    c, top = cube
    with pytest.raises(InvalidArgumentError, match="need 'unet' among the models"):
        E.evaluate(c, ["pmw_threshold"], ablations=["dem"], progress=False)
    with pytest.raises(UnknownNameError, match="unknown channel"):
        _evaluate(c, top, ablations=["sar"])


def test_calibration_curve_from_the_stored_spread(cube):
    c, top = cube
    ds, _ = _evaluate(c, top, n_boot=7, seed=3)
    pixels = ds.calibration_pixels.values.tolist()
    # bottom half: spread 0 (bin 0), error 0; top half: spread 0.06 (bin 0.05-0.1), error 0.25
    assert pixels == [2 * LAND_HALF, 0, 0, 2 * LAND_HALF, 0, 0, 0]
    assert ds.calibration_mae.values[0] == pytest.approx(0.0)
    assert ds.calibration_mae.values[3] == pytest.approx(0.25)
    assert ds.calibration_spread.values[3] == pytest.approx(0.06, abs=1e-4)  # float16 0.06
    assert np.isnan(ds.calibration_mae.values[[1, 2, 4, 5, 6]]).all()
    assert list(ds.spread_lo.values[:2]) == [0.0, 0.01]
    assert ds.spread_sums.sizes == {"time": 2, "spread_bin": 7, "spread_sum": 3}
    assert ds.attrs["calibration"] == "unc_unet"
    assert (ds.attrs["n_boot"], ds.attrs["seed"]) == (7, 3)
    assert ds.card_month.attrs["n_boot"] == 7


def test_no_calibration_without_a_spread(cube):
    c, top = cube
    ds, _ = _evaluate(c.drop_vars("unc_unet"), top)
    assert "calibration_mae" not in ds and "spread_bin" not in ds.dims
    assert ds.attrs["calibration"] == "the cube has no unc_unet (meltwater precompute)"


def test_spread_of_another_checkpoint_is_left_out(cube):
    c, top = cube
    c = c.copy()
    days = {"unet_tta4:other:ffffffffffffffff": ["2019-06-11", "2019-09-05"]}
    c["unc_unet"] = c["unc_unet"].assign_attrs(
        model_days=days, days_done=days["unet_tta4:other:ffffffffffffffff"]
    )
    c["pred_unet"] = c["sar_interp"].astype(np.float16)
    pdays = {"unet:small:0123456789abcdef": ["2019-06-11", "2019-09-05"]}
    c["pred_unet"].attrs.update(model_days=pdays, days_done=pdays["unet:small:0123456789abcdef"])
    ds = E.evaluate(c, ["unet"], ssim_sigma=2.0, progress=False)
    assert "calibration_mae" not in ds
    assert ds.attrs["calibration"] == (
        "unc_unet is of unet_tta4:other:ffffffffffffffff, the scored UNet is "
        "unet:small:0123456789abcdef"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--bootstrap", "0"],
            "argument --bootstrap: expected an integer from 1 to 100000, got '0'",
        ),
        (["--bootstrap", "9" * 30], "argument --bootstrap: expected an integer from 1 to 100000"),
        (["--seed", "-1"], "argument --seed: expected an integer from 0 to 4294967295, got '-1'"),
        (["--seed", "<b>x</b>"], "argument --seed: expected an integer"),
    ],
)
def test_cli_bootstrap_and_seed_are_checked(args, message, capsys):
    from meltwater.cli import main

    with pytest.raises(SystemExit) as e:
        main(["evaluate", *args])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_cli_writes_bootstrap_seed_and_checks_ablations(tiny_data_root, capsys):
    from meltwater.cli import main
    from meltwater.evaluation.results import read_results

    root = ["--data-root", str(tiny_data_root), "--area-days", "split"]
    assert main(["evaluate", *root, "--models", "pmw_threshold", "--ablations", "dem"]) == 2
    assert "ablations of the UNet need 'unet' in --models" in capsys.readouterr().err
    assert main(["evaluate", *root, "--models", "unet", "--ablations", "x"]) == 2
    assert "--ablations: unknown ['x']" in capsys.readouterr().err
    args = ["--models", "pmw_threshold", "--bootstrap", "5", "--seed", "11"]
    assert main(["evaluate", *root, *args]) == 0
    ds = read_results(tiny_data_root / "results" / "demo_test.nc")
    assert (int(ds.attrs["n_boot"]), int(ds.attrs["seed"])) == (5, 11)
    assert int(ds.card_elevation.attrs["n_boot"]) == 5

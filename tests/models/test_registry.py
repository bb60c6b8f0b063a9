"""get_predictor: baselines behind one interface, precomputed cube predictions, errors."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.scicube import NX, NY, cube_dates, make_cube, split_dates

from meltwater.data import cube as cube_mod
from meltwater.errors import CubeError
from meltwater.models import registry as P
from meltwater.schema import pred_var


def test_model_names():
    assert P.MODEL_NAMES[0] == "unet"
    assert set(P.MODEL_NAMES[1:]) == {
        "mar_interp",
        "pmw_threshold",
        "sar_running_mean",
        "linear_dem",
        "random_forest",
    }


def test_baseline_predictor_and_default_train_dates():
    cube = make_cube()
    p = P.get_predictor("linear_dem", cube)
    assert p.name == "linear_dem"
    explicit = P.get_predictor("linear_dem", cube, split_dates(cube, "train"))
    day = cube_dates()[10]
    np.testing.assert_array_equal(p.predict(cube, day).values, explicit.predict(cube, day).values)
    assert list(cube_mod.split_dates(cube, "train")) == list(split_dates(cube, "train"))


def test_baseline_rejects_ablation():
    cube = make_cube()
    p = P.get_predictor("pmw_threshold", cube)
    with pytest.raises(ValueError, match="UNet only"):
        p.predict(cube, cube_dates()[0], ablate=("dem",))


def test_unknown_model_lists_names():
    with pytest.raises(KeyError, match="valid: .*'unet'"):
        P.get_predictor("cnn", make_cube())


def test_cube_predictor_reads_store_and_falls_back():
    cube = make_cube()
    nt = len(cube_dates())
    stored = np.full((nt, NY, NX), 0.25, np.float16)
    stored[3] = np.nan  # a day precompute left empty
    cube["pred_linear_dem"] = (("time", "y", "x"), stored)
    live = P.get_predictor("linear_dem", cube)
    p = P.CubePredictor("linear_dem", live)
    got = p.predict(cube, cube_dates()[0])
    assert got.dtype == np.float32 and got.dims == ("y", "x")
    assert (got.values == 0.25).all()
    np.testing.assert_array_equal(
        p.predict(cube, cube_dates()[3]).values, live.predict(cube, cube_dates()[3]).values
    )
    with pytest.raises(CubeError, match="pred_linear_dem"):
        P.CubePredictor("linear_dem").predict(cube, cube_dates()[3])
    assert pred_var("unet", ("pmw", "dem")) == "pred_unet_no_pmw_no_dem"


def test_unet_without_registry_is_a_checkpoint_error(tmp_path):
    from meltwater.errors import CheckpointError

    with pytest.raises(CheckpointError, match="models.yaml"):
        P.get_predictor("unet", make_cube(), models_dir=tmp_path)

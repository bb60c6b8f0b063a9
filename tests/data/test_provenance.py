"""Issue 14, findings 3 and 9: per-day model provenance of ``pred_*`` variables.

Precompute records which model wrote each day; another model clears those days first; every
reader of an opened cube shows an unrecorded day as missing and refuses a variable that mixes
models; ``--overwrite`` of some days keeps the others recorded.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
import zarr
from fixtures.microsource import DAYS, micro
from fixtures.smallmodel import write_small_registry

from meltwater.data.cube import build_cube, open_cube
from meltwater.data.preprocess import NormStats
from meltwater.errors import CubeError
from meltwater.evaluation.summaries import daily_summary, day_map
from meltwater.models.checkpoint import CheckpointMeta, save_checkpoint
from meltwater.models.unet import ModelConfig, build_model
from meltwater.precompute import DONE_ATTR, MODEL_ATTR, precompute

SMALL = ModelConfig("resnet18", 3, (16, 8, 8))
BASE = ("pmw_threshold", "sar_running_mean")


@pytest.fixture(scope="module")
def registries(tiny_cube, tmp_path_factory):
    """Two registries whose default ``small`` UNet has different weights (a retrained model)."""
    first = write_small_registry(tmp_path_factory.mktemp("models_a"), tiny_cube, SMALL)
    second = tmp_path_factory.mktemp("models_b") / "m"
    shutil.copytree(first, second)
    torch.manual_seed(1)
    stats = NormStats.paper().to_dict()
    meta = CheckpointMeta(name="small", model=SMALL.to_dict(), norm_stats=stats)
    save_checkpoint(build_model(SMALL).eval(), second / "small", meta)
    return first, second


@pytest.fixture
def tiny_copy(tiny_source, tmp_path):
    dst = tmp_path / "demo.zarr"
    shutil.copytree(tiny_source.cube_path, dst)
    return dst


@pytest.fixture
def micro_cube(tmp_path):
    src = micro(tmp_path)
    build_cube(src)
    precompute(src.cube_path, BASE, (), scheduler="synchronous")
    return src.cube_path


def _unet(path, models_dir, days):
    return precompute(path, ("unet",), (), dates=days, models_dir=models_dir,
                      scheduler="synchronous")  # fmt: skip


def test_a_new_model_for_some_days_clears_the_old_models_other_days(tiny_copy, registries):
    first, second = registries
    days = open_cube(tiny_copy).indexes["time"][:6]
    _unet(tiny_copy, first, days)
    old_id = zarr.open_group(tiny_copy)["pred_unet"].attrs[MODEL_ATTR]
    _unet(tiny_copy, second, days[3:])  # `precompute --years 2019` after retraining
    attrs = zarr.open_group(tiny_copy)["pred_unet"].attrs
    assert attrs[MODEL_ATTR] != old_id
    assert attrs[DONE_ATTR] == list(days[3:].strftime("%Y-%m-%d"))
    assert attrs["model_days"] == {attrs[MODEL_ATTR]: list(days[3:].strftime("%Y-%m-%d"))}
    raw = zarr.open_group(tiny_copy)["pred_unet"][:6]
    assert np.isnan(raw[:3]).all(), "the old model's chunks must not stay behind"
    assert np.isfinite(raw[3:]).all()


def test_a_live_day_is_never_filled_by_another_model(tiny_copy, registries):
    from meltwater.errors import MixedModelsError
    from meltwater.models.registry import CubePredictor, get_predictor

    first, second = registries
    days = open_cube(tiny_copy).indexes["time"][:3]
    _unet(tiny_copy, first, days)
    cube = open_cube(tiny_copy)
    same = CubePredictor("unet", get_predictor("unet", cube, models_dir=first))
    assert np.isfinite(same.predict(cube, cube.indexes["time"][5]).values).all()  # live, same
    other = CubePredictor("unet", get_predictor("unet", cube, models_dir=second))
    assert np.isfinite(other.predict(cube, days[0]).values).all()  # stored: no live model used
    with pytest.raises(MixedModelsError, match=r"pred_unet .*holds the predictions of unet:"):
        other.predict(cube, cube.indexes["time"][5])


def _mix(path) -> None:
    """Record two of the four days of pred_pmw_threshold under another model id."""
    arr = zarr.open_group(path, mode="r+")["pred_pmw_threshold"]
    days = list(DAYS.strftime("%Y-%m-%d"))
    arr.attrs.update({"model_days": {"pmw_threshold": days[:2], "pmw_threshold_v0": days[2:]}})


def test_a_mixed_variable_is_refused_by_every_reader(micro_cube):
    from meltwater.evaluation.evaluate import evaluate
    from meltwater.evaluation.predictors import make_predictors

    _mix(micro_cube)
    cube = open_cube(micro_cube)
    match = r"pred_pmw_threshold .*mixes .*pmw_threshold \(2 days.*pmw_threshold_v0 \(2 days"
    with pytest.raises(CubeError, match=match):
        day_map(cube, "pred_pmw_threshold", DAYS[0])  # the dashboard's maps
    with pytest.raises(CubeError, match=match):
        daily_summary(cube, ["pmw_threshold"], progress=False)  # the season curves
    with pytest.raises(CubeError, match=match):
        make_predictors(cube, ["pmw_threshold"], DAYS[:2])
    with pytest.raises(CubeError, match=match):
        evaluate(cube, ["pmw_threshold"], "val", progress=False)
    np.testing.assert_array_equal(day_map(cube, "pmw", DAYS[0]), cube["pmw"].values[0])


def test_baseline_settings_are_never_read_from_the_stored_maps(micro_cube):
    from meltwater.evaluation.predictors import make_predictors

    zarr.open_group(micro_cube, mode="r+")["pred_pmw_threshold"][0] = np.float16(0.5)  # a marker
    cube = open_cube(micro_cube)
    stored = make_predictors(cube, ["pmw_threshold"], DAYS[:2])["pmw_threshold"]
    assert (np.asarray(stored.predict(cube, DAYS[0])) == 0.5).all()
    own = make_predictors(
        cube, ["pmw_threshold"], DAYS[:2], baseline_kwargs={"pmw_threshold": {"slope": 0.45}}
    )["pmw_threshold"]
    live = np.asarray(own.predict(cube, DAYS[0]))
    assert np.isfinite(live).all() and not (live == 0.5).any()


def test_an_unrecorded_day_reads_as_missing(micro_cube):
    arr = zarr.open_group(micro_cube, mode="r+")["pred_pmw_threshold"]
    arr.attrs.update({DONE_ATTR: ["2019-06-01"]})  # e.g. a store whose model changed before
    cube = open_cube(micro_cube)
    values = cube["pred_pmw_threshold"].values
    assert np.isfinite(values[0]).all() and np.isnan(values[1:]).all()
    assert np.isnan(day_map(cube, "pred_pmw_threshold", DAYS[2])).all()


def test_an_open_cube_follows_a_precompute_beside_it(tmp_path):
    src = micro(tmp_path)
    build_cube(src)
    precompute(src.cube_path, BASE, (), dates=DAYS[:2], scheduler="synchronous")
    served = open_cube(src)  # the dashboard keeps its cube open
    assert np.isnan(served["pred_pmw_threshold"].values[2:]).all()
    precompute(src.cube_path, BASE, (), dates=DAYS[2:], scheduler="synchronous")
    assert np.isfinite(served["pred_pmw_threshold"].values).all()


def test_overwrite_of_some_days_keeps_the_others_done(micro_cube, monkeypatch):
    from meltwater.precompute_jobs import DayRunner

    calls = []
    real = DayRunner.__call__
    monkeypatch.setattr(
        DayRunner, "__call__", lambda s, i, jobs: calls.append(i) or real(s, i, jobs)
    )
    done = precompute(micro_cube, BASE, (), dates=DAYS[:1], overwrite=True,
                      scheduler="synchronous")  # fmt: skip
    assert calls == [0]
    assert done == {"pred_pmw_threshold": 4, "pred_sar_running_mean": 4}
    group = zarr.open_group(micro_cube)
    assert group["pred_pmw_threshold"].attrs[DONE_ATTR] == list(DAYS.strftime("%Y-%m-%d"))


def test_results_name_the_stored_model(micro_cube):
    from meltwater.evaluation.evaluate import evaluate

    ds = evaluate(open_cube(micro_cube), ["pmw_threshold"], "val", progress=False)
    assert '"model_id": "pmw_threshold"' in ds.attrs["model_params"]


def test_live_ablation_is_refused_against_another_models_stored_prediction(micro_cube, monkeypatch):
    from types import SimpleNamespace

    from meltwater.data.provenance import create_prediction_variables, provenance_attrs
    from meltwater.errors import MixedModelsError
    from meltwater_dashboard.store import Store

    days = {"unet:small:" + "a" * 16: list(DAYS.strftime("%Y-%m-%d"))}
    attrs = {"pred_unet": provenance_attrs(days, "unet:small:" + "a" * 16)}
    create_prediction_variables(micro_cube, open_cube(micro_cube).sizes, attrs)
    cube = open_cube(micro_cube)

    class Live:  # the registry's UNet, retrained since the precompute
        def __init__(self, sha):
            self.meta = SimpleNamespace(name="small", weights_sha256=sha * 16)

        def predict(self, cube, date, ablate=()):
            return np.zeros((cube.sizes["y"], cube.sizes["x"]), np.float32)

    store = Store({"micro": cube})
    monkeypatch.setattr(store, "unet", lambda source: Live("b"))
    with pytest.raises(MixedModelsError, match=r"holds the predictions of unet:small:a{16}.*"
                       r"live model is unet:small:b{16}.* live ablation"):  # fmt: skip
        store.ablation_job("micro", str(DAYS[0].date()), ("dem",))
    monkeypatch.setattr(store, "unet", lambda source: Live("a"))
    assert store._checked_unet("micro").meta.weights_sha256 == "a" * 16

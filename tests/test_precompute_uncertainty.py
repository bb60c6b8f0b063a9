"""Precompute of the UNet's TTA spread ``unc_unet``: SAR days, values, provenance."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from meltwater.errors import InvalidArgumentError


def test_spread_on_sar_days_with_its_model_id(cube_copy, small_registry, tiny_cube):
    from meltwater.data.cube import open_cube
    from meltwater.models.inference import UNetPredictor
    from meltwater.models.tta import tta_predict
    from meltwater.precompute import precompute

    days = tiny_cube.indexes["time"][:6]
    has_sar = tiny_cube["has_sar"].values[:6].astype(bool)
    kw = dict(models_dir=small_registry, dates=days, scheduler="synchronous", ablations=())
    done = precompute(cube_copy, ["unet"], uncertainty=4, **kw)
    assert done == {"pred_unet": 6, "unc_unet": int(has_sar.sum())}
    out = open_cube(cube_copy)
    unc = out["unc_unet"]
    assert unc.attrs["model_id"].startswith("unet_tta4:small:")
    assert unc.attrs["model_id"].split(":")[-1] == out["pred_unet"].attrs["model_id"].split(":")[-1]
    model = UNetPredictor.from_registry(models_dir=small_registry, precision="fp32")
    for i, day in enumerate(days):
        stored = unc.sel(time=day).values
        if not has_sar[i]:
            assert np.isnan(stored).all()  # not a SAR day: not computed
            continue
        pred, spread = tta_predict(model, out, day, 4)
        assert np.allclose(stored, spread, atol=2e-3)  # float16
        assert np.allclose(out["pred_unet"].sel(time=day).values, pred, atol=2e-3)
        assert spread.max() > 0  # a random-weight UNet is not flip-invariant
    # a day the records forget reads as missing (meltwater.data.reads), like a pred_* day
    import zarr

    first = str(days[np.flatnonzero(has_sar)[0]].date())
    arr = zarr.open_group(str(cube_copy), mode="r+")["unc_unet"]
    kept = {m: [d for d in ds if d != first] for m, ds in arr.attrs["model_days"].items()}
    arr.attrs.update(model_days=kept, days_done=[d for d in arr.attrs["days_done"] if d != first])
    assert np.isnan(open_cube(cube_copy)["unc_unet"].sel(time=first).values).all()
    # another member count is another model: its days are cleared and recomputed
    done = precompute(cube_copy, ["unet"], uncertainty=8, **kw)
    assert done["unc_unet"] == int(has_sar.sum())
    attrs = xr.open_zarr(cube_copy, consolidated=False)["unc_unet"].attrs
    assert attrs["model_id"].startswith("unet_tta8:") and len(attrs["model_days"]) == 1


def test_uncertainty_is_checked(cube_copy, small_registry):
    from meltwater.precompute import precompute

    with pytest.raises(InvalidArgumentError, match="members: expected one of \\[4, 8\\], got 5"):
        precompute(cube_copy, ["unet"], uncertainty=5, models_dir=small_registry)
    with pytest.raises(InvalidArgumentError, match="add 'unet' to models"):
        precompute(cube_copy, ["pmw_threshold"], uncertainty=4, models_dir=small_registry)

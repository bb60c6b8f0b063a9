"""meltwater.schema: the cube's variable names, built and parsed in one place."""

from __future__ import annotations

from meltwater import schema


def test_pred_var_and_parse_round_trip():
    assert schema.pred_var("mar_interp") == "pred_mar_interp"
    assert schema.pred_var("unet", ("dem",)) == "pred_unet_no_dem"
    assert schema.pred_var("unet", ("pmw", "dem")) == "pred_unet_no_pmw_no_dem"
    for model, ablate in [("unet", ()), ("unet", ("sar_interp",)), ("random_forest", ())]:
        assert schema.parse_pred_var(schema.pred_var(model, ablate)) == (model, ablate)
    assert schema.unc_var("unet") == "unc_unet"


def test_parse_rejects_other_names():
    for name in ("sar", "pred_", "unc_unet", "pred_unet_no_elevation", "prediction_unet"):
        assert schema.parse_pred_var(name) is None


def test_models_in_orders_known_models_first_then_others():
    names = ["sar", "pred_zeta", "pred_unet_no_dem", "pred_mar_interp", "pred_unet", "pred_alpha"]
    assert schema.models_in(names, order=("unet", "mar_interp")) == [
        "unet",
        "mar_interp",
        "alpha",
        "zeta",
    ]


def test_ablations_in_follow_channel_order():
    names = ["pred_unet_no_dem", "pred_unet_no_pmw", "pred_unet_no_pmw_no_dem", "pred_unet"]
    assert schema.ablations_in(names) == ["pmw", "dem"]
    assert schema.CHANNELS == ("pmw", "mar_wa1", "sar_interp", "dem")


def test_uncertainty_names():
    assert schema.unc_var("unet") == "unc_unet"
    assert schema.is_unc_var("unc_unet") and not schema.is_unc_var("unc_")
    assert not schema.is_unc_var("pred_unet") and schema.parse_pred_var("unc_unet") is None

"""The page a class sees (issue 18): input switches, compare mode, held maps, the pixel marker,
the day control and the opening view, on the toy cube."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fixtures.toycube import OCEAN_COLS, make_toy_cube

from meltwater.schema import CHANNELS
from meltwater_dashboard.app import build_app
from meltwater_dashboard.opening import story_day
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.url import apply_url
from meltwater_dashboard.views.ablation import ablation_panel
from meltwater_dashboard.views.curves import metrics_text
from meltwater_dashboard.views.layers import pixel_marker
from meltwater_dashboard.views.maps import result_maps
from meltwater_dashboard.views.player import DayPlayer


def test_all_four_inputs_cannot_be_switched_off(state, unet):
    state.ablate = ["pmw", "dem"]
    state.ablate = list(CHANNELS)
    assert state.ablate == ["pmw", "dem"] and "must stay on" in state.message
    assert all(len(c[1]) < len(CHANNELS) for c in unet.calls)


def test_ablation_delta_reads_no_sar_scene_on_days_without_one(state):
    panel = ablation_panel(state)
    table = panel[4]
    state.ablate = ["dem"]
    assert table.object.loc["Δ unet_no_dem", "MAE"] == "+0.375"  # 0.5 − 0.125 on a SAR day
    state.day = 1
    row = table.object.loc["Δ unet_no_dem"]
    assert row["MAE"] == row["bias"] == "no SAR scene" and row["melt area km²"] == "-10.000"
    assert "nan" not in metrics_text(state.day_metrics()).to_string().lower()


def test_compare_never_shows_a_model_against_itself(state):
    assert state.param.model_b.objects == ["mar_interp"]
    state.compare = True
    state.model = "mar_interp"  # the current second model: the two swap
    assert (state.model, state.model_b) == ("mar_interp", "unet")
    assert state.param.model_b.objects == ["unet"]
    assert apply_url(state, {"compare": "mar_interp"}) == ["compare 'mar_interp'"]
    diff = state.difference()
    assert diff[0, OCEAN_COLS] == pytest.approx(0.25) and np.isnan(diff[0, 0])


def test_compare_needs_a_second_model(store):
    state = DashboardState(source="toy_no_unet", store=store)
    state.compare = True
    assert not state.compare and "second model" in state.message


def test_held_maps_name_their_day_while_playing(state):
    state.compare = True
    panes = result_maps(state)
    titles = [col[0] for col in panes]
    assert len(titles) == 5  # two predictions, difference, SAR, error
    state.playing = True
    state.day = 3
    texts = [t.object for t in titles]
    assert "2019-06-04" in texts[0]  # the prediction follows the frame
    for held in texts[2:]:
        assert "2019-06-01" in held and "updates on pause" in held
    state.playing = False
    assert state.maps_date == "2019-06-04"


def test_tapped_pixel_is_marked(state):
    marker = pixel_marker(state)
    assert len(marker[()]) == 0
    state.pixel = (300_550.0, -2_500_550.0)
    points = marker[()]
    assert points.dimension_values(0).tolist() == [300_550.0]


def test_player_steps_and_wraps(state):
    player = DayPlayer(state)
    player.step(-1)
    assert state.day == len(state.days) - 1
    player.next.clicks += 1
    assert state.day == 0
    player.play.clicks += 1
    assert state.playing and player.play.label == "Pause"
    player.play.clicks += 1
    assert not state.playing and player.play.label == "Play"


def test_opening_view_is_the_mid_season_test_day_where_mar_and_unet_differ_most(unet, store):
    cube = make_toy_cube()
    t = pd.DatetimeIndex(cube.time.values)
    unet_pred = cube["pred_unet"].values.copy()
    unet_pred[t.get_loc("2020-06-03")] = 0.1  # gap |1 − 0.1| = 0.9 (0.625 on other days)
    unet_pred[t.get_loc("2019-09-01")] = 0.0  # wider, but September
    unet_pred[t.get_loc("2019-06-05")] = 0.0  # wider, but a training scene
    cube["pred_unet"] = (("time", "y", "x"), unet_pred)
    split = cube["split"].values.copy()
    split[t.get_loc("2019-06-05")] = "train"
    cube["split"] = ("time", split)
    state = DashboardState(source="toy", store=Store({"toy": cube}, predictor=unet))
    assert story_day(state) == pd.Timestamp("2020-06-03")
    build_app(state, sync_url=True)  # no link values: the story opens
    assert (state.date, state.model, state.model_b, state.compare) == (
        pd.Timestamp("2020-06-03"),
        "mar_interp",
        "unet",
        True,
    )
    assert story_day(DashboardState(source="toy_no_unet", store=store)) is None

"""Season animations (`dashboard.views.animation`) on the toy cube: files decoded back."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest

from meltwater.errors import InvalidArgumentError
from meltwater_dashboard.views.animation import (
    MACRO_BLOCK,
    Pane,
    animation_bytes,
    animation_days,
    animation_name,
    animation_panel,
    panes,
    render_frames,
)


def test_days_follow_range_and_step(state):
    assert len(animation_days(state)) == 12  # the toy season: 8 June days, 4 September days
    assert animation_days(state, "2019-06-02", "2019-06-07", step=2) == [
        "2019-06-02",
        "2019-06-04",
        "2019-06-06",
    ]
    with pytest.raises(InvalidArgumentError, match="step"):
        animation_days(state, step=0)
    with pytest.raises(InvalidArgumentError, match="start/end"):
        animation_days(state, "2019-07-01", "2019-07-31")


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_file_decodes_to_one_frame_per_day(state, fmt):
    days = animation_days(state, step=2)
    data = animation_bytes(state, fmt, pair=True, days=days)
    frames = iio.imread(data, index=None, extension=f".{fmt}")
    assert frames.shape[0] == len(days) == 6
    height, width = frames.shape[1:3]
    assert height % MACRO_BLOCK == 0 and width % MACRO_BLOCK == 0 and width > 1.5 * height


def test_the_day_is_stamped_on_every_frame(state):
    """Maps that do not change: the frames differ only where the date is, top left."""
    still = Pane("pred", "still", lambda day: np.full((8, 12), 0.5, np.float32))
    days = ["2019-06-01", "2019-06-08"]
    seen = []
    frames = list(render_frames(state, [still], days, "title", progress=seen.append))
    assert seen == [1, 2]
    rows, cols = np.nonzero((frames[0] != frames[1]).any(axis=-1))
    height, width = frames[0].shape[:2]
    assert len(rows) > 50
    assert rows.max() < 0.15 * height and cols.max() < 0.4 * width


def test_pair_shows_sar_or_the_compared_model(state):
    sar = panes(state, pair=True)
    assert [p.title for p in sar] == ["Prediction unet", "SAR observation"]
    assert sar[1].note is not None
    assert sar[1].note("2019-06-01") == "" and sar[1].note("2019-06-02") == "no SAR scene"
    assert animation_name(state, "gif", True, ["2019-06-01", "2019-06-08"]) == (
        "meltwater_toy_unet_sar_2019-06-01_2019-06-08.gif"
    )
    state.param.update(compare=True, model_b="mar_interp")
    assert [p.title for p in panes(state, pair=True)][1] == "Prediction mar_interp"
    state.ablate = ["dem"]
    assert animation_name(state, "mp4", True, ["2019-06-01", "2019-06-08"]) == (
        "meltwater_toy_unet_no_dem_mar_interp_2019-06-01_2019-06-08.mp4"
    )
    assert panes(state, pair=False)[0].values("2019-06-03").shape == (
        state.cube.sizes["y"],
        state.cube.sizes["x"],
    )


def test_panel_disables_the_download_without_a_day_in_range(state):
    panel = animation_panel(state)
    span = panel.objects[2]
    download = panel.objects[3]
    assert not download.disabled and download.filename.endswith("_2019-06-01_2019-09-04.gif")
    span.value = (pd.Timestamp("2019-07-01"), pd.Timestamp("2019-07-31"))
    assert download.disabled
    span.value = (pd.Timestamp("2019-06-02"), pd.Timestamp("2019-06-03"))
    assert not download.disabled and download.filename == (
        "meltwater_toy_unet_2019-06-02_2019-06-03.gif"
    )

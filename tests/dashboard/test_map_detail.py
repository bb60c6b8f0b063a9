"""The sidebar line that says which level and window of the cube the maps read."""

from __future__ import annotations

import holoviews as hv
from fixtures.microsource import micro
from holoviews.core.spaces import get_nested_dmaps

from meltwater.data.cube import build_cube
from meltwater.data.overviews import LevelWindow
from meltwater.precompute import precompute
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.maps import detail_text, map_view


def test_detail_text_names_level_cell_size_and_window():
    assert detail_text(LevelWindow(4, (0, 2), (0, 3)), 100.0) == (
        "Maps read overview ×4: 400 m cells, 3 × 2 cells."
    )
    assert detail_text(LevelWindow(1, (2, 6), (2, 7)), 100.0) == (
        "Maps read full resolution: 100 m cells, 5 × 4 cells."
    )


def test_pan_zoom_sets_the_detail_and_the_view(tmp_path, monkeypatch):
    src = micro(tmp_path)  # 8 × 12 cells of 100 m, x 10 000–11 200, y 19 200–20 000
    build_cube(src, overviews=(2, 4), chunk=4)
    precompute(src.cube_path, ["pmw_threshold"], (), scheduler="synchronous")
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    state = DashboardState(source="demo", store=Store(), year=2019)
    overlay = map_view(
        state, "dem", lambda: None, None, lambda w: state.store.window("demo", "dem", "", w)
    )
    inner = next(
        d
        for d in get_nested_dmaps(overlay)
        if d.callback.inputs == [] and any(isinstance(s, hv.streams.RangeXY) for s in d.streams)
    )
    streams = {type(s).__name__: s for s in inner.streams}
    streams["PlotSize"].event(width=3, height=2)
    streams["RangeXY"].event(x_range=(10_000, 11_200), y_range=(19_200, 20_000))
    inner[()]
    assert state.map_detail == "Maps read overview ×4: 400 m cells, 3 × 2 cells."
    assert state.view == (10_000.0, 19_200.0, 11_200.0, 20_000.0)
    streams["PlotSize"].event(width=300, height=300)
    streams["RangeXY"].event(x_range=(10_300, 10_500), y_range=(19_500, 19_700))
    inner[()]
    assert state.map_detail == "Maps read full resolution: 100 m cells, 4 × 4 cells."
    assert state.store.grid("demo").view_box(state.view) == (2, 6, 2, 6)

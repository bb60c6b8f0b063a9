"""Live ablation on a grid of many tiles: the maps' window first (its values equal to the
whole-domain run's), the rest in the background, cancelled when the day changes; status text and
hatched boxes while it runs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from fixtures.toycube import make_toy_cube

from meltwater.data.cube import day_map
from meltwater.data.overviews import LevelWindow
from meltwater.models.sliding import sliding_window
from meltwater.models.tiles import TiledRun, TilePlan
from meltwater_dashboard import live_ablation
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store
from meltwater_dashboard.views.ablation import ablation_panel

TILES = dict(tile=16, stride=12, erode=2, multiple=16)  # the toy's 40 × 60 px: 3 × 5 tiles
INPUTS = ("pmw", "mar_wa1", "dem")


def smooth(batch: torch.Tensor) -> torch.Tensor:
    """A model with context: sigmoid of the 5 × 5 box mean of the channel sum (zero-padded)."""
    s = batch.sum(dim=1, keepdim=True)
    return torch.sigmoid(torch.nn.functional.avg_pool2d(s, 5, stride=1, padding=2))


def inputs(cube, date, ablate) -> np.ndarray:
    maps = [day_map(cube, c, date) for c in INPUTS]
    scaled = [np.nan_to_num((m - np.nanmean(m)) / (np.nanstd(m) + 1)) for m in maps]
    return np.stack([0 * m if c in ablate else m for c, m in zip(INPUTS, scaled, strict=True)])


class TiledStandIn:
    """Stands in for UNetPredictor.tiled; each background batch waits for ``gate``."""

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()

    def model(self, batch: torch.Tensor) -> torch.Tensor:
        if threading.current_thread().name.startswith("meltwater-ablation"):
            assert self.gate.wait(10)
        return smooth(batch)

    def tiled(self, cube, date, ablate=()) -> TiledRun:
        x = inputs(cube, date, ablate).astype(np.float32)
        plan = TilePlan.build(x.shape[1], x.shape[2], **TILES)
        return TiledRun(self.model, x, plan, batch_size=1)


@pytest.fixture
def standin():
    return TiledStandIn()


@pytest.fixture
def live(standin):
    store = Store({"toy": make_toy_cube()}, predictor=standin)
    return DashboardState(source="toy", store=store, year=2019)


def zoom(state: DashboardState, rows: tuple[int, int], cols: tuple[int, int]) -> None:
    """Set the maps' view to the cells [rows) × [cols) (as stored: row 0 is north)."""
    g = state.store.grid(state.source)
    xs, ys = g.xs[list(cols)], g.ys[[rows[0], rows[1] - 1]]
    state.view = (xs[0] - 40, ys.min() - 40, xs[1] - 60, ys.max() + 40)


def whole_day(state: DashboardState, ablate=("dem",)) -> np.ndarray:
    x = inputs(state.cube, state.date_str, ablate).astype(np.float32)
    return sliding_window(smooth, x, batch_size=1, **TILES)


def test_view_first_equals_whole_domain_then_rest(live, standin):
    zoom(live, (4, 10), (20, 30))
    assert live.store.grid("toy").view_box(live.view) == (3, 11, 19, 31)  # plus one cell each side
    standin.gate.clear()  # the background waits before its first batch
    live.ablate = ["dem"]
    job = live._job
    assert job is not None and not job.complete and 0 < job.progress[0] < job.progress[1]
    assert live.busy and "rest of the domain running" in live.ablation_status
    want = whole_day(live)
    win = LevelWindow(1, (3, 11), (19, 31))
    got = live.prediction("unet", win)  # north → south, as the map reads it
    np.testing.assert_array_equal(got, want[3:11, 19:31])
    pending = np.zeros((40, 60), bool)
    for r0, r1, c0, c1 in job.pending():
        pending[r0:r1, c0:c1] = True
    assert not pending[3:11, 19:31].any() and pending.any()
    assert len(live.ablation_pending) == len(job.pending())
    assert live.day_metrics().index.tolist() == ["unet"]  # no Δ row until the whole domain
    before = live.tick_pred
    standin.gate.set()
    assert job.wait(10) and job.complete
    live.poll_ablation()
    assert not live.busy and live.ablation_pending == [] and live.tick_pred == before + 1
    assert "whole domain computed (15 tiles" in live.ablation_status
    np.testing.assert_array_equal(live.prediction("unet"), np.where(live.cube.land, want, np.nan))
    assert live.day_metrics().index.tolist() == ["unet", "unet_no_dem"]


def test_a_view_of_several_tiles_is_shown_provisionally_then_exactly(live, standin, monkeypatch):
    monkeypatch.setattr(live_ablation, "PREVIEW_MARGIN", 2)  # the toy model sees 2 px around
    zoom(live, (4, 10), (20, 30))
    standin.gate.clear()
    live.ablate = ["dem"]
    job = live._job
    assert job is not None and job.progress[0] == 0  # one pass over the view, no tile yet
    assert "provisional until its tiles have run" in live.ablation_status
    want = whole_day(live)
    got = live.prediction("unet", LevelWindow(1, (3, 11), (19, 31)))
    np.testing.assert_allclose(got, want[3:11, 19:31], atol=1e-6)
    assert np.isnan(job.values()[20:, :]).all()  # the rest waits for its tiles
    standin.gate.set()
    assert job.wait(10) and job.complete
    live.poll_ablation()
    np.testing.assert_array_equal(live.prediction("unet"), np.where(live.cube.land, want, np.nan))


def test_day_change_cancels_the_background_run(live, standin):
    zoom(live, (0, 6), (40, 50))
    standin.gate.clear()
    live.ablate = ["dem"]
    first = live._job
    assert first is not None and first.running
    live.day = 1  # the first day's rest is no longer wanted
    second = live._job
    assert second is not first
    standin.gate.set()
    assert first.wait(10) and second.wait(10)
    assert not first.complete and first.progress[0] < first.progress[1]
    assert second.complete
    live.poll_ablation()
    assert "whole domain computed" in live.ablation_status
    # going back resumes the first day's job: only its missing tiles run
    done = len(first.run.done)
    live.day = 0
    assert live._job is first
    assert first.wait(10) and first.complete and len(first.run.done) == 15 > done


def test_full_view_runs_in_the_background_and_panel_shows_status(live, standin):
    standin.gate.clear()
    panel = ablation_panel(live)
    live.ablate = ["mar_wa1"]  # no view yet: the full view needs every tile
    job = live._job
    assert job.progress[0] == 0 and job.running and live.busy
    status = panel.objects[5]
    assert status.visible and "0 of 15 tiles" in status.object
    standin.gate.set()
    assert job.wait(10)
    live.poll_ablation()
    assert "whole domain computed" in status.object and not live.busy


def test_switching_inputs_back_on_stops_the_run(live, standin):
    zoom(live, (0, 6), (0, 12))
    standin.gate.clear()
    live.ablate = ["dem"]
    job = live._job
    live.ablate = []
    standin.gate.set()
    assert job.wait(10) and not job.complete
    assert live._job is None and live.ablation_status == "" and live.ablation_pending == []

"""Pan/zoom and the live ablation in the browser on a cube with overview levels (960 × 480 cells,
levels ×2, ×4): the full view reads a coarse level, a zoomed view a full-resolution window; with
an input switched off the view is computed at once and the rest of the domain is hatched until
the background run ends. No console error, no request to another host."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from e2e_helpers import serve_app, until, wait_maps, watch
from fixtures.microsource import DAYS, micro
from fixtures.smallmodel import write_small_registry
from playwright.sync_api import Error as PlaywrightError

from meltwater.data.cube import build_cube, day_map, open_cube
from meltwater.models.tiles import TiledRun, TilePlan
from meltwater.models.unet import ModelConfig
from meltwater.precompute import precompute
from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

SHAPE = (480, 960)  # 2.5 cells per px of a 380 px map: level ×2 in the full view


class GatedSmooth:
    """Live ablations tile by tile (128 px tiles: 5 × 9 of them); background batches wait for
    ``gate``."""

    def __init__(self):
        self.gate = threading.Event()

    def model(self, batch: torch.Tensor) -> torch.Tensor:
        if threading.current_thread().name.startswith("meltwater-ablation"):
            assert self.gate.wait(60)
        s = batch.sum(dim=1, keepdim=True)
        return torch.sigmoid(torch.nn.functional.avg_pool2d(s, 5, stride=1, padding=2))

    def tiled(self, cube, date, ablate=()) -> TiledRun:
        maps = [day_map(cube, c, date) for c in ("pmw", "dem") if c not in ablate]
        x = np.stack([(m - m.mean()) / (m.std() + 1) for m in maps]).astype(np.float32)
        plan = TilePlan.build(*x.shape[1:], tile=128, stride=112, erode=8, multiple=32)
        return TiledRun(self.model, x, plan, batch_size=2)


@pytest.fixture(scope="module")
def levels_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("levels")
    src = micro(root, shape=SHAPE)
    build_cube(src, overviews=(2, 4), chunk=256)
    models = write_small_registry(
        tmp_path_factory.mktemp("models"),
        open_cube(src),
        ModelConfig("tu-resnet10t", 3, (16, 8, 8)),
    )
    precompute(src.cube_path, ["pmw_threshold"], (), workers=1)
    # the UNet only on the day shown: it is there for the switches, not looked at
    precompute(src.cube_path, ["unet"], (), dates=DAYS[1:2], models_dir=models, workers=1)
    return root


def test_zoom_reads_a_finer_window_and_the_ablation_shows_progress(
    page, levels_root, shots, monkeypatch
):
    monkeypatch.setenv("MELTWATER_DATA", str(levels_root))
    unet = GatedSmooth()
    errors, external = watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    with serve_app(Store(predictor=unet), "demo") as (url, states):
        for _ in range(40):  # the threaded server may start late on a busy machine
            try:
                page.goto(f"{url}?date=2019-06-02&model=unet")
                break
            except PlaywrightError:
                page.wait_for_timeout(500)
        wait_maps(page, 3)
        state = states[-1]
        page.get_by_text("Maps read overview ×2: 200 m cells").wait_for(timeout=20_000)
        page.screenshot(path=str(shots / "levels_full_view.png"))

        canvas = page.locator(".bk-Canvas").first
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
        for _ in range(20):  # wheel zoom (active by default) until under 2 cells a pixel
            page.mouse.wheel(0, -200)
            if until(page, lambda: "full resolution" in state.map_detail, 1500):
                break
        page.get_by_text("Maps read full resolution: 100 m cells").wait_for(timeout=20_000)

        def narrow() -> bool:
            return state.view is not None and state.view[2] - state.view[0] < 4e4

        for _ in range(12):  # and closer, under 40 km wide (the page may reflow while it zooms)
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
            page.mouse.wheel(0, -200)
            if until(page, narrow, 1500):
                break
        assert narrow(), state.view
        cols = state.view[2] - state.view[0]
        assert cols < 0.5 * SHAPE[1] * 100  # a window, not the whole width

        page.get_by_role("button", name="DEM").click()  # switch the DEM off
        assert until(page, lambda: state.ablate == ["dem"]), state.ablate
        page.get_by_text("rest of the domain running").wait_for(timeout=20_000)
        job = state._job
        done, total = job.progress
        assert done < total == 45 and state.ablation_pending
        view = state.store.grid("demo").view_box(state.view)
        if len(job.run.plan.needed(view)) > 1:  # shown from one provisional pass, no tile yet
            assert done == 0 and "provisional until its tiles have run" in state.ablation_status
        else:  # the view's one tile, exact
            assert done == 1
        # zoomed out again: the part computed so far, the rest hatched
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.5)
        for _ in range(20):
            page.mouse.wheel(0, 200)
            if until(page, lambda: "overview" in state.map_detail, 1500):
                break
        page.get_by_text("Maps read overview").wait_for(timeout=20_000)
        assert not state._job.complete
        page.wait_for_timeout(5000)  # every map redrawn at the new zoom
        page.screenshot(path=str(shots / "levels_ablation_running.png"))
        unet.gate.set()
        page.get_by_text("whole domain computed (45 tiles").wait_for(timeout=60_000)
        assert until(page, lambda: state.ablation_pending == [] and not state.busy)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shots / "levels_ablation_done.png"))
    assert errors == [] and external == []

"""Tile-by-tile sliding-window inference: which tiles a window needs, which cells are still
missing, and a window's values equal to the whole-domain run's (the dashboard's live ablation)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from fixtures.smallmodel import write_small_registry

from meltwater.errors import InvalidArgumentError
from meltwater.models.inference import UNetPredictor
from meltwater.models.sliding import sliding_window
from meltwater.models.tiles import TiledRun, TilePlan
from meltwater.models.unet import ModelConfig

SMALL = ModelConfig("tu-resnet10t", 3, (16, 8, 8))
# 100 × 130 px in tiles of 64 every 48 px: rows start 0, 36; cols 0, 48, 66
PLAN = TilePlan.build(100, 130, tile=64, stride=48, erode=8, multiple=32)


def box_mean(batch: torch.Tensor) -> torch.Tensor:
    """A model with context: each cell is the mean of a 9 × 9 box of channel 0 (zero-padded)."""
    return torch.nn.functional.avg_pool2d(batch[:, :1], 9, stride=1, padding=4)


def test_plan_tiles_and_needed():
    assert (PLAN.rows, PLAN.cols, PLAN.th, PLAN.tw) == ((0, 36), (0, 48, 66), 64, 64)
    # tile (0, 0) is used on rows [0, 56), cols [0, 56); tile (36, 48) on rows [44, 100),
    # cols [56, 104); tile (36, 66) on cols [74, 130)
    assert PLAN.needed((0, 10, 0, 10)) == [0]
    assert PLAN.needed((50, 51, 60, 61)) == [1, 4]
    assert PLAN.needed((50, 51, 80, 81)) == [1, 2, 4, 5]
    assert PLAN.needed((0, 100, 0, 130)) == list(range(6))
    with pytest.raises(InvalidArgumentError, match="erode"):
        TilePlan.build(100, 130, tile=64, stride=48, erode=9, multiple=32)


def test_a_preview_is_one_pass_over_the_box_and_its_margin():
    # the box grown by the margin, sides rounded up to 32 and shifted back inside the domain
    assert PLAN.around((50, 51, 60, 61), 8) == (42, 74, 52, 84)
    assert PLAN.around((0, 10, 120, 130), 8) == (0, 32, 98, 130)
    assert PLAN.around((0, 100, 0, 130), 0) is None  # 128 rows do not fit in 100
    x = np.random.default_rng(3).uniform(size=(2, 100, 130)).astype(np.float32)
    whole = sliding_window(box_mean, x, tile=64, stride=48, erode=8, batch_size=1, multiple=32)
    run = TiledRun(box_mean, x, PLAN, batch_size=1)
    box = (30, 70, 40, 90)  # needs all 6 tiles
    assert len(PLAN.needed(box)) == 6
    # the model sees 4 px each side: with a margin of 4 the preview is the whole run's values
    np.testing.assert_allclose(run.preview(box, 4), whole[30:70, 40:90], atol=1e-6)
    assert run.done == frozenset()  # a preview is not part of the mosaic
    # without a margin the box's border cells miss their context: provisional, not equal
    bare = run.preview(box, 0)
    assert bare.shape == (40, 50)
    assert np.abs(bare - whole[30:70, 40:90]).max() > 1e-3


def test_pending_boxes_shrink_to_nothing():
    assert PLAN.pending(range(6)) == []
    # only tile 0 run: rows [0, 44) × cols [0, 56) have no other tile; the rest is pending
    pending = PLAN.pending([0])
    covered = np.zeros((100, 130), bool)
    for r0, r1, c0, c1 in pending:
        covered[r0:r1, c0:c1] = True
    assert not covered[:44, :56].any() and covered[44:, :].all() and covered[:, 56:].all()


def test_partial_mosaic_is_exact_where_determined_and_nan_elsewhere():
    x = np.random.default_rng(0).random((2, 100, 130)).astype(np.float32)
    whole = sliding_window(box_mean, x, tile=64, stride=48, erode=8, batch_size=2)
    run = TiledRun(box_mean, x, PLAN, batch_size=2)
    box = (50, 60, 76, 86)
    assert run.run(PLAN.needed(box)) == 4 and not run.complete
    part = run.result()
    np.testing.assert_array_equal(part[50:60, 60:70], whole[50:60, 60:70])
    missing = np.zeros((100, 130), bool)
    for r0, r1, c0, c1 in PLAN.pending(run.done):
        missing[r0:r1, c0:c1] = True
    assert np.isnan(part[missing]).all() and np.isfinite(part[~missing]).all()
    np.testing.assert_array_equal(part[~missing], whole[~missing])
    assert run.run(range(6)) == 2 and run.complete  # the rest: only the two tiles not run
    np.testing.assert_array_equal(run.result(), whole)


def test_cancel_stops_between_batches():
    x = np.zeros((1, 100, 130), np.float32)
    run = TiledRun(box_mean, x, PLAN, batch_size=1)
    stop = threading.Event()
    stop.set()
    assert run.run(range(6), cancel=stop) == 0 and run.done == frozenset()


def test_unet_window_equals_whole_domain_run(tiny_cube, tmp_path):
    """The shipped predictor's path: a window's tiles run first give the whole-day values there."""
    unet = UNetPredictor.from_registry(
        models_dir=write_small_registry(tmp_path, tiny_cube, SMALL),
        precision="fp32",
        tile=32,
        stride=24,
        erode=4,
    )  # 64 × 96 px: 3 × 4 tiles
    day = tiny_cube.indexes["time"][np.flatnonzero(tiny_cube["has_sar"].values)[3]]
    whole = unet.predict(tiny_cube, day, ablate=("dem",)).values
    run = unet.tiled(tiny_cube, day, ablate=("dem",))
    box = (20, 30, 40, 50)
    run.run(run.plan.needed(box))
    assert 0 < len(run.done) < run.total
    got = run.result()[box[0] : box[1], box[2] : box[3]]
    want = whole[box[0] : box[1], box[2] : box[3]]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    run.run(range(run.total))
    np.testing.assert_allclose(run.result(), whole, rtol=0, atol=1e-6)


def test_model_inputs_of_a_box_equal_the_whole_days(tiny_cube):
    """Blurred channels read with the kernel's margin: a box's inputs are the whole day's there."""
    from meltwater.data.preprocess import NormStats, model_inputs

    day, stats = tiny_cube.indexes["time"][40], NormStats.paper()
    blur = {"pmw": (3.0, 9), "mar_wa1": (5.0, 15)}  # radii 4 and 7 px: inside the 64 × 96 grid
    whole = model_inputs(tiny_cube, day, stats, blur=blur)
    for box in [(10, 30, 20, 50), (0, 64, 90, 96), (50, 64, 0, 5)]:
        part = model_inputs(tiny_cube, day, stats, blur=blur, box=box)
        np.testing.assert_array_equal(part, whole[:, box[0] : box[1], box[2] : box[3]])
    with pytest.raises(InvalidArgumentError, match="box"):
        model_inputs(tiny_cube, day, stats, box=(0, 65, 0, 10))

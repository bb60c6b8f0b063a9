"""Sliding-window inference: tiling, erosion, padding; an identity model is reproduced exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from meltwater.models.sliding import sliding_window, tile_starts, tile_weights


def identity(batch: torch.Tensor) -> torch.Tensor:
    return batch[:, :1]


def test_tile_starts_regular_and_shifted():
    assert tile_starts(512, 512, 480) == [0]
    assert tile_starts(992, 512, 480) == [0, 480]
    assert tile_starts(1000, 512, 480) == [0, 480, 488]
    with pytest.raises(ValueError, match="pad the domain"):
        tile_starts(100, 512, 480)


def test_tile_weights_erode_interior_borders_only():
    w = tile_weights(0, 8, 20, 2)
    np.testing.assert_array_equal(w, [1, 1, 1, 1, 1, 1, 0, 0])
    w = tile_weights(12, 8, 20, 2)
    np.testing.assert_array_equal(w, [0, 0, 1, 1, 1, 1, 1, 1])
    w = tile_weights(6, 8, 20, 2)
    np.testing.assert_array_equal(w, [0, 0, 1, 1, 1, 1, 0, 0])


@pytest.mark.parametrize("shape", [(3, 40, 70), (2, 100, 61), (2, 130, 97), (1, 96, 96)])
def test_identity_reproduces_input(shape):
    rng = np.random.default_rng(0)
    x = rng.random(shape).astype(np.float32)
    out = sliding_window(identity, x, tile=64, stride=48, erode=8, multiple=32, batch_size=3)
    assert out.shape == shape[1:] and out.dtype == np.float32
    np.testing.assert_array_equal(out, x[0])


def test_identity_default_tile_small_domain():
    x = np.random.default_rng(1).random((4, 37, 50)).astype(np.float32)
    np.testing.assert_array_equal(sliding_window(identity, x), x[0])


def test_clips_to_unit_interval():
    x = np.array([[[-1.0, 0.5], [2.0, 1.0]]], dtype=np.float32)
    out = sliding_window(identity, x, tile=32, stride=32, erode=0)
    np.testing.assert_array_equal(out, [[0.0, 0.5], [1.0, 1.0]])


def test_interior_tile_borders_are_not_used():
    """A model that spoils its own borders must not leak them into the mosaic."""

    def spoil(batch: torch.Tensor) -> torch.Tensor:
        out = batch[:, :1].clone()
        out[..., :8, :] = out[..., -8:, :] = 0.9
        out[..., :, :8] = out[..., :, -8:] = 0.9
        return out

    x = np.full((1, 160, 150), 0.25, dtype=np.float32)
    out = sliding_window(spoil, x, tile=64, stride=48, erode=8)
    # only the outermost 8 px of the domain come from tile borders
    np.testing.assert_array_equal(out[8:-8, 8:-8], 0.25)
    assert out[0, 50] == pytest.approx(0.9)


def test_bad_parameters():
    x = np.zeros((1, 64, 64), dtype=np.float32)
    with pytest.raises(ValueError, match="erode"):
        sliding_window(identity, x, tile=64, stride=60, erode=8)
    with pytest.raises(ValueError, match="multiple"):
        sliding_window(identity, x, tile=50)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        sliding_window(identity, x[0])

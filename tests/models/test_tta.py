"""Test-time augmentation: exact inverses, and hand-computed spreads of non-equivariant models."""

from __future__ import annotations

import numpy as np
import pytest

from meltwater.errors import InvalidArgumentError
from meltwater.models.tta import (
    TRANSFORMS,
    forward,
    inverse,
    members_of,
    tta_model_id,
    tta_stack,
)


def test_transforms_are_the_eight_distinct_dihedral_maps_with_exact_inverses():
    a = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
    seen = set()
    for g in TRANSFORMS:
        b = forward(a, g)
        assert b.shape[0] == 2 and sorted(b.shape[1:]) == [3, 5]
        assert np.array_equal(inverse(b, g), a)
        seen.add(b.tobytes() + bytes(b.shape))
    assert len(seen) == 8
    # the first four keep the (rows, columns) shape; the others swap them
    assert [forward(a, g).shape[1:] for g in TRANSFORMS] == [(3, 5)] * 4 + [(5, 3)] * 4
    assert np.array_equal(forward(a, TRANSFORMS[1]), a[:, ::-1])  # north ↔ south
    assert np.array_equal(forward(a, TRANSFORMS[2]), a[:, :, ::-1])  # west ↔ east


def test_equivariant_model_has_zero_spread():
    x = np.random.default_rng(0).random((4, 6, 6)).astype(np.float32)
    stack = tta_stack(lambda t: t[0] * 0.5, x, members=8)
    assert stack.shape == (8, 6, 6)
    assert np.array_equal(stack[0], x[0] * 0.5)
    assert (stack == stack[0]).all()  # every member is the same map: zero spread


def _column_ramp(t: np.ndarray) -> np.ndarray:
    """A model that ignores its input: 0 at the west edge, 1 at the east edge of what it sees."""
    h, w = t.shape[1:]
    return np.broadcast_to(np.linspace(0.0, 1.0, w), (h, w)).astype(np.float32)


def test_four_members_of_a_ramp():
    stack = tta_stack(_column_ramp, np.zeros((2, 3, 5), np.float32), members=4)
    c = np.linspace(0.0, 1.0, 5)
    # identity and north-south mirror see the ramp; the west-east mirror and 180° see it reversed
    assert np.allclose(stack[0], c) and np.allclose(stack[1], c)
    assert np.allclose(stack[2], 1 - c) and np.allclose(stack[3], 1 - c)
    assert np.allclose(stack.std(axis=0), np.broadcast_to(np.abs(c - 0.5), (3, 5)))


def test_eight_members_of_a_ramp():
    stack = tta_stack(_column_ramp, np.zeros((1, 4, 4), np.float32), members=8)
    c = np.broadcast_to(np.linspace(0.0, 1.0, 4), (4, 4))
    r = c.T
    # {c, 1-c, r, 1-r} twice each: mean 0.5, std sqrt(((c-.5)² + (r-.5)²) / 2)
    assert np.allclose(stack.mean(axis=0), 0.5)
    assert np.allclose(stack.std(axis=0), np.sqrt(((c - 0.5) ** 2 + (r - 0.5) ** 2) / 2))


def test_members_and_ids():
    assert members_of(4) == TRANSFORMS[:4]
    with pytest.raises(InvalidArgumentError, match="members: expected one of \\[4, 8\\], got 3"):
        members_of(3)
    assert tta_model_id("unet:unet_demo:0123abcd", 4) == "unet_tta4:unet_demo:0123abcd"

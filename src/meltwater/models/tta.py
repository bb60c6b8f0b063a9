"""Test-time augmentation (TTA) of the UNet: its per-pixel spread over flips and rotations.

The input stack of a day is flipped/rotated by elements of the dihedral group of the square,
each transformed stack is predicted over the whole domain (`UNetPredictor.predict_array`, the
same sliding window as a plain prediction) and the result is transformed back. The members'
standard deviation (ddof 0) per pixel is the uncertainty ``unc_unet``: where the model's answer
depends on the orientation of what it sees, it does not know the answer well. Member 0 is the
identity, i.e. the plain prediction ``pred_unet``.

`MEMBERS` 4 uses the transforms that keep the grid's shape (identity, the two mirror flips,
the 180° rotation); 8 adds the four that swap its axes (transpose, ±90° rotations,
anti-transpose). The shipped checkpoint has no snapshot ensemble, so TTA it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from meltwater.errors import InvalidArgumentError

__all__ = [
    "MEMBERS",
    "TRANSFORMS",
    "forward",
    "inverse",
    "members_of",
    "tta_model_id",
    "tta_predict",
    "tta_stack",
]

# (quarter turns k, transpose first): g(a) = rot90(aᵀ if t else a, k) on the last two axes
TRANSFORMS: tuple[tuple[int, bool], ...] = (
    (0, False),  # identity
    (1, True),  # mirror: rows reversed (north ↔ south)
    (3, True),  # mirror: columns reversed (west ↔ east)
    (2, False),  # 180° rotation
    (0, True),  # transpose
    (1, False),  # 90° rotation
    (3, False),  # 270° rotation
    (2, True),  # anti-transpose
)
MEMBERS: tuple[int, ...] = (4, 8)
"""Valid numbers of TTA members: the shape-keeping four, or all eight."""


def _t(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def forward(a: np.ndarray, g: tuple[int, bool]) -> np.ndarray:
    """Transform ``g`` of `TRANSFORMS` applied to the last two axes of ``a``."""
    k, t = g
    return np.rot90(_t(a) if t else a, k, axes=(-2, -1))


def inverse(a: np.ndarray, g: tuple[int, bool]) -> np.ndarray:
    """The inverse of `forward` (``inverse(forward(a, g), g) == a``)."""
    k, t = g
    b = np.rot90(a, -k, axes=(-2, -1))
    return _t(b) if t else b


def members_of(n: int) -> tuple[tuple[int, bool], ...]:
    """The first ``n`` transforms of `TRANSFORMS`.

    Raises:
        InvalidArgumentError: ``n`` not in `MEMBERS`.
    """
    if n not in MEMBERS:
        raise InvalidArgumentError(f"members: expected one of {list(MEMBERS)}, got {n!r}")
    return TRANSFORMS[:n]


def tta_stack(
    predict_array: Callable[[np.ndarray], np.ndarray], x: np.ndarray, members: int = 4
) -> np.ndarray:
    """``(members, H, W)`` predictions of the (C, H, W) stack ``x`` under each transform,
    transformed back onto ``x``'s grid (member 0 = ``predict_array(x)``)."""
    out = [
        inverse(predict_array(np.ascontiguousarray(forward(x, g))), g) for g in members_of(members)
    ]
    return np.stack(out).astype(np.float32)


def tta_predict(
    unet: Any, cube: Any, date: Any, members: int = 4, ablate: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """``(prediction, spread)`` of one day: the plain prediction and the TTA members' std.

    Args:
        unet: a `meltwater.models.inference.UNetPredictor` (or the registry's ``UNetWrapper``).
        cube: the analysis cube.
        date: a day of the cube.
        members: 4 or 8 (`MEMBERS`).
        ablate: input channels off, as in ``predict``.
    """
    from meltwater.data.preprocess import model_inputs

    unet = unet if hasattr(unet, "predict_array") else unet.model  # UNetWrapper → UNetPredictor
    x = np.asarray(model_inputs(cube, date, unet.stats, ablate=tuple(ablate)), dtype=np.float32)
    stack = tta_stack(unet.predict_array, x, members)
    return stack[0], stack.std(axis=0, dtype=np.float64).astype(np.float32)


def tta_model_id(unet_id: str, members: int) -> str:
    """Model id of a TTA spread: ``unet_tta<members>:<name>:<hash>`` from the UNet's id, so
    that a spread of another member count or checkpoint is another model
    (`meltwater.data.provenance.same_model`)."""
    kind, _, rest = unet_id.partition(":")
    return f"{kind}_tta{members}:{rest}"

"""Preprocessing shared by the baselines, the UNet and the cube (DESIGN.md §4).

* z-score normalisation with stats that are stored in checkpoints and reloaded (`NormStats`);
* Gaussian blurs of PMW (σ 15 px, kernel 45) and MAR (σ 33 px, kernel 99);
* the time-interpolated SAR: per pixel, the mean of the valid SAR of up to 3 preceding and 3
  following *training* scenes of the same year, never the target date; 0 where none;
* model input stacks in the fixed channel order, with ablated channels at their neutral value.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy import ndimage

from meltwater.errors import InvalidArgumentError, UnknownNameError
from meltwater.schema import CHANNELS

__all__ = [
    "BLUR",
    "CHANNELS",
    "NEUTRAL",
    "NormStats",
    "gaussian_blur",
    "model_inputs",
    "neighbour_scenes",
    "target_and_mask",
    "time_interpolated_sar",
]

# (sigma, kernel size) in pixels, from the paper.
BLUR: dict[str, tuple[float, int]] = {"pmw": (15.0, 45), "mar_wa1": (33.0, 99)}
# Value of a switched-off channel in model space (z-scored mean, or "no SAR known").
NEUTRAL: dict[str, float] = {c: 0.0 for c in CHANNELS}
NORMALISED = ("pmw", "mar_wa1", "dem")


def gaussian_blur(image: np.ndarray, sigma: float, kernel: int) -> np.ndarray:
    """Gaussian blur with a ``kernel``-pixel window (reflect borders), NaN-aware.

    NaNs do not spread: the blur is normalised by the blurred weight of finite pixels, and
    pixels that were NaN stay NaN.
    """
    if kernel % 2 != 1 or kernel < 1:
        raise InvalidArgumentError(f"kernel must be a positive odd number of pixels, got {kernel}")
    image = np.asarray(image, dtype=np.float32)
    radius = kernel // 2
    finite = np.isfinite(image)
    kw = dict(sigma=sigma, radius=radius, mode="reflect")
    if finite.all():
        return ndimage.gaussian_filter(image, **kw)
    num = ndimage.gaussian_filter(np.where(finite, image, 0.0).astype(np.float32), **kw)
    den = ndimage.gaussian_filter(finite.astype(np.float32), **kw)
    out = num / np.where(den > 0, den, np.nan)
    out[~finite] = np.nan
    return out


@dataclass(frozen=True)
class NormStats:
    """Per-channel z-score mean and std for the normalised channels."""

    mean: dict[str, float]
    std: dict[str, float]

    @classmethod
    def compute(cls, cube: xr.Dataset, dates: Sequence | pd.DatetimeIndex) -> NormStats:
        """Mean/std over land pixels of ``dates`` (PMW, MAR) and of the static DEM."""
        land = cube["land"].values
        mean, std = {}, {}
        sel = cube.sel(time=pd.DatetimeIndex(dates))
        for c in ("pmw", "mar_wa1"):
            vals = sel[c].values[:, land]
            mean[c], std[c] = float(np.nanmean(vals)), float(np.nanstd(vals))
        dem = cube["dem"].values[land]
        mean["dem"], std["dem"] = float(dem.mean()), float(dem.std())
        return cls(mean, std)

    @classmethod
    def paper(cls) -> NormStats:
        """The reference release's statistics (DESIGN.md §4)."""
        return cls(
            {"pmw": 206.10, "mar_wa1": 0.005986, "dem": 1175.09},
            {"pmw": 26.77, "mar_wa1": 0.008952, "dem": 993.85},
        )

    def to_dict(self) -> dict:
        return {"mean": dict(self.mean), "std": dict(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> NormStats:
        try:
            mean = {c: float(d["mean"][c]) for c in NORMALISED}
            std = {c: float(d["std"][c]) for c in NORMALISED}
        except (KeyError, TypeError, ValueError):
            raise InvalidArgumentError(
                f"normalisation stats need mean/std for {list(NORMALISED)}, got {d!r}"
            ) from None
        if any(s <= 0 or not np.isfinite(s) for s in std.values()):
            raise InvalidArgumentError(f"normalisation stds must be positive and finite, got {std}")
        return cls(mean, std)

    def apply(self, channel: str, values: np.ndarray) -> np.ndarray:
        return (values - self.mean[channel]) / self.std[channel]


def neighbour_scenes(
    target: pd.Timestamp, train_dates: pd.DatetimeIndex, n: int = 3
) -> pd.DatetimeIndex:
    """Up to ``n`` training scenes before and ``n`` after ``target`` in its year (never itself)."""
    target = pd.Timestamp(target)
    same = train_dates[(train_dates.year == target.year) & (train_dates != target)]
    before, after = same[same < target], same[same > target]
    return before[-n:].append(after[:n]) if n > 0 else same[:0]


def time_interpolated_sar(
    sar: xr.DataArray,
    train_dates: Iterable,
    times: Iterable | None = None,
    n: int = 3,
) -> xr.DataArray:
    """Time-interpolated SAR for ``times`` (default: all of ``sar.time``).

    Per pixel: the mean of the finite SAR of the neighbouring training scenes (see
    `neighbour_scenes`); 0 where none is finite. The target date never contributes.

    Args:
        sar: ``(time, y, x)`` SAR melt fraction with NaN = no data.
        train_dates: dates of the training scenes (only these are used).
        times: dates to compute; defaults to every date of ``sar``.
        n: scenes on each side.
    """
    train = pd.DatetimeIndex(
        sorted(pd.DatetimeIndex(train_dates).intersection(sar.indexes["time"]))
    )
    days = pd.DatetimeIndex(sar.indexes["time"] if times is None else times)
    cache: dict[pd.Timestamp, np.ndarray] = {}

    def scene(d: pd.Timestamp) -> np.ndarray:
        if d not in cache:
            cache[d] = np.asarray(sar.sel(time=d).values, dtype=np.float32)
        return cache[d]

    out = np.zeros((len(days),) + sar.shape[1:], dtype=np.float32)
    for i, t in enumerate(days):
        near = neighbour_scenes(t, train, n)
        if len(near) == 0:
            continue
        stack = np.stack([scene(d) for d in near])
        count = np.isfinite(stack).sum(axis=0)
        total = np.nansum(stack, axis=0)
        out[i] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return xr.DataArray(
        out,
        dims=sar.dims,
        coords={"time": days, **{k: sar.coords[k] for k in sar.dims[1:]}},
        attrs={"units": "1", "long_name": "time-interpolated SAR melt fraction (training scenes)"},
    )


def model_inputs(
    cube: xr.Dataset,
    date,
    stats: NormStats,
    ablate: Iterable[str] = (),
    blur: dict[str, tuple[float, int]] | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """The UNet input of one day: ``(4, ny, nx)`` float32 in `CHANNELS` order.

    PMW and MAR are blurred then z-scored, the DEM z-scored, SAR-interp used as is; NaN → the
    channel's neutral value; ablated channels are set entirely to their neutral value.

    Args:
        box: only the cells ``[row0:row1, col0:col1]`` (as stored); blurred channels are read
            with a margin of the kernel's radius, so the values equal the whole day's there.

    Raises:
        UnknownNameError: an unknown channel name in ``ablate``.
        InvalidArgumentError: a ``box`` that is empty or reaches outside the grid.
    """
    ablate = set(ablate)
    unknown = ablate - set(CHANNELS)
    if unknown:
        raise UnknownNameError(
            f"ablate: unknown channel(s) {sorted(unknown)}; valid: {list(CHANNELS)}"
        )
    blur = BLUR if blur is None else blur
    day = cube.sel(time=pd.Timestamp(date))
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    r0, r1, c0, c1 = (0, ny, 0, nx) if box is None else box
    if not (0 <= r0 < r1 <= ny and 0 <= c0 < c1 <= nx):
        raise InvalidArgumentError(f"box: expected cells within the {ny} × {nx} grid, got {box}")
    out = np.empty((len(CHANNELS), r1 - r0, c1 - c0), dtype=np.float32)
    for i, c in enumerate(CHANNELS):
        if c in ablate:
            out[i] = NEUTRAL[c]
            continue
        m = blur[c][1] // 2 if c in blur else 0
        rows, cols = slice(max(r0 - m, 0), min(r1 + m, ny)), slice(max(c0 - m, 0), min(c1 + m, nx))
        da = cube["dem"] if c == "dem" else day[c]
        values = np.asarray(da.isel(y=rows, x=cols).values, dtype=np.float32)
        if c in blur:
            values = gaussian_blur(values, *blur[c])
        values = values[r0 - rows.start : r1 - rows.start, c0 - cols.start : c1 - cols.start]
        if c in NORMALISED:
            values = stats.apply(c, values)
        out[i] = np.where(np.isfinite(values), values, NEUTRAL[c])
    return out


def target_and_mask(cube: xr.Dataset, date) -> tuple[np.ndarray, np.ndarray]:
    """SAR target of a day with NaN → 0, and the loss mask (SAR finite and land)."""
    sar = np.asarray(cube["sar"].sel(time=pd.Timestamp(date)).values, dtype=np.float32)
    mask = np.isfinite(sar) & np.asarray(cube["land"].values, dtype=bool)
    return np.where(np.isfinite(sar), sar, 0.0).astype(np.float32), mask

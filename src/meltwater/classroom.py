"""Small helpers behind the classroom notebooks (``notebooks/``); no plotting, no panel.

The notebooks only call the library; what they need beyond it lives here so that it is tested:

* `LessonSize`: the size knob (``MELTWATER_NOTEBOOK_FAST=1`` → a few days, a few training steps);
* `revisit_gaps`, `block_size`, `resolution_km`, `block_mean`, `elevation_profile`: what the
  inputs can and cannot see (lesson 1);
* `score_days`, `ablation_scores`: per-day scores of any predictor, with channels switched off
  (lesson 3);
* `quick_unet`: a few seconds/minutes of `models.train` into a scratch folder (lessons 3, 4);
* `with_predictions`: a cube with ``pred_<model>`` maps added in memory, for the season curves
  and the dashboard when ``meltwater precompute`` has not run (lesson 5);
* `tiny_demo`: the tiny demo source, generated once under the scratch folder when the catalog's
  demo is a bigger one (lesson 4).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr
from tqdm.auto import tqdm

from meltwater.data.catalog import Source, get_source
from meltwater.errors import CubeError
from meltwater.evaluation.scoring import day_truth, score_day
from meltwater.resources import data_dir
from meltwater.schema import CHANNELS, pred_var

if TYPE_CHECKING:
    from meltwater.models.registry import Predictor

__all__ = [
    "FAST_ENV",
    "LessonSize",
    "ablation_scores",
    "block_mean",
    "block_size",
    "elevation_profile",
    "quick_unet",
    "resolution_km",
    "revisit_gaps",
    "scratch_dir",
    "score_days",
    "spaced",
    "tiny_demo",
    "with_predictions",
]

FAST_ENV = "MELTWATER_NOTEBOOK_FAST"
TINY_SHAPE = (64, 96)


@dataclass(frozen=True)
class LessonSize:
    """How much work a notebook does.

    Attributes:
        fast: the quick setting (tests, a slow laptop).
        eval_days: SAR days scored per comparison (evenly spread over the split).
        train_epochs, train_steps: epochs and steps per epoch of a brief training run.
        train_minutes: wall-time budget of the training notebook (0 = only the epochs).
        dashboard_days: SAR days given in-memory predictions for the dashboard notebook.
    """

    fast: bool
    eval_days: int
    train_epochs: int
    train_steps: int
    train_minutes: float
    dashboard_days: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LessonSize:
        """Fast when ``$MELTWATER_NOTEBOOK_FAST`` is 1/true/yes, else the classroom setting."""
        value = (os.environ if env is None else env).get(FAST_ENV, "").strip().lower()
        if value in ("1", "true", "yes", "on"):
            return cls(
                True,
                eval_days=2,
                train_epochs=1,
                train_steps=2,
                train_minutes=0.0,
                dashboard_days=6,
            )
        if value not in ("", "0", "false", "no", "off"):
            raise ValueError(f"${FAST_ENV}: expected 1/true/yes or 0/false/no, got {value!r}")
        return cls(
            False,
            eval_days=4,
            train_epochs=20,
            train_steps=10,
            train_minutes=3.0,
            dashboard_days=30,
        )


def spaced(dates: Sequence | pd.DatetimeIndex, n: int) -> pd.DatetimeIndex:
    """At most ``n`` of ``dates``, evenly spread from first to last (all when ``n`` ≤ 0)."""
    dates = pd.DatetimeIndex(dates)
    if n <= 0 or len(dates) <= n:
        return dates
    return dates[np.unique(np.linspace(0, len(dates) - 1, n).round().astype(int))]


def revisit_gaps(cube: xr.Dataset) -> pd.Series:
    """Days since the previous SAR scene of the same season, indexed by scene date.

    The first scene of each season has no predecessor and is left out.
    """
    has = cube["has_sar"].to_series().astype(bool)
    scenes = pd.DatetimeIndex(has.index[has.values])
    gaps = pd.Series(scenes.to_series().diff().dt.days.values, index=scenes, name="gap_days")
    first = scenes.year != np.roll(scenes.year, 1)
    if len(scenes):
        first[0] = True
    return gaps[~first].astype(int)


def block_size(field: np.ndarray, mask: np.ndarray | None = None) -> int:
    """Side (px) of the constant blocks of a field upsampled by nearest neighbour.

    Along every row and column, the runs of equal values that are bounded by a value change
    at both ends (inside ``mask``, e.g. the land) are multiples of the block side; the most
    common run length is returned (1 for a field that varies from pixel to pixel). When no run
    is bounded at both ends (a domain only one or two blocks wide), the longest run is returned.

    Raises:
        ValueError: not a 2-D map, or no valid pixel.
    """
    a = np.asarray(field, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"field: expected a 2-D map, got shape {a.shape}")
    good = np.isfinite(a) if mask is None else np.asarray(mask, bool) & np.isfinite(a)
    if not good.any():
        raise ValueError("field: no valid pixel inside the mask")
    inner, longest = [], 0
    for arr, ok in ((a, good), (a.T, good.T)):
        for row, g in zip(arr, ok, strict=True):
            r = np.where(g, row, np.nan)
            starts = np.r_[0, np.flatnonzero(~(r[1:] == r[:-1])) + 1]
            ends = np.r_[starts[1:], r.size]
            lengths = ends - starts
            longest = max(longest, int(lengths[g[starts]].max(initial=0)))
            k = np.arange(1, starts.size - 1)
            bounded = g[starts[k]] & g[starts[k] - 1] & g[ends[k]]
            inner.append(lengths[k][bounded])
    runs = np.concatenate(inner)
    return int(np.bincount(runs).argmax()) if runs.size else longest


def resolution_km(
    cube: xr.Dataset, date, variables: Sequence[str] = ("mar_wa1", "pmw", "sar")
) -> pd.Series:
    """Effective resolution (km) of each variable on ``date``: `block_size` × the cell size."""
    res_km = abs(float(cube.x[1] - cube.x[0])) / 1000.0
    land = np.asarray(cube["land"].values, bool)
    t = pd.Timestamp(date)
    out = {v: block_size(cube[v].sel(time=t).values, land) * res_km for v in variables}
    return pd.Series(out, name="resolution_km")


def block_mean(field: np.ndarray, block: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Mean of ``field`` over ``block`` × ``block`` px blocks (from the top-left), spread back to
    every pixel of the block: how a grid of that cell size sees it. ``mask`` limits the mean to
    its pixels (NaN where a block has none)."""
    a = np.asarray(field, dtype=np.float64)
    m = np.isfinite(a) if mask is None else np.asarray(mask, bool) & np.isfinite(a)
    ny, nx = a.shape
    by, bx = -(-ny // block), -(-nx // block)
    pad = ((0, by * block - ny), (0, bx * block - nx))
    s = np.pad(np.where(m, a, 0.0), pad).reshape(by, block, bx, block).sum(axis=(1, 3))
    n = np.pad(m.astype(float), pad).reshape(by, block, bx, block).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
    return np.repeat(np.repeat(mean, block, 0), block, 1)[:ny, :nx]


def elevation_profile(
    values: np.ndarray, elevation: np.ndarray, mask: np.ndarray, step: float = 250.0
) -> pd.Series:
    """Mean of ``values`` over the ``mask`` pixels in elevation bands of ``step`` m.

    Returns:
        Series indexed by the band's lower edge (m); bands without a pixel are left out.
    """
    v = np.asarray(values, dtype=np.float64)
    z = np.asarray(elevation, dtype=np.float64)
    ok = np.asarray(mask, bool) & np.isfinite(v) & np.isfinite(z)
    band = np.floor(z[ok] / step) * step
    s = pd.Series(v[ok]).groupby(band).mean()
    s.index = s.index.rename("elevation_m")
    return s.rename("mean")


PredictFn = Callable[..., xr.DataArray]


def score_days(
    predict: PredictFn, cube: xr.Dataset, dates: Sequence, ablate: Sequence[str] = ()
) -> pd.DataFrame:
    """MAE, bias and accuracy vs SAR of ``predict(cube, date, ablate=...)`` on each SAR day.

    Returns:
        DataFrame indexed by date with ``mae``, ``bias``, ``accuracy`` and ``melt_fraction``
        (mean prediction over the valid pixels), plus ``sar_melt_fraction``.

    Raises:
        CubeError: a date without a SAR scene.
    """
    rows = {}
    for d in pd.DatetimeIndex(dates):
        truth = day_truth(cube, d)
        if truth is None:
            raise CubeError(f"{d.date()} has no SAR scene to score against")
        kw = {"ablate": tuple(ablate)} if ablate else {}
        pred = np.asarray(predict(cube, d, **kw).values, np.float32)
        s = score_day(pred, truth)
        rows[d] = {k: s[k] for k in ("mae", "bias", "accuracy", "melt_fraction")}
        rows[d]["sar_melt_fraction"] = truth.melt_fraction
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("time")


def ablation_scores(
    predict: PredictFn, cube: xr.Dataset, dates: Sequence, channels: Sequence[str] = CHANNELS
) -> pd.DataFrame:
    """Mean scores with all inputs and with each channel switched off, and the MAE change.

    Returns:
        DataFrame indexed ``all inputs``, ``no <channel>`` … with the `score_days` means and
        ``delta_mae`` (MAE minus the all-inputs MAE).
    """
    runs = {"all inputs": ()} | {f"no {c}": (c,) for c in channels}
    rows = {}
    for label, ablate in tqdm(runs.items(), desc="ablations", leave=False):
        rows[label] = score_days(predict, cube, dates, ablate).mean()
    out = pd.DataFrame(rows).T.drop(columns="sar_melt_fraction")
    out["delta_mae"] = out["mae"] - out.loc["all inputs", "mae"]
    return out


def scratch_dir(name: str = "") -> Path:
    """``<data dir>/classroom[/name]``: where the notebooks write (created when missing)."""
    path = data_dir() / "classroom" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def quick_unet(
    cube: xr.Dataset,
    out: Path | str,
    *,
    crop: int,
    epochs: int,
    steps: int,
    batch_size: int = 4,
    lr: float = 1e-3,
    max_minutes: float = 0.0,
    model: str | dict = "default",
    seed: int = 0,
    val_days: int = 4,
) -> Path:
    """Train a UNet briefly with `meltwater.models.train.train`; returns the best checkpoint's path.

    Args:
        cube: the analysis cube (its ``train`` split is used, val/test for the metrics).
        out: checkpoint path stem, e.g. ``scratch_dir("runs") / "unet_64px"``.
        crop: side of the random training crops (px).
        epochs, steps: epochs and steps per epoch.
        batch_size, lr, seed: training settings (a higher lr than the paper's 1e-4 so that a few
            steps already learn something).
        max_minutes: stop after the epoch that passes this wall time (0 = no limit).
        model: a registered model config name or an inline mapping.
        val_days: val days scored after each epoch.
    """
    from meltwater.models.train import TrainConfig, train

    cfg = TrainConfig(
        model=model,
        out=str(out),
        crop=crop,
        batch_size=batch_size,
        epochs=epochs,
        steps_per_epoch=steps,
        lr=lr,
        t0=max(1, epochs),
        seed=seed,
        val_days=val_days,
        max_minutes=max_minutes,
        source=str(cube.attrs.get("source", "demo")),
    )
    command = f"meltwater.classroom.quick_unet(crop={crop}, epochs={epochs}, steps={steps})"
    return train(cfg, command=command, cube=cube)


def with_predictions(
    cube: xr.Dataset,
    predictors: Mapping[str, Predictor],
    dates: Sequence,
    *,
    progress: bool = True,
) -> xr.Dataset:
    """``cube`` restricted to ``dates``, loaded in memory, with ``pred_<name>`` of each predictor.

    The result has the analysis cube's schema, so `meltwater.evaluation.summaries` and the dashboard
    (``meltwater_dashboard.store.Store``) can use it like a precomputed cube.
    """
    times = pd.DatetimeIndex(dates, name="time")
    sub = cube.sel(time=times).load()
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    for name, p in predictors.items():
        arr = np.full((len(times), ny, nx), np.nan, np.float16)
        for i, d in enumerate(
            tqdm(times, desc=f"predict {name}", disable=not progress, leave=False)
        ):
            arr[i] = np.asarray(p.predict(cube, d).values, np.float32)
        sub[pred_var(name)] = (("time", "y", "x"), arr, {"units": "1", "model": name})
    return sub


def tiny_demo(seed: int = 0) -> Source:
    """The tiny demo (2 seasons, 64 × 96 px) as a catalog source with its cube built.

    The catalog's ``demo`` is used when it already is the tiny preset; otherwise the tiny demo is
    generated once under `scratch_dir` (``classroom/tiny``) and reused afterwards.
    """
    import json

    from meltwater.data.cube import build_cube, open_cube
    from meltwater.data.synthetic import DemoConfig, write_demo

    source = get_source("demo")
    if source.cube_path.exists():
        meta = json.loads(open_cube(source).attrs.get("demo_metadata", "{}"))
        cfg = meta.get("config", {})
        if tuple(cfg.get("shape", ())) == TINY_SHAPE and cfg.get("seed") == seed:
            return source
    source = get_source("demo", data_root=scratch_dir(f"tiny_seed{seed}"))
    if not source.cube_path.exists():
        if not (source.root / "demo.json").exists():
            write_demo(source.root, DemoConfig.preset("tiny", seed=seed))
        build_cube(source)
    return source

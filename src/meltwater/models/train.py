"""Training loop of the UNet: random crops of training SAR days, masked L1, input-channel dropout.

`TrainConfig` is loaded from YAML (``meltwater train --config configs/train_default.yaml``).
Each epoch draws ``steps_per_epoch`` batches of random crops from the training split's SAR
days (seeded per epoch, so a resumed run draws the same crops), replaces each input channel by
its neutral value 0 with probability ``channel_dropout`` (so every subset of inputs gives a
meaningful prediction), then validates on full val days with the paper metrics. The best
model by validation MAE is kept as a checkpoint; the last state is kept for ``--resume``.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from meltwater.config import check_keys, read_yaml_mapping
from meltwater.data.cube import split_dates
from meltwater.models.checkpoint import (
    CheckpointMeta,
    load_train_state,
    save_checkpoint,
    save_train_state,
)
from meltwater.models.device import auto_device, configure_threads
from meltwater.models.losses import LOSSES
from meltwater.models.sliding import sliding_window
from meltwater.models.unet import ModelConfig, build_model, get_model_config

__all__ = ["TrainConfig", "TrainData", "evaluate_days", "train"]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Training hyper-parameters (DESIGN §4); every field is read by `train`.

    Attributes:
        model: a registered model config name, a YAML path, or an inline mapping.
        source, catalog, data_root: the data (see `meltwater.data.catalog.get_source`).
        out: checkpoint path stem of the best model, e.g. ``models/unet_demo``.
        work_dir: folder of the resumable last state (default: ``<out>.run``).
        crop: side of the random training crops (px; cut to the domain, multiple of 32).
        batch_size, epochs, steps_per_epoch: loop sizes.
        lr, grad_clip, t0, t_mult: Adam learning rate, gradient-norm clip, and the
            CosineAnnealingWarmRestarts schedule (in epochs).
        channel_dropout: probability of replacing each input channel by 0 in a sample.
        augment: random 90° rotations (square crops) and flips of each crop.
        init: a checkpoint to start from (fine-tuning; same architecture as ``model``). Its
            validation MAE is the one to beat: the output is only written when a fine-tuned
            epoch validates better.
        seed: seeds the model init and every epoch's crops.
        device, precision: ``auto`` (CUDA → CPU; bf16 autocast on CUDA) or explicit.
        val_days: at most this many val days per validation (evenly spaced; 0 = all).
        max_minutes: stop after the epoch that passes this wall time (0 = no limit).
        loss: the training loss over valid pixels, ``l1`` (fits the median) or ``mse`` (fits
            the mean; see `meltwater.models.losses`).
    """

    model: Any = "default"
    source: str = "demo"
    catalog: str | None = None
    data_root: str | None = None
    out: str = "models/unet_demo"
    work_dir: str | None = None
    crop: int = 512
    batch_size: int = 4
    epochs: int = 35
    steps_per_epoch: int = 50
    lr: float = 1e-4
    grad_clip: float = 1.0
    t0: int = 35
    t_mult: int = 2
    channel_dropout: float = 0.2
    augment: bool = False
    init: str | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    val_days: int = 0
    max_minutes: float = 0.0
    loss: str = "l1"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}")

    @classmethod
    def from_yaml(cls, path: Path | str, **overrides: Any) -> TrainConfig:
        """Load a YAML mapping of these fields (``yaml.safe_load``); overrides win."""
        path = Path(path)
        raw = read_yaml_mapping(path, "training config")
        check_keys(raw, cls, str(path))
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**raw)

    @property
    def model_config(self) -> ModelConfig:
        """The architecture."""
        return get_model_config(self.model)


class TrainData:
    """Model inputs, targets and masks of some days of a cube, held in memory.

    Args:
        cube: the analysis cube.
        dates: days to load (SAR days).
        stats: `meltwater.data.preprocess.NormStats` for the inputs.
    """

    def __init__(self, cube: xr.Dataset, dates: list, stats) -> None:
        from meltwater.data.preprocess import model_inputs, target_and_mask

        if not dates:
            raise ValueError("TrainData: no days to load (no SAR day in this split?)")
        self.dates = list(dates)
        xs, ts, ms = [], [], []
        for d in tqdm(self.dates, desc="loading days", leave=False):
            xs.append(np.asarray(model_inputs(cube, d, stats), dtype=np.float32))
            t, m = target_and_mask(cube, d)
            ts.append(np.asarray(t, dtype=np.float32))
            ms.append(np.asarray(m, dtype=bool))
        self.x, self.target, self.mask = np.stack(xs), np.stack(ts), np.stack(ms)

    def crops(
        self,
        rng: np.random.Generator,
        n: int,
        size: int,
        channel_dropout: float,
        augment: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` random crops (inputs, targets, masks) with input-channel dropout applied, and
        with ``augment`` a random rotation by k × 90° (square crops) and flip of each."""
        _, c, h, w = self.x.shape
        sh, sw = min(size, h // 32 * 32 or h), min(size, w // 32 * 32 or w)
        xb = np.empty((n, c, sh, sw), np.float32)
        tb = np.empty((n, 1, sh, sw), np.float32)
        mb = np.empty((n, 1, sh, sw), bool)
        for k in range(n):
            for _ in range(10):  # prefer crops with valid pixels
                d, i, j = (
                    rng.integers(len(self.dates)),
                    rng.integers(h - sh + 1),
                    rng.integers(w - sw + 1),
                )
                if self.mask[d, i : i + sh, j : j + sw].any():
                    break
            xb[k] = self.x[d, :, i : i + sh, j : j + sw]
            tb[k, 0] = self.target[d, i : i + sh, j : j + sw]
            mb[k, 0] = self.mask[d, i : i + sh, j : j + sw]
        if augment:  # drawn after the positions: the same seed gives the same crops
            for k in range(n):
                xb[k], tb[k], mb[k] = _augmented(rng, xb[k], tb[k], mb[k])
        drop = rng.random((n, c)) < channel_dropout
        xb[drop] = 0.0
        return torch.from_numpy(xb), torch.from_numpy(tb), torch.from_numpy(mb)


def _augmented(rng: np.random.Generator, *arrays: np.ndarray) -> list[np.ndarray]:
    """The same random k × 90° rotation (when square) and left-right flip of every array."""
    h, w = arrays[0].shape[-2:]
    k = int(rng.integers(4)) if h == w else 2 * int(rng.integers(2))
    flip = bool(rng.integers(2))
    out = []
    for a in arrays:
        a = np.rot90(a, k, axes=(-2, -1))
        out.append(a[..., ::-1] if flip else a)
    return out


def _autocast(device: torch.device, bf16: bool):
    if bf16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def evaluate_days(
    model: torch.nn.Module,
    data: TrainData,
    device: torch.device,
    bf16: bool = False,
    multiple: int = 32,
) -> dict[str, float]:
    """Full-day sliding-window predictions of ``data``'s days → mean paper metrics."""
    from meltwater.evaluation.metrics import image_metrics

    model.eval()

    def forward(batch: torch.Tensor) -> torch.Tensor:
        with _autocast(device, bf16):
            return model(batch)

    rows = []
    for k in range(len(data.dates)):
        pred = sliding_window(forward, data.x[k], multiple=multiple, device=device)
        rows.append(image_metrics(pred, data.target[k], data.mask[k]))
    out = {}
    for key in (k for k in rows[0] if k != "n_valid"):
        finite = [r[key] for r in rows if np.isfinite(r[key])]
        out[key] = float(np.mean(finite)) if finite else float("nan")
    return out


def _spaced(dates: list, n: int) -> list:
    if n <= 0 or len(dates) <= n:
        return dates
    return [dates[i] for i in np.linspace(0, len(dates) - 1, n).round().astype(int)]


def _data_info(cube: xr.Dataset, cfg: TrainConfig, data: TrainData) -> dict[str, Any]:
    """Source, demo generator version/seed/size (when synthetic) and a hash of the train data."""
    import hashlib
    import json

    h = hashlib.sha256()
    for arr in (data.x, data.target, data.mask):
        h.update(np.ascontiguousarray(arr).tobytes())
    info: dict[str, Any] = {"source": cfg.source, "train_days": len(data.dates)}
    if "demo_metadata" in cube.attrs:
        demo = json.loads(cube.attrs["demo_metadata"])
        demo_cfg = demo.get("config", {})
        info["generator_version"] = demo.get("generator_version")
        info["demo_seed"] = demo_cfg.get("seed")
        info["demo_shape"] = demo_cfg.get("shape")
        info["demo_years"] = demo_cfg.get("years")
    info["data_hash"] = h.hexdigest()
    return info


def train(
    cfg: TrainConfig,
    resume: bool = False,
    command: str | None = None,
    cube: xr.Dataset | None = None,
) -> Path:
    """Train, keep the best checkpoint by validation MAE, return its ``.safetensors`` path.

    After the last epoch the best checkpoint is evaluated on the test days too and its
    metadata/model card are rewritten with the val and test metrics.

    Args:
        cfg: the configuration.
        resume: continue from the last state in the work dir if there is one.
        command: the command line recorded in the checkpoint metadata.
        cube: an opened analysis cube (default: open the cube of ``cfg.source``).
    """
    from meltwater.data.preprocess import NormStats

    configure_threads()
    torch.manual_seed(cfg.seed)
    device = auto_device(cfg.device)
    # auto: bf16 autocast on CUDA only; on CPU it made training steps slower (docs/model.md)
    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported()
    )
    mcfg = cfg.model_config
    if cube is None:
        from meltwater.data.catalog import get_source
        from meltwater.data.cube import open_cube

        cube = open_cube(get_source(cfg.source, cfg.catalog, cfg.data_root))
    train_dates = list(split_dates(cube, "train"))
    stats = NormStats.compute(cube, train_dates)
    data = TrainData(cube, train_dates, stats)
    val = TrainData(cube, _spaced(list(split_dates(cube, "val")), cfg.val_days), stats)

    model, init_info = _initial_weights(cfg.init, mcfg) if cfg.init else (build_model(mcfg), {})
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=cfg.t0, T_mult=cfg.t_mult)
    out = Path(cfg.out)
    work = Path(cfg.work_dir) if cfg.work_dir else out.with_name(out.name + ".run")
    best = init_info.get("val_mae", float("inf"))
    state = {"epoch": 0, "best_mae": best, "history": [], "wall_s": 0.0}
    if resume and (work / "last.json").is_file():
        state = load_train_state(work / "last", model, opt, sched)
        log.info("resumed from %s at epoch %d", work, state["epoch"])
    meta = CheckpointMeta(
        name=out.name,
        model=mcfg.to_dict(),
        norm_stats=stats.to_dict(),
        data=_data_info(cube, cfg, data),
        training={
            "command": command or "meltwater train " + shlex.join(sys.argv[1:]),
            "config": asdict(cfg),
            "device": str(device),
            "bf16": bf16,
            **({"init": init_info} if init_info else {}),
        },
    )
    t_start = time.perf_counter() - state["wall_s"]
    for epoch in range(state["epoch"], cfg.epochs):
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        losses = []
        bar = tqdm(range(cfg.steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
        for step in bar:
            x, t, m = (
                a.to(device)
                for a in data.crops(rng, cfg.batch_size, cfg.crop, cfg.channel_dropout, cfg.augment)
            )
            with _autocast(device, bf16):
                pred = model(x)
            loss = LOSSES[cfg.loss](pred.float(), t, m)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step(epoch + (step + 1) / cfg.steps_per_epoch)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
        metrics = evaluate_days(model, val, device, bf16, mcfg.multiple)
        state["epoch"] = epoch + 1
        state["wall_s"] = time.perf_counter() - t_start
        state["history"].append(
            {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), **metrics}
        )
        train_loss = f"{cfg.loss.upper()} {np.mean(losses):.4f}"
        log.info("epoch %d: train %s, val %s", epoch + 1, train_loss, _short(metrics))
        if metrics["mae"] < state["best_mae"]:
            state["best_mae"] = metrics["mae"]
            meta.metrics = {"val": metrics}
            meta.training.update(epochs=epoch + 1, wall_s=round(state["wall_s"], 1))
            save_checkpoint(model, out, meta)
            state["saved"] = True
        save_train_state(work / "last", model, opt, sched, state)
        if cfg.max_minutes and state["wall_s"] > 60 * cfg.max_minutes:
            log.info("time budget of %.1f min reached after epoch %d", cfg.max_minutes, epoch + 1)
            break
    if cfg.init and not state.get("saved"):
        log.info("no epoch beat %s (val MAE %.4f): nothing written", cfg.init, best)
        return Path(cfg.init).with_suffix(".safetensors")
    return _finalise(out, cube, stats, device, bf16, state)


def _initial_weights(path: str, mcfg: ModelConfig) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model of checkpoint ``path`` (its architecture must be ``mcfg``) and its provenance."""
    from meltwater.errors import CheckpointError
    from meltwater.models.checkpoint import load_checkpoint

    model, meta = load_checkpoint(path)
    if meta.model_config != mcfg:
        raise CheckpointError(
            f"init: checkpoint {path} has the architecture {meta.model_config.to_dict()}, "
            f"the config asks for {mcfg.to_dict()}"
        )
    info = {
        "checkpoint": str(path),
        "weights_sha256": meta.weights_sha256,
        "command": meta.training.get("command"),
        "epochs": meta.training.get("epochs"),
    }
    val_mae = meta.metrics.get("val", {}).get("mae")
    if val_mae is not None:
        info["val_mae"] = float(val_mae)
    return model, info


def _finalise(out: Path, cube: xr.Dataset, stats, device, bf16: bool, state: dict) -> Path:
    """Add test metrics and the training history to the best checkpoint's metadata."""
    from meltwater.models.checkpoint import load_checkpoint

    model, meta = load_checkpoint(out, map_location=device)
    test = TrainData(cube, list(split_dates(cube, "test")), stats)
    meta.metrics["test"] = evaluate_days(model, test, device, bf16, meta.model_config.multiple)
    meta.training["history"] = state["history"]
    log.info("best checkpoint %s: test %s", out, _short(meta.metrics["test"]))
    return save_checkpoint(model, out, meta)


def _short(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k} {metrics[k]:.4f}" for k in ("mae", "accuracy", "r2") if k in metrics)

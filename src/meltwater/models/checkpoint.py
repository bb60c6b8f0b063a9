"""Checkpoints: safetensors weights + JSON metadata + a model card rendered from the metadata.

A checkpoint ``<dir>/<name>`` is three files: ``<name>.safetensors`` (the state dict, never a
pickle), ``<name>.json`` (architecture, channel order, normalisation stats, training data and
command, metrics, SHA-256 of the weights) and ``<name>.md`` (the model card). Loading checks
the weights' hash, the channel order and the architecture and raises `CheckpointError`.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from meltwater.atomic import atomic_path, sha256_file
from meltwater.errors import CheckpointError
from meltwater.models.unet import CHANNELS, ModelConfig, build_model

__all__ = [
    "CheckpointMeta",
    "load_checkpoint",
    "load_train_state",
    "read_meta",
    "render_card",
    "save_checkpoint",
    "save_train_state",
]

FORMAT_VERSION = 1


@dataclass
class CheckpointMeta:
    """Everything needed to rebuild, trust and describe a trained UNet.

    Attributes:
        name: checkpoint name (the file stem).
        model: `ModelConfig.to_dict` of the architecture.
        norm_stats: ``NormStats.to_dict()`` of the training data.
        data: source name, demo generator version, preset, seed and data hash.
        training: command, config, epochs, steps, wall time, device.
        metrics: ``{"val": {...}, "test": {...}}`` of the paper metrics.
        weights_sha256: SHA-256 of the safetensors file (filled in by `save_checkpoint`).
    """

    name: str
    model: dict[str, Any]
    norm_stats: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def model_config(self) -> ModelConfig:
        """The architecture as a `ModelConfig`."""
        return ModelConfig.from_dict(dict(self.model), where=f"checkpoint {self.name!r} model")


def _paths(stem: Path) -> tuple[Path, Path, Path]:
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json"), stem.with_suffix(".md")


def _stem(path: Path | str) -> Path:
    path = Path(path)
    return path.with_suffix("") if path.suffix in {".safetensors", ".json", ".md"} else path


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def render_card(meta: CheckpointMeta) -> str:
    """The model card (markdown) of a checkpoint, from its metadata only."""
    cfg = meta.model_config
    lines = [
        f"# Model card: `{meta.name}`",
        "",
        "UNet (segmentation_models_pytorch) downscaling daily surface meltwater fraction of "
        "Helheim Glacier to 100 m. Output: melt fraction in [0, 1] (sigmoid).",
        "",
        "## Architecture",
        f"- encoder: `{cfg.encoder_name}`, depth {cfg.encoder_depth}, random init",
        f"- decoder channels: {list(cfg.decoder_channels)}, norm: {cfg.decoder_use_norm}",
        f"- input channels (in order): {', '.join(f'`{c}`' for c in cfg.channels)}",
        "",
        "## Training data",
    ]
    lines += [f"- {k}: `{v}`" for k, v in meta.data.items()]
    lines += ["", "## Training"]
    skip = {"command", "config", "history"}
    lines += [f"- {k}: `{v}`" for k, v in meta.training.items() if k not in skip]
    history = meta.training.get("history", [])
    if history:
        loss = meta.training.get("config", {}).get("loss", "l1").upper()
        lines += ["", f"| epoch | train {loss} | val MAE | val accuracy |", "|---|---|---|---|"]
        lines += [
            f"| {h['epoch']} | {_fmt(h['train_loss'])} | {_fmt(h.get('mae'))} "
            f"| {_fmt(h.get('accuracy'))} |"
            for h in history
        ]
    if "config" in meta.training:
        lines += ["", "Config:", "```json", json.dumps(meta.training["config"], indent=2), "```"]
    if "command" in meta.training:
        lines += ["", "Retrain with:", "```", meta.training["command"], "```"]
    lines += ["", "## Normalisation", "| channel | mean | std |", "|---|---|---|"]
    mean, std = meta.norm_stats.get("mean", {}), meta.norm_stats.get("std", {})
    lines += [f"| {c} | {_fmt(mean[c])} | {_fmt(std[c])} |" for c in mean]
    lines.append("| sar_interp | not normalised | |")
    for split, values in meta.metrics.items():
        lines += ["", f"## Metrics ({split})", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in values.items()]
    lines += [
        "",
        "## Files",
        f"- weights: `{meta.name}.safetensors` (SHA-256 `{meta.weights_sha256}`)",
        f"- metadata: `{meta.name}.json`; created {meta.created}; versions {meta.versions}",
        "",
        "## Limitations",
        "Trained on the synthetic demo unless `data.source` says otherwise: it shows how the "
        "pipeline behaves, not real Helheim melt. Inputs must be normalised with the stats above.",
        "",
    ]
    return "\n".join(lines)


def save_checkpoint(model: torch.nn.Module, path: Path | str, meta: CheckpointMeta) -> Path:
    """Write weights, metadata and model card atomically; returns the ``.safetensors`` path.

    Args:
        model: the trained module (its ``state_dict`` is saved, on CPU, contiguous).
        path: ``<dir>/<name>`` (a suffix among .safetensors/.json/.md is ignored).
        meta: metadata; ``name``, ``weights_sha256``, ``created`` and ``versions`` are filled in.
    """
    import segmentation_models_pytorch as smp

    stem = _stem(path)
    weights, meta_path, card = _paths(stem)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "name": stem.name})
        tmp.chmod(0o644)
        meta.weights_sha256 = sha256_file(tmp)
    meta.name = stem.name
    meta.created = meta.created or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    meta.versions = {
        "torch": torch.__version__,
        "segmentation_models_pytorch": smp.__version__,
        "python": platform.python_version(),
    }
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps(asdict(meta), indent=2, sort_keys=True) + "\n")
    with atomic_path(card) as tmp:
        tmp.write_text(render_card(meta))
    return weights


def read_meta(path: Path | str) -> CheckpointMeta:
    """The metadata of a checkpoint (``<name>`` or any of its three files).

    Raises:
        CheckpointError: the JSON file is missing or malformed.
    """
    meta_path = _paths(_stem(path))[1]
    if not meta_path.is_file():
        raise CheckpointError(f"checkpoint metadata {meta_path} not found")
    try:
        raw = json.loads(meta_path.read_text())
        return CheckpointMeta(**raw)
    except (json.JSONDecodeError, TypeError) as e:
        raise CheckpointError(f"checkpoint metadata {meta_path}: malformed ({e})") from e


def load_checkpoint(
    path: Path | str, map_location: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, CheckpointMeta]:
    """Rebuild the model of a checkpoint and load its weights, after checking them.

    Returns:
        (model in eval mode, metadata).

    Raises:
        CheckpointError: missing files, SHA-256 mismatch, unexpected channel order, unknown
            encoder, or weights that do not fit the architecture.
    """
    meta = read_meta(path)
    weights = _paths(_stem(path))[0]
    if not weights.is_file():
        raise CheckpointError(f"checkpoint weights {weights} not found")
    digest = sha256_file(weights)
    if digest != meta.weights_sha256:
        raise CheckpointError(
            f"checkpoint weights {weights}: SHA-256 {digest} does not match the metadata "
            f"({meta.weights_sha256}); the file is corrupt or was replaced"
        )
    try:
        cfg = meta.model_config
    except ValueError as e:
        raise CheckpointError(f"checkpoint {weights}: bad model config ({e})") from e
    if tuple(cfg.channels) != CHANNELS:
        raise CheckpointError(
            f"checkpoint {weights}: input channels {list(cfg.channels)}, expected {list(CHANNELS)}"
        )
    model = build_model(cfg)
    state = load_file(str(weights), device=str(map_location))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(
            f"checkpoint {weights}: weights do not fit encoder {cfg.encoder_name!r} ({e})"
        ) from e
    return model.to(map_location).eval(), meta


def save_train_state(
    stem: Path | str,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    state: dict[str, Any],
) -> None:
    """Save a resumable training state without pickle: tensors → safetensors, the rest → JSON.

    Writes ``<stem>.safetensors`` (model + optimiser tensors) and ``<stem>.json`` (loop state,
    optimiser hyper-parameters, scheduler state).
    """
    stem = Path(stem)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt_state = opt.state_dict()
    scalars: dict[str, dict[str, float]] = {}
    for idx, st in opt_state["state"].items():
        for key, v in st.items():
            if torch.is_tensor(v) and v.ndim > 0:
                tensors[f"opt.{idx}.{key}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = float(v)
    with atomic_path(stem.with_suffix(".safetensors")) as tmp:
        save_file(tensors, str(tmp))
    doc = {
        "state": state,
        "opt_param_groups": opt_state["param_groups"],
        "opt_scalars": scalars,
        "scheduler": sched.state_dict(),
    }
    with atomic_path(stem.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(doc, indent=1))


def load_train_state(
    stem: Path | str,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
) -> dict[str, Any]:
    """Restore `save_train_state` output into model, optimiser, scheduler; return the loop state.

    Raises:
        CheckpointError: missing files or a state that does not fit the model.
    """
    stem = Path(stem)
    try:
        doc = json.loads(stem.with_suffix(".json").read_text())
        tensors = load_file(str(stem.with_suffix(".safetensors")))
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"training state {stem}: cannot read ({e})") from e
    device = next(model.parameters()).device
    model_state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"training state {stem}: does not fit the model ({e})") from e
    opt_state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, idx, key = k.split(".", 2)
            opt_state.setdefault(int(idx), {})[key] = v.to(device)
    for idx, sc in doc["opt_scalars"].items():
        for key, v in sc.items():
            opt_state.setdefault(int(idx), {})[key] = torch.tensor(v)
    opt.load_state_dict({"state": opt_state, "param_groups": doc["opt_param_groups"]})
    sched.load_state_dict(doc["scheduler"])
    return doc["state"]

"""ONNX Runtime as an inference path of the UNet (CPU): exported once per checkpoint, then cached.

The network is exported with `torch.onnx.export` (the torch.export-based exporter) with a dynamic
batch size and heights and widths that are any multiple of the model's input multiple, so one
file serves the probe tile of ``precision="auto"``, full tiles and small crops. Exports are
kept under ``$MELTWATER_CACHE/onnx`` (default ``~/.cache/meltwater/onnx``), one folder per
weights hash, architecture and torch/onnxruntime version, written atomically.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import torch

from meltwater.atomic import atomic_path
from meltwater.errors import CheckpointError

__all__ = ["CACHE_ENV", "OrtModel", "cache_dir", "export_onnx", "onnx_ready"]

CACHE_ENV = "MELTWATER_CACHE"
_MODULES = ("onnxruntime", "onnx", "onnxscript")
_MAX_BATCH = 64
_MAX_MULTIPLES = 1024  # heights and widths up to 1024 × the input multiple


def onnx_ready() -> bool:
    """Whether ONNX Runtime and the exporter's packages are installed."""
    return all(importlib.util.find_spec(m) is not None for m in _MODULES)


def cache_dir() -> Path:
    """``$MELTWATER_CACHE`` or ``~/.cache/meltwater``: exports and other rebuildable files."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "meltwater"


def _key(weights_sha256: str, architecture: dict, in_channels: int, multiple: int) -> str:
    import onnxruntime

    doc = {
        "weights": weights_sha256,
        "architecture": architecture,
        "in_channels": in_channels,
        "multiple": multiple,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def export_onnx(
    model: torch.nn.Module,
    *,
    weights_sha256: str,
    architecture: dict,
    in_channels: int,
    multiple: int,
) -> Path:
    """The ONNX file of ``model`` (CPU, fp32, eval mode), exported now unless already cached.

    Raises:
        CheckpointError: the exporter's packages are missing or the export failed.
    """
    if not onnx_ready():
        raise CheckpointError(f"precision 'onnx' needs the packages {list(_MODULES)} installed")
    folder = cache_dir() / "onnx" / _key(weights_sha256, architecture, in_channels, multiple)
    path = folder / "model.onnx"
    if path.is_file():
        return path
    cpu = model.to("cpu").to(memory_format=torch.contiguous_format).eval()
    x = torch.zeros((1, in_channels, 2 * multiple, 2 * multiple))
    batch = torch.export.Dim("batch", max=_MAX_BATCH)
    height = multiple * torch.export.Dim("height", min=1, max=_MAX_MULTIPLES)
    width = multiple * torch.export.Dim("width", min=1, max=_MAX_MULTIPLES)
    with atomic_path(folder) as tmp:
        tmp.mkdir(parents=True)
        try:
            torch.onnx.export(
                cpu,
                (x,),
                str(tmp / "model.onnx"),
                dynamo=True,
                dynamic_shapes=({0: batch, 2: height, 3: width},),
                verbose=False,
            )
        except Exception as e:  # the exporter raises many types; one typed error names the model
            raise CheckpointError(f"ONNX export of the UNet failed: {e}") from e
    return path


class OrtModel:
    """An ONNX Runtime session that takes and returns torch tensors like the network."""

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.session.run(None, {self.input: x})[0])

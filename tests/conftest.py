"""Shared fixtures: the tiny synthetic demo (generated, never committed) and offline settings."""

from __future__ import annotations

import os
import shutil
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
# exports (ONNX) go to a cache of this run, never to the user's ~/.cache
os.environ.setdefault("MELTWATER_CACHE", tempfile.mkdtemp(prefix="meltwater-test-cache-"))
os.environ.setdefault("MPLBACKEND", "agg")

import matplotlib  # noqa: E402

matplotlib.use("agg")

import pytest  # noqa: E402

from meltwater.data.catalog import get_source  # noqa: E402
from meltwater.data.cube import build_cube, open_cube  # noqa: E402
from meltwater.data.synthetic import DemoConfig, write_demo  # noqa: E402


@pytest.fixture(scope="session")
def tiny_data_root(tmp_path_factory):
    """A data directory holding the tiny demo's GeoTIFF layout and its cube."""
    root = tmp_path_factory.mktemp("data")
    source = get_source("demo", data_root=root)
    write_demo(source.root, DemoConfig.preset("tiny"))
    build_cube(source)
    return root


@pytest.fixture(scope="session")
def tiny_source(tiny_data_root):
    """The ``demo`` catalog source resolved against the tiny data directory (cube built)."""
    return get_source("demo", data_root=tiny_data_root)


@pytest.fixture(scope="session")
def tiny_cube(tiny_source):
    """The tiny demo's analysis cube, opened lazily. Treat as read-only."""
    return open_cube(tiny_source)


@pytest.fixture
def cube_copy(tiny_source, tmp_path):
    """A writable copy of the tiny demo's cube (for tests that precompute into it)."""
    dst = tmp_path / "demo.zarr"
    shutil.copytree(tiny_source.cube_path, dst)
    return dst


@pytest.fixture(scope="session")
def small_registry(tiny_cube, tmp_path_factory):
    """A model registry of one small resnet18 UNet (`fixtures.smallmodel`). Treat as read-only."""
    from fixtures.smallmodel import RESNET18_SMALL, write_small_registry

    return write_small_registry(tmp_path_factory.mktemp("models"), tiny_cube, RESNET18_SMALL)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CUDA is available (never in CI)."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)

"""Fixtures of the served-dashboard tests: a data directory with precomputed predictions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from meltwater.data.catalog import get_source
from meltwater.precompute import precompute


@pytest.fixture(scope="session")
def served_root(tiny_data_root, tmp_path_factory) -> Path:
    """A copy of the tiny demo's data directory with baseline predictions in its cube."""
    root = tmp_path_factory.mktemp("served") / "data"
    shutil.copytree(tiny_data_root, root)
    source = get_source("demo", data_root=root)
    precompute(source.cube_path, ["pmw_threshold", "sar_running_mean"], ablations=(), workers=1)
    return root

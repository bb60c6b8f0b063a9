"""Fixtures of the served-dashboard tests: a data directory with precomputed predictions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.load import ARGS as CHROMIUM_ARGS
from benchmarks.load import CHROMIUM
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


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Playwright launches Debian's chromium (skipped with a reason where it is absent)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: ``$MELTWATER_SCREENSHOTS``, or the test's tmp dir."""
    out = Path(os.environ.get("MELTWATER_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    return out

"""A bounded load test: several browser sessions scrub days on a real `panel serve` process.

The full figure (20 sessions) comes from ``python benchmarks/load.py``; this keeps the same
harness honest in the suite with fewer sessions on the tiny demo.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.load import CHROMIUM, run_load
from meltwater.catalog import get_source
from meltwater.precompute import precompute

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served_root(tiny_data_root, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("load") / "data"
    shutil.copytree(tiny_data_root, root)
    source = get_source("demo", data_root=root)
    precompute(source.cube_path, ["pmw_threshold", "sar_running_mean"], ablations=(), workers=1)
    return root


def test_concurrent_sessions_scrub_without_errors(served_root):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    report = run_load(served_root, sessions=2, seconds=10)
    print(report.summary())
    assert report.errors == []
    assert len(report.load_s) == 2
    assert report.steps >= 2  # every session got at least one day through
    assert report.peak_rss_mb < 4000

"""A bounded load test: several sessions scrub days on a real `panel serve` process.

The full figures (20 sessions) come from ``python -m benchmarks.load``; this keeps the same
harness honest in the suite with fewer sessions on the tiny demo: protocol-level websocket
clients (what the 30-session figure uses; `load_ws`'s Bokeh clients are driven by
test_session_pool.py) and one small browser run. Both serve pooled sessions (the app's default
pool of 2 per process) and sessions built on request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.load import CHROMIUM, run_load

pytestmark = pytest.mark.e2e


def test_websocket_clients_scrub_without_errors(served_root):
    report = run_load(served_root, sessions=4, seconds=8, clients="proto", lone=True)
    print(report.summary())
    assert report.errors == []
    assert len(report.load_s) == 4 and len(report.lone_load_s) == 1
    assert len(report.page_s) == 4  # every client saw its whole opening view arrive
    assert report.steps >= 4 * 2  # no errors: every client stepped; and more than once on average
    assert len(report.latencies_ms) == report.steps
    assert report.peak_rss_mb < 4000


def test_browser_sessions_scrub_without_errors(served_root):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    report = run_load(served_root, sessions=2, seconds=10, clients="browser")
    print(report.summary())
    assert report.errors == []
    assert len(report.load_s) == 2
    assert report.steps >= 2  # every session got at least one day through
    assert report.peak_rss_mb < 4000

"""The Makefile's first start (issues 15, 16): `demo` precomputes only what the page opens on,
`rest` the other seasons, and `serve` runs `rest` and `extras` in the background."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _plan(*targets: str) -> list[str]:
    """The commands ``make -n`` would run (the install taken as done), also when the tests
    run under make (`make test`: a sub-make would print its directory changes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _precomputes(lines: list[str]) -> list[str]:
    return [line for line in lines if "meltwater precompute" in line and "--ablations none" in line]


def test_demo_precomputes_the_test_days_and_the_opening_season_only():
    lines = _plan("demo")
    runs = _precomputes(lines)
    assert len(runs) == 2
    assert runs[0].endswith("--split test")
    assert "--years $(.venv/bin/python -m meltwater_dashboard.opening demo)" in runs[1]
    evaluate = [line for line in lines if "meltwater evaluate" in line]
    assert len(evaluate) == 1 and "--area-days split" in evaluate[0]
    order = [i for i, line in enumerate(lines) if "precompute" in line or "evaluate" in line]
    assert [lines[i] for i in order][1] == evaluate[0]  # evaluated before the opening season


def test_rest_precomputes_every_day_and_serve_runs_it_in_the_background():
    (rest,) = _precomputes(_plan("-o", "demo", "rest"))
    assert "--years" not in rest and "--split" not in rest
    serve = _plan("serve")
    background = [line for line in serve if "extras" in line and line.rstrip().endswith("&")]
    assert len(background) == 1 and "-o demo extras" in background[0]
    assert serve[-1].startswith(".venv/bin/python -m panel serve dashboard/app.py")

"""The project installs as a wheel and runs from any directory (no source checkout needed)."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_SKIP = shutil.ignore_patterns("__pycache__", "*.egg-info")


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_wheel_installs_and_runs_from_another_directory(tmp_path):
    tree = tmp_path / "tree"  # a copy: building writes build/ into the tree it builds
    tree.mkdir()
    for part in ("pyproject.toml", "README.md", "src", "dashboard", "data_catalog", "models"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, tree / part, **({"ignore": _SKIP} if (ROOT / part).is_dir() else {}))
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(tree)],
        tmp_path, dict(os.environ),
    )  # fmt: skip
    (wheel,) = wheels.glob("meltwater_explorer-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, dict(os.environ))
    py = venv / "bin" / "python"
    # the dependencies come from this environment's site-packages (a .pth line adds the folder
    # but runs none of its .pth files, so the editable checkout stays invisible)
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   tmp_path, dict(os.environ)).strip()  # fmt: skip
    deps = [p for p in site.getsitepackages() if p == sysconfig.get_path("purelib")]
    Path(purelib, "deps.pth").write_text("\n".join(deps) + "\n")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
         tmp_path, dict(os.environ))  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MELTWATER_")}
    env["MELTWATER_DATA"] = str(tmp_path / "data")
    env["PYTHONPATH"] = ""
    where = _run(
        [str(py), "-c", "import meltwater, meltwater_dashboard as d; print(meltwater.__file__);"
         "print(d.__file__); from meltwater import resources as r; print(r.catalog_path());"
         "print(r.models_dir())"],
        elsewhere, env,
    ).split()  # fmt: skip
    assert all(str(ROOT) not in p and purelib in p for p in where), where
    meltwater = str(venv / "bin" / "meltwater")
    _run([meltwater, "demo", "--size", "tiny"], elsewhere, env)
    _run([meltwater, "cube", "--source", "demo", "--years", "2018"], elsewhere, env)
    out = _run(
        [meltwater, "evaluate", "--source", "demo", "--models", "mar_interp"], elsewhere, env
    )
    assert "mar_interp" in out
    app = _run(
        [str(py), "-c", "import meltwater_dashboard.app as a; print(a.build_app.__name__)"],
        elsewhere, env,
    )  # fmt: skip
    assert app.strip() == "build_app"
    assert not (elsewhere / "data").exists()  # data went to $MELTWATER_DATA

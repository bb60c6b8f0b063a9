"""The classroom notebooks: stored without outputs; each one runs top to bottom on the tiny demo.

The notebooks run in a Jupyter kernel (nbclient, kernel ``python3``) with
``MELTWATER_NOTEBOOK_FAST=1`` and ``$MELTWATER_DATA`` pointing at a data directory whose
``demo/`` and ``cubes/`` are the session's tiny demo (linked, not copied); what the notebooks
write (``classroom/``) goes into that directory, never into the repository's ``data/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "01_downscaling_problem",
    "02_baselines_and_bias",
    "03_unet",
    "04_train_your_own",
    "05_dashboard_in_jupyter",
]


def test_every_lesson_is_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code"
    assert all(not c.outputs and c.execution_count is None for c in code), (
        f"{path.name} is stored with outputs; clear them before committing"
    )
    first = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and "**Learning goal.**" in first
    assert "## Exercises" in nb.cells[-1].source, f"{path.name} must end with exercises"
    source = "\n".join(c.source for c in code)
    via_catalog = 'get_source("demo")' in source or "tiny_demo()" in source
    assert via_catalog, "data must come through the catalog"
    assert "LessonSize.from_env()" in source, "the notebook must read the size knob"
    assert nb.metadata.kernelspec.name == "python3"


def test_python3_kernel_runs_this_interpreter():
    """``python3`` must start the venv's own Python (the one that has meltwater installed)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    cmd = km.format_kernel_cmd()
    assert Path(cmd[0]).resolve() == Path(sys.executable).resolve()


@pytest.fixture(scope="module")
def notebook_data(tiny_data_root, tmp_path_factory):
    """A data directory with the tiny demo's layout and cube linked in, writable for the rest."""
    root = tmp_path_factory.mktemp("notebook_data")
    for name in ("demo", "cubes"):
        (root / name).symlink_to(tiny_data_root / name, target_is_directory=True)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, notebook_data, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("MELTWATER_DATA", str(notebook_data))
    monkeypatch.setenv("MELTWATER_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # let the kernel use its inline backend
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    assert not list((ROOT / "notebooks").glob("*.png")), "notebooks must not write into the repo"

"""Issue 8, part 2: bad inputs for the stores: the zarr analysis cube (damaged, half-written
by a killed build, two builds at once), precompute (killed, two at once) and the model
registry / checkpoint metadata. Cases are generated here; see tests/test_bad_inputs.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
from fixtures.microsource import micro

from meltwater.data.cube import build_cube, open_cube
from meltwater.errors import (
    CheckpointError,
    CubeError,
)


@pytest.fixture
def src(tmp_path):
    return micro(tmp_path)


# --- analysis cube -----------------------------------------------------------------------------


def test_no_cube_hints_the_command(src):
    with pytest.raises(
        CubeError, match=r"no analysis cube at .*demo\.zarr \(run `meltwater cube --source demo`\)"
    ):
        open_cube(src)


def test_cube_missing_a_variable_or_version(src):
    path = build_cube(src)
    group = zarr.open_group(path, mode="r+")
    group.attrs["cube_version"] = "0"
    with pytest.raises(
        CubeError, match=r"demo\.zarr is incomplete or from another version.*cube_version '0'"
    ):
        open_cube(path)
    del group["valid"]
    with pytest.raises(CubeError, match=r"missing \['valid'\]"):
        open_cube(path)
    assert build_cube(src, overwrite=True) == path
    assert "valid" in open_cube(path)


def test_cube_path_that_is_not_zarr(src):
    src.cube_path.parent.mkdir(parents=True)
    src.cube_path.write_text("not a store")
    with pytest.raises(CubeError, match=r"demo\.zarr is not a readable zarr cube"):
        open_cube(src)


def test_cube_left_half_written_by_a_killed_process(src, tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, sys
        import meltwater.data.cube as cube
        from meltwater.data.catalog import get_source
        calls = []
        real = cube.time_interpolated_sar
        def dying(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        cube.time_interpolated_sar = dying
        cube.build_cube(get_source("demo", data_root=sys.argv[1]), batch_days=1)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    stale = list(src.cube_path.parent.glob(".demo.zarr.tmp-*"))
    assert len(stale) == 1 and not src.cube_path.exists()
    with pytest.raises(CubeError, match="no analysis cube"):
        open_cube(src)
    build_cube(src)
    assert open_cube(src).sizes["time"] == 4
    assert not list(src.cube_path.parent.glob(".demo.zarr.tmp-*"))


_SLOW_BUILD = textwrap.dedent(
    """
    import sys, time
    import meltwater.data.cube as cube
    from meltwater.data.catalog import get_source
    real = cube.time_interpolated_sar
    def slow(*args, **kwargs):
        time.sleep(0.6)
        return real(*args, **kwargs)
    cube.time_interpolated_sar = slow
    cube.build_cube(get_source("demo", data_root=sys.argv[1]), batch_days=1)
    """
)


@pytest.mark.slow
def test_two_cube_builds_on_the_same_store(src, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first = subprocess.Popen(
        [sys.executable, "-c", _SLOW_BUILD, str(tmp_path)], env=env, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while not list(src.cube_path.parent.glob(".demo.zarr.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run(
        [sys.executable, "-c", _SLOW_BUILD, str(tmp_path)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    _, first_err = first.communicate(timeout=120)
    assert second.returncode == 0, second.stderr.decode()[-500:]
    assert first.returncode == 0, first_err.decode()[-500:]
    assert open_cube(src).sizes["time"] == 4


# --- precompute ------------------------------------------------------------------------------

_BASELINES = ("pmw_threshold", "sar_running_mean")
_PRECOMPUTE = textwrap.dedent(
    """
    import os, signal, sys
    import pandas as pd
    import meltwater.precompute as pc
    kill_after = int(sys.argv[3])
    if kill_after:
        real, calls = pc._record, []
        def dying(*args):
            real(*args)
            calls.append(1)
            if len(calls) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        pc._record = dying
    meet = sys.argv[4] if len(sys.argv) > 4 else ""
    if meet:  # both processes decide what to create, then meet before creating it
        import pathlib, time
        import xarray as xr
        real_to_zarr, folder = xr.Dataset.to_zarr, pathlib.Path(meet)
        def to_zarr_after_meeting(self, *args, **kwargs):
            (folder / str(os.getpid())).touch()
            deadline = time.monotonic() + 5
            while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            xr.Dataset.to_zarr = real_to_zarr
            return real_to_zarr(self, *args, **kwargs)
        xr.Dataset.to_zarr = to_zarr_after_meeting
    days = pd.date_range(sys.argv[2], periods=12)
    pc.precompute(sys.argv[1], ("pmw_threshold", "sar_running_mean"), ablations=(), dates=days,
                  workers=1, batch_days=1)
    """
)


def _precompute_proc(path, kill_after=0, meet=""):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-c", _PRECOMPUTE, str(path), "2017-06-01", str(kill_after), meet]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def two_cubes(tiny_source, tmp_path):
    """Two copies of the tiny cube; the second gets an uninterrupted reference precompute."""
    from meltwater.precompute import precompute

    work, ref = tmp_path / "work.zarr", tmp_path / "ref.zarr"
    shutil.copytree(tiny_source.cube_path, work)
    shutil.copytree(tiny_source.cube_path, ref)
    days = pd.date_range("2017-06-01", periods=12)
    precompute(ref, _BASELINES, ablations=(), dates=days, scheduler="synchronous")
    return work, ref


def _assert_same_predictions(work, ref):
    got = xr.open_zarr(work, chunks=None, consolidated=False)
    want = xr.open_zarr(ref, chunks=None, consolidated=False)
    group = zarr.open_group(str(work), mode="r")
    for model in _BASELINES:
        var = f"pred_{model}"
        assert len(group[var].attrs["days_done"]) == 12
        np.testing.assert_array_equal(got[var].values, want[var].values)


@pytest.mark.slow
def test_precompute_killed_mid_way_resumes(two_cubes):
    from meltwater.precompute import plan, precompute

    work, ref = two_cubes
    proc = _precompute_proc(work, kill_after=4)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-500:]
    days = pd.date_range("2017-06-01", periods=12)
    assert len(plan(work, _BASELINES, ablations=(), dates=days)) == 8, "4 days were recorded"
    precompute(work, _BASELINES, ablations=(), dates=days, scheduler="synchronous")
    _assert_same_predictions(work, ref)


@pytest.mark.slow
def test_two_precomputes_on_the_same_store(two_cubes, tmp_path):
    work, ref = two_cubes
    meet = tmp_path / "meet"
    meet.mkdir()
    procs = [_precompute_proc(work, meet=str(meet)) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-500:]
    _assert_same_predictions(work, ref)


# --- model registry / checkpoints (weights: tests/test_checkpoint.py) -------------------------


@pytest.mark.parametrize(
    ("registry", "match"),
    [
        (None, r"models\.yaml not found"),
        ("default: x\n", r"models\.yaml: expected a non-empty 'models' mapping"),
        ("models: {x: {path: a}}\ndefault: x\n", r"entry 'x' has no 'checkpoint'"),
        ("models: {x: {checkpoint: a}}\ndefault: x\n", r"checkpoint metadata .*a\.json not found"),
    ],
    ids=["missing", "no-models", "no-checkpoint-key", "checkpoint-file-missing"],
)
def test_model_registry_errors(tmp_path, registry, match):
    from meltwater.models.checkpoint import load_checkpoint
    from meltwater.models.inference import registry_entry

    if registry is not None:
        (tmp_path / "models.yaml").write_text(registry)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(registry_entry(None, tmp_path)["checkpoint"])


def test_unknown_model_name_lists_the_registry(tmp_path):
    from meltwater.models.inference import registry_entry

    (tmp_path / "models.yaml").write_text(
        "default: a\nmodels: {a: {checkpoint: a}, b: {checkpoint: b}}\n"
    )
    with pytest.raises(KeyError, match=r"unknown model 'c'.*\['a', 'b'\]"):
        registry_entry("c", tmp_path)


@pytest.mark.parametrize(
    "registry",
    ["models: [unclosed\n", "- a\n- b\n", "models: {x: {checkpoint: a}}\n"],
    ids=["invalid-yaml", "list", "no-default"],
)
def test_malformed_model_registry(tmp_path, registry):
    from meltwater.models.inference import registry_entry

    (tmp_path / "models.yaml").write_text(registry)
    with pytest.raises(CheckpointError, match=r"models\.yaml"):
        registry_entry(None, tmp_path)


def test_malformed_checkpoint_metadata(tmp_path):
    from meltwater.models.checkpoint import load_checkpoint

    (tmp_path / "m.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"m\.json: malformed"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text('{"name": "m", "model": {}, "norm_stats": {}, "extra": 1}')
    with pytest.raises(CheckpointError, match=r"m\.json: malformed"):
        load_checkpoint(tmp_path / "m")
    (tmp_path / "m.json").write_text('{"name": "m", "model": {}, "norm_stats": {}}')
    with pytest.raises(CheckpointError, match=r"weights .*m\.safetensors not found"):
        load_checkpoint(tmp_path / "m")

"""Issue 14, findings 4, 5, 7 and 8 (library and CLI): damaged chunks and files, full or
read-only disks, YAML alias bombs and symlinked data folders. Cases are generated here on the
micro source (tests/microsource.py); see tests/test_bad_inputs.py for the rest of the corpus.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time

import numpy as np
import pytest
import xarray as xr
import zarr
from fixtures.microsource import DAYS, GRID, SHAPE, micro

from meltwater.cli import main
from meltwater.data.catalog import get_source
from meltwater.data.cube import build_cube, open_cube
from meltwater.data.geotiff import write_raster
from meltwater.errors import CatalogError, CheckpointError, ConfigError, MeltwaterError
from meltwater.evaluation.summaries import day_map
from meltwater.precompute import DONE_ATTR, precompute

BASE = ("pmw_threshold", "sar_running_mean")
ONE_LINE = "--models", "pmw_threshold", "--ablations", "none"


@pytest.fixture
def src(tmp_path):
    source = micro(tmp_path)
    build_cube(source)
    return source


@pytest.fixture
def done(src):
    precompute(src.cube_path, BASE, (), scheduler="synchronous")
    return src


def _damage(store, var: str, day: int | None) -> None:
    """Overwrite one stored chunk with random bytes of the same length."""
    chunk = store / var / "c" / ("0/0" if day is None else f"{day}/0/0")
    chunk.write_bytes(np.random.default_rng(0).bytes(chunk.stat().st_size))


def _one_line(capsys, *names: str) -> str:
    """The one error line on stderr (progress bars aside), naming each of ``names``."""
    err = capsys.readouterr().err
    parts = re.split(r"[\r\n]", err)
    lines = [line for line in parts if line.strip() and not re.search(r"(it|day)/s\]$", line)]
    assert len(lines) == 1 and lines[0].startswith("meltwater ") and "Traceback" not in err, err
    for n in names:
        assert n in lines[0], err
    return lines[0]


# --- finding 4: damaged chunks and files --------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "day"),
    [("sar", 3), ("pmw", 1), ("pred_pmw_threshold", 2), ("dem", None)],
    ids=["sar", "pmw", "prediction", "static-dem"],
)
def test_damaged_chunk_names_variable_day_and_store(done, var, day):
    from meltwater.errors import CorruptDataError

    _damage(done.cube_path, var, day)
    cube = open_cube(done)
    when = f" of {DAYS[day]:%Y-%m-%d}" if day is not None else ""
    match = rf"{var}{when} in .*demo\.zarr cannot be read, its stored chunk is damaged"
    with pytest.raises(CorruptDataError, match=match) as info:
        day_map(cube, var, DAYS[day or 0])  # what the dashboard and summaries read
    assert info.value.variable == var and info.value.path == str(done.cube_path)
    with pytest.raises(CorruptDataError, match=match):
        cube[var].load()  # a whole-variable read finds the bad day too


@pytest.mark.parametrize("var", ["sar", "pred_pmw_threshold"])
def test_cli_evaluate_on_a_damaged_chunk_is_one_line(done, capsys, var):
    _damage(done.cube_path, var, 3)  # 2019-06-04, the val scene
    argv = ["evaluate", "--split", "val", "--models", "pmw_threshold"]
    assert main([*argv, "--data-root", str(done.root.parent)]) == 2
    _one_line(capsys, var, "2019-06-04", "demo.zarr", "damaged")


def test_precompute_does_not_record_a_day_whose_input_is_damaged(src):
    from meltwater.errors import CorruptDataError

    _damage(src.cube_path, "pmw", 2)
    with pytest.raises(CorruptDataError, match=r"pmw of 2019-06-03 in .*demo\.zarr"):
        precompute(src.cube_path, ("pmw_threshold",), (), scheduler="synchronous", batch_days=1)
    done = zarr.open_group(src.cube_path)["pred_pmw_threshold"].attrs[DONE_ATTR]
    assert "2019-06-03" not in done


def test_precompute_verify_recomputes_a_damaged_prediction(done, capsys):
    before = zarr.open_group(done.cube_path)["pred_pmw_threshold"][:]
    _damage(done.cube_path, "pred_pmw_threshold", 1)
    argv = ["precompute", "--data-root", str(done.root.parent), *ONE_LINE]
    assert main([*argv, "--verify"]) == 0
    assert "pred_pmw_threshold: 4 days" in capsys.readouterr().out
    np.testing.assert_array_equal(zarr.open_group(done.cube_path)["pred_pmw_threshold"][:], before)


def test_damaged_season_summary_names_the_file(done):
    from meltwater.errors import CorruptDataError
    from meltwater.evaluation.summary_store import season_summary, summary_path

    path = summary_path(done.cube_path, 2019)
    with xr.open_dataset(path) as ds:
        good = ds.load()
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(200))
    cube = open_cube(done)
    with pytest.raises(CorruptDataError, match=rf"season summary {path} cannot be read"):
        season_summary(cube, 2019, done.cube_path)  # a reader (the dashboard)
    fresh = season_summary(cube, 2019, done.cube_path, write=True)  # precompute writes it again
    np.testing.assert_array_equal(fresh["melt_area_km2"].values, good["melt_area_km2"].values)
    with xr.open_dataset(path) as ds:
        assert ds.attrs["summary_key"] == good.attrs["summary_key"]


def test_damaged_results_file_names_the_file(tmp_path):
    from meltwater.errors import CorruptDataError
    from meltwater.evaluation.results import read_results

    path = tmp_path / "results" / "demo_test.nc"
    path.parent.mkdir()
    path.write_bytes(b"CDF\x01" + os.urandom(100))
    with pytest.raises(CorruptDataError, match=rf"results file {path} cannot be read"):
        read_results(path)


# --- finding 5: full disk, read-only data folder -----------------------------------------------


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")  # as a failed write(2): no path


def test_full_disk_while_writing_results_names_the_file(done, capsys, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", _no_space)
    argv = ["evaluate", "--split", "val", "--models", "pmw_threshold"]
    assert main([*argv, "--data-root", str(done.root.parent)]) == 2
    _one_line(capsys, "demo_val.nc", "no space left on the device")


def test_full_disk_while_precomputing_names_the_store(src, capsys, monkeypatch):
    from meltwater.precompute_jobs import DayRunner

    monkeypatch.setattr(DayRunner, "__call__", _no_space)
    assert main(["precompute", "--data-root", str(src.root.parent), *ONE_LINE]) == 2
    _one_line(capsys, "demo.zarr", "no space left on the device")


def test_evaluate_checks_its_output_folder_before_computing(done, capsys, monkeypatch):
    from meltwater.evaluation import evaluate as ev

    calls = []
    monkeypatch.setattr(ev, "evaluate", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(os, "fsync", _no_space)  # the disk is full
    argv = ["evaluate", "--split", "val", "--models", "pmw_threshold"]
    assert main([*argv, "--data-root", str(done.root.parent)]) == 2
    _one_line(capsys, str(done.root.parent / "results"), "no space left")
    assert calls == [], "nothing is computed when the result cannot be written"


def _read_only(target):
    lock = target.with_name(f".{target.name}.lock")
    raise PermissionError(errno.EROFS, "Read-only file system", str(lock))


def test_read_only_data_folder_with_nothing_to_do(done, capsys, monkeypatch):
    from meltwater import precompute as pc
    from meltwater.data import cube as cube_mod

    monkeypatch.setattr(cube_mod, "exclusive_lock", _read_only)
    monkeypatch.setattr(pc, "exclusive_lock", _read_only)
    root = str(done.root.parent)
    assert main(["cube", "--data-root", root]) == 0
    assert "up to date" in capsys.readouterr().out
    argv = ["precompute", "--data-root", root, "--models", ",".join(BASE), "--ablations", "none"]
    assert main(argv) == 0
    assert "pred_pmw_threshold: 4 days" in capsys.readouterr().out
    # something to write: one line naming the lock file
    assert main(["precompute", "--data-root", root, "--models", "mar_interp"]) == 2
    _one_line(capsys, ".demo.zarr.lock", "read-only file system")


def test_os_errors_of_every_class_are_one_line(src, capsys, monkeypatch):
    from meltwater.data import cube as cube_mod

    for code, words in [(errno.EACCES, "permission denied"), (errno.EPERM, "not permitted")]:

        def denied(*a, code=code, **k):
            raise PermissionError(code, os.strerror(code), str(src.cube_path))

        monkeypatch.setattr(cube_mod, "update_cube", denied)
        assert main(["cube", "--data-root", str(src.root.parent)]) == 2
        _one_line(capsys, str(src.cube_path), words)


# --- finding 7: YAML alias bombs ---------------------------------------------------------------


def _bomb(levels: int = 9) -> str:
    lines = ['  a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "bombs:\n" + "\n".join(lines) + "\n"


def test_catalog_alias_bomb_is_refused_fast(tmp_path):
    from meltwater.resources import catalog_path

    text = (
        catalog_path()
        .read_text()
        .replace("description: Synthetic", "description: *a8\n    note: Synthetic", 1)
    )
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(_bomb() + text)
    assert catalog.stat().st_size < 4000
    t0 = time.perf_counter()
    with pytest.raises(CatalogError, match=rf"data catalog {catalog}: .*aliases.*refused"):
        get_source("demo", catalog, tmp_path)
    assert time.perf_counter() - t0 < 1.0


def test_recursive_alias_and_registry_bomb(tmp_path):
    from meltwater.config import read_yaml_mapping
    from meltwater.models.inference import registry_entry

    (tmp_path / "loop.yaml").write_text("a: &x [1, *x]\n")
    with pytest.raises(ConfigError, match=r"loop\.yaml: a YAML alias refers to a node"):
        read_yaml_mapping(tmp_path / "loop.yaml", "config")
    (tmp_path / "models.yaml").write_text(_bomb() + "default: a\nmodels: {a: {checkpoint: a}}\n")
    with pytest.raises(CheckpointError, match=r"model registry .*models\.yaml.*refused"):
        registry_entry(None, tmp_path)


def test_shared_layout_anchor_is_still_allowed():
    assert get_source("meltwaterbench").layout == get_source("demo").layout


# --- finding 8: symlinked data folders ---------------------------------------------------------


def test_replaced_scene_behind_a_symlinked_folder_rebuilds_the_cube(src, tmp_path):
    sar = src.variable_dir("sar")
    elsewhere = tmp_path / "other_disk" / "HH_PercentMelt"  # outside the data root
    shutil.move(sar, elsewhere)
    sar.symlink_to(elsewhere, target_is_directory=True)
    build_cube(src, overwrite=True)
    assert np.nanmax(open_cube(src)["sar"].values[0]) == 1.0
    time.sleep(0.01)
    write_raster(elsewhere / f"{DAYS[0]:%Y_%m_%d}.tif", np.full(SHAPE, 0.25, np.float32), GRID)
    build_cube(src)
    np.testing.assert_array_equal(open_cube(src)["sar"].values[0], 0.25)


def test_symlink_cycle_in_the_data_root_does_not_hang(src):
    from meltwater.data.cube import source_fingerprint

    before = source_fingerprint(src)
    (src.base / "loop").symlink_to(src.root, target_is_directory=True)
    t0 = time.perf_counter()
    assert source_fingerprint(src) == before  # a link back to a walked folder adds nothing
    assert time.perf_counter() - t0 < 5
    assert open_cube(build_cube(src)).sizes["time"] == 4


def test_errors_are_meltwater_errors():
    from meltwater.errors import CorruptDataError, MixedModelsError

    assert issubclass(CorruptDataError, MeltwaterError)
    assert issubclass(MixedModelsError, MeltwaterError)

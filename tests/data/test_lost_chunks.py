"""A prediction chunk recorded as computed but missing from the store is damage, not NaN.

zarr reads a missing chunk as its fill value (NaN): without these checks a lost file showed a
blank map and scored as no data. Predictions are written with every chunk stored, so a
missing file of a recorded day is an error naming it, and ``precompute --verify`` redoes it.
"""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from fixtures.microsource import DAYS, micro

from meltwater.cli import main
from meltwater.data.cube import build_cube, day_map, open_cube, open_level
from meltwater.data.overviews import write_day
from meltwater.data.provenance import CHUNKS_ATTR
from meltwater.errors import CorruptDataError
from meltwater.precompute import precompute

VAR = "pred_pmw_threshold"


@pytest.fixture
def done(tmp_path):
    src = micro(tmp_path)  # 8 × 12 px; chunks of 4 px: 2 × 3 chunks a day, levels ×2 and ×4
    build_cube(src, overviews=(2, 4), chunk=4)
    precompute(src.cube_path, ("pmw_threshold",), (), scheduler="synchronous")
    return src


def _lose(store, day: int, chunk: str = "0/0", level: str = "") -> None:
    (store / level / VAR / "c" / f"{day}/{chunk}").unlink()


def test_every_chunk_of_a_recorded_day_is_stored(done):
    arr = zarr.open_group(done.cube_path)[VAR]
    assert arr.attrs[CHUNKS_ATTR] and arr.nchunks_initialized == len(DAYS) * 2 * 3
    group = zarr.open_group(done.cube_path, mode="r+")
    write_day(group, VAR, 1, np.full((8, 12), np.nan, np.float16))  # zarr skips all-NaN chunks
    assert (done.cube_path / VAR / "c" / "1" / "1" / "2").is_file()
    assert (done.cube_path / "overviews" / "4" / VAR / "c" / "1" / "0" / "0").is_file()


def test_a_lost_chunk_names_variable_day_and_chunk(done):
    _lose(done.cube_path, 2, "1/2")  # rows 4-7, columns 8-11 of 2019-06-03
    cube = open_cube(done)
    match = rf"{VAR} of 2019-06-03 in .*demo\.zarr is recorded as computed but its stored chunk "
    with pytest.raises(CorruptDataError, match=match + r"c/2/1/2 is missing") as info:
        day_map(cube, VAR, DAYS[2])
    assert (info.value.variable, info.value.day) == (VAR, "2019-06-03")
    with pytest.raises(CorruptDataError, match=match):
        cube[VAR].load()  # a whole-variable read finds it too
    window = cube[VAR].isel(time=2, y=slice(0, 4), x=slice(0, 8)).values  # other chunks
    assert np.isfinite(window).all()
    assert np.isfinite(day_map(cube, VAR, DAYS[1])).all()


def test_a_lost_overview_chunk_is_found_at_its_level(done):
    _lose(done.cube_path, 3, "0/0", level="overviews/4")
    assert np.isfinite(open_level(done.cube_path, 2)[VAR].isel(time=3).values).all()
    with pytest.raises(CorruptDataError, match=rf"{VAR} of 2019-06-04 .* c/3/0/0 is missing"):
        open_level(done.cube_path, 4)[VAR].isel(time=3).load()


def test_a_store_written_before_every_chunk_was_stored_reads_as_before(done):
    arr = zarr.open_group(done.cube_path, mode="r+")[VAR]
    del arr.attrs[CHUNKS_ATTR]
    _lose(done.cube_path, 2)
    values = day_map(open_cube(done), VAR, DAYS[2])
    assert np.isnan(values[:4, :4]).all() and np.isfinite(values[4:]).all()


def test_precompute_verify_recomputes_a_lost_chunk(done, capsys):
    before = zarr.open_group(done.cube_path)[VAR][:]
    _lose(done.cube_path, 1, "0/1")
    _lose(done.cube_path, 3, "0/0", level="overviews/2")
    argv = ["precompute", "--data-root", str(done.root.parent), "--models", "pmw_threshold"]
    assert main([*argv, "--ablations", "none", "--verify"]) == 0
    out = capsys.readouterr()
    assert f"{VAR}: 4 days" in out.out and "| 2/2 [" in out.err  # the two lost days redone
    np.testing.assert_array_equal(zarr.open_group(done.cube_path)[VAR][:], before)
    assert (done.cube_path / "overviews" / "2" / VAR / "c" / "3" / "0" / "0").is_file()

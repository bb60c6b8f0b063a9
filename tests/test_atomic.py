"""`meltwater.atomic`: temp-then-rename writes, hashing, removal."""

from __future__ import annotations

import hashlib

import pytest

from meltwater.atomic import atomic_path, remove_path, sha256_file


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_file_write_lands_and_leaves_no_temp(tmp_path):
    final = tmp_path / "sub" / "deeper" / "a.txt"
    with atomic_path(final) as tmp:
        assert tmp.parent == final.parent and tmp.name.startswith(".a.txt.tmp-")
        assert not final.exists()
        tmp.write_text("new")
        assert not final.exists(), "nothing visible until the block succeeds"
    assert final.read_text() == "new"
    assert _names(final.parent) == ["a.txt"]


def test_exception_leaves_no_final_and_no_temp(tmp_path):
    final = tmp_path / "b.tif"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert _names(tmp_path) == []


def test_existing_file_intact_when_write_fails(tmp_path):
    final = tmp_path / "c.txt"
    final.write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(final) as tmp:
            tmp.write_text("partial")
            raise ValueError
    assert final.read_text() == "old"
    assert _names(tmp_path) == ["c.txt"]


def test_existing_file_replaced(tmp_path):
    final = tmp_path / "d.txt"
    final.write_text("old")
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new"
    assert _names(tmp_path) == ["d.txt"]


def test_directory_replace(tmp_path):
    final = tmp_path / "cube.zarr"
    (final / "old_var").mkdir(parents=True)
    (final / "old_var" / "0").write_bytes(b"old")
    with atomic_path(final) as tmp:
        (tmp / "new_var").mkdir(parents=True)
        (tmp / "new_var" / "0").write_bytes(b"new")
        assert (final / "old_var" / "0").read_bytes() == b"old"
    assert _names(final) == ["new_var"]
    assert (final / "new_var" / "0").read_bytes() == b"new"
    assert _names(tmp_path) == ["cube.zarr"], "no .tmp-/.old- left behind"


def test_directory_intact_when_write_fails(tmp_path):
    final = tmp_path / "cube.zarr"
    final.mkdir()
    (final / "keep").write_text("1")
    with pytest.raises(KeyError):
        with atomic_path(final) as tmp:
            tmp.mkdir()
            (tmp / "other").write_text("2")
            raise KeyError("x")
    assert _names(final) == ["keep"]
    assert _names(tmp_path) == ["cube.zarr"]


def test_sha256_file_matches_known_digest(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    data = bytes(range(256)) * 41
    path.write_bytes(data)
    assert sha256_file(path, chunk=1000) == hashlib.sha256(data).hexdigest()


def test_remove_path(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    d = tmp_path / "d"
    (d / "e").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(d, target_is_directory=True)
    remove_path(link)
    assert not link.exists() and (d / "e").is_dir(), "a link is removed, not its target"
    remove_path(f)
    remove_path(d)
    remove_path(tmp_path / "missing")
    assert _names(tmp_path) == []

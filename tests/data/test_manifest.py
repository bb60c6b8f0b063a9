"""`meltwater.data.manifest`: sha256sum-format manifest, hashing, merge and verification."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from meltwater.data.catalog import get_source
from meltwater.data.manifest import (
    MANIFEST_NAME,
    hash_files,
    read_manifest,
    update_manifest,
    verify,
)
from meltwater.errors import DataNotFoundError


@pytest.fixture
def source(tmp_path):
    src = get_source("meltwaterbench", data_root=tmp_path)
    (src.root / "raw").mkdir(parents=True)
    for name, data in {"raw/a.tif": b"hello\n", "raw/b.tif": b"", "c.tif": b"x" * 3000}.items():
        (src.root / name).write_bytes(data)
    return src


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_hash_files_sha256_and_git_blob_ids(source):
    paths = [source.root / "raw/a.tif", source.root / "raw/b.tif", source.root / "c.tif"]
    out = hash_files(paths, progress=False, desc="t", git_blob=[True, True, False])
    # `git hash-object` of "hello\n" and of an empty file
    assert out[0] == (_sha(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a")
    assert out[1] == (_sha(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
    assert out[2] == (_sha(b"x" * 3000), None)


def test_update_merges_removes_and_is_sha256sum_compatible(source):
    update_manifest(source, {"raw/b.tif": _sha(b""), "raw/a.tif": _sha(b"hello\n")}, [])
    update_manifest(source, {"c.tif": _sha(b"x" * 3000)}, ["raw/b.tif"])
    text = (source.root / MANIFEST_NAME).read_text()
    hello, xs = _sha(b"hello\n"), _sha(b"x" * 3000)
    assert text == f"{xs}  c.tif\n{hello}  raw/a.tif\n"
    assert read_manifest(source) == {"c.tif": xs, "raw/a.tif": hello}
    if shutil.which("sha256sum"):
        check = subprocess.run(
            ["sha256sum", "--check", "--quiet", MANIFEST_NAME], cwd=source.root, capture_output=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
    assert verify(source, progress=False) == []


def test_verify_reports_missing_and_changed_files(source):
    update_manifest(source, {"raw/a.tif": _sha(b"hello\n"), "c.tif": _sha(b"x" * 3000)}, [])
    (source.root / "c.tif").write_bytes(b"x" * 2999)
    assert verify(source, progress=False) == [source.root / "c.tif"]
    (source.root / "raw/a.tif").unlink()
    assert verify(source, progress=False) == [source.root / "c.tif", source.root / "raw/a.tif"]
    assert verify(source, progress=False, only=["c.tif"]) == [source.root / "c.tif"]


@pytest.mark.parametrize(
    "line",
    [
        "deadbeef  raw/a.tif",
        f"{'a' * 64}  ../../etc/passwd",
        f"{'a' * 64}  /etc/passwd",
        f"{'A' * 64}  raw/a.tif",
        f"{'a' * 64} raw/a.tif",
    ],
    ids=["short-digest", "dotdot", "absolute", "uppercase", "one-space"],
)
def test_corrupt_manifest_lines(source, line):
    (source.root / MANIFEST_NAME).write_text(f"{_sha(b'')}  raw/b.tif\n{line}\n")
    with pytest.raises(DataNotFoundError, match=rf"{MANIFEST_NAME} line 2 is corrupt"):
        read_manifest(source)


def test_missing_manifest(tmp_path):
    with pytest.raises(DataNotFoundError, match=rf"{MANIFEST_NAME} is missing.*meltwater download"):
        verify(get_source("meltwaterbench", data_root=tmp_path))

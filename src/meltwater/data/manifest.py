"""The checksum manifest of a downloaded source: ``MANIFEST.sha256`` in its root.

The format is ``sha256sum``'s (``<sha256>  <relative path>`` per line, sorted), so
``sha256sum -c MANIFEST.sha256`` run in the source root checks it too. Writers merge their
entries under an exclusive lock and replace the file atomically.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from meltwater.atomic import atomic_path
from meltwater.data.catalog import Source
from meltwater.errors import DataNotFoundError

__all__ = [
    "MANIFEST_NAME",
    "hash_files",
    "manifest_path",
    "read_manifest",
    "update_manifest",
    "verify",
]

MANIFEST_NAME = "MANIFEST.sha256"
_CHUNK = 1 << 20


def hash_files(
    paths: Sequence[Path], progress: bool, desc: str, git_blob: Sequence[bool] | None = None
) -> list[tuple[str, str | None]]:
    """sha256 of each file, and its git blob id where asked, read once with one byte bar.

    Args:
        paths: files to hash.
        progress: show the tqdm bar.
        desc: label of the bar.
        git_blob: per file, also compute the git blob id (sha1 of ``blob <size>\\0`` + data).

    Returns:
        ``(sha256 hex, git blob id or None)`` per file, in order.
    """
    out = []
    total = sum(p.stat().st_size for p in paths)
    with tqdm(
        total=total, unit="B", unit_scale=True, desc=desc, disable=not (progress and paths)
    ) as bar:
        for i, path in enumerate(paths):
            sha = hashlib.sha256()
            git = (
                hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
                if git_blob and git_blob[i]
                else None
            )
            with open(path, "rb") as f:
                while block := f.read(_CHUNK):
                    sha.update(block)
                    if git is not None:
                        git.update(block)
                    bar.update(len(block))
            out.append((sha.hexdigest(), git.hexdigest() if git is not None else None))
    return out


def manifest_path(source: Source) -> Path:
    """``MANIFEST.sha256`` in the source root."""
    return source.root / MANIFEST_NAME


def read_manifest(source: Source) -> dict[str, str]:
    """The manifest as ``{relative POSIX path: sha256 hex}``.

    Raises:
        DataNotFoundError: the manifest is missing, or a line is not ``<sha256>  <relative path>``.
    """
    path = manifest_path(source)
    if not path.is_file():
        raise DataNotFoundError(
            f"checksum manifest {path} is missing; run `meltwater download` first"
        )
    entries: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, rel = line.partition("  ")
        rel_path = PurePosixPath(rel.lstrip("*"))
        bad_digest = len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)
        if not sep or bad_digest or rel_path.is_absolute() or ".." in rel_path.parts or not rel:
            raise DataNotFoundError(
                f"checksum manifest {path} line {n} is corrupt: expected "
                f"'<64 hex sha256>  <relative path below the source root>', got {line[:120]!r}"
            )
        entries[str(rel_path)] = digest
    return entries


def update_manifest(source: Source, added: dict[str, str], removed: Iterable[str]) -> None:
    """Add and remove manifest entries.

    The manifest is re-read under an exclusive lock (``.MANIFEST.sha256.lock``) and replaced
    atomically, so concurrent writers into one root keep each other's entries; an unchanged
    manifest is not rewritten.

    Args:
        source: the source whose root holds the manifest.
        added: ``{relative POSIX path: sha256 hex}`` to add or replace.
        removed: relative paths to drop.
    """
    final = manifest_path(source)
    final.parent.mkdir(parents=True, exist_ok=True)
    removed = set(removed)
    with open(final.with_name(f".{final.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = read_manifest(source) if final.is_file() else {}
        merged = {k: v for k, v in {**current, **added}.items() if k not in removed}
        if merged != current or not final.is_file():
            with atomic_path(final) as tmp:
                tmp.write_text("".join(f"{merged[k]}  {k}\n" for k in sorted(merged)))


def verify(
    source: Source, *, progress: bool = True, only: Iterable[str] | None = None
) -> list[Path]:
    """Re-hash the files recorded in the manifest.

    Args:
        source: the downloaded source.
        progress: show a byte progress bar.
        only: restrict to these relative paths (those not in the manifest are ignored).

    Returns:
        Sorted absolute paths of files that are missing or whose sha256 differs.

    Raises:
        DataNotFoundError: the manifest is missing or corrupt.
    """
    entries = read_manifest(source)
    if only is not None:
        keep = set(only)
        entries = {k: v for k, v in entries.items() if k in keep}
    bad = [source.root / k for k in entries if not (source.root / k).is_file()]
    present = [k for k in entries if (source.root / k).is_file()]
    digests = hash_files([source.root / k for k in present], progress, "verifying")
    bad += [
        source.root / k for k, (sha, _) in zip(present, digests, strict=True) if sha != entries[k]
    ]
    return sorted(bad)

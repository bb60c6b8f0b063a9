"""Atomic writes: build under a temporary sibling path, then rename into place.

A reader never sees a half-written file or store: either the old version or the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "check_writable",
    "exclusive_lock",
    "is_locked",
    "remove_path",
    "sha256_file",
    "writing",
]


def remove_path(path: Path) -> None:
    """Remove a file or a directory tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextlib.contextmanager
def writing(path: Path | str) -> Iterator[None]:
    """Name ``path`` in an OSError raised inside the block that names no file.

    A full disk (ENOSPC) or a failed write of a chunk often reports no path; the CLI prints
    the error's file name, so every writer runs inside ``writing(<what it writes>)``.
    """
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = str(path)
        raise


def check_writable(folder: Path | str, nbytes: int = 1 << 16) -> None:
    """Create ``folder`` if needed and write (then remove) ``nbytes`` there, or raise OSError.

    Run before a long computation whose result goes to ``folder``: a read-only or full disk
    fails at once instead of after the work.
    """
    folder = Path(folder)
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-probe-{uuid.uuid4().hex[:8]}"
    try:
        with open(probe, "wb") as f:
            f.write(b"\0" * nbytes)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:  # name the folder, not the probe
        e.filename = str(folder)
        raise
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


@contextlib.contextmanager
def atomic_path(final: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` on success.

    Works for files and directories (zarr stores). On error the temporary is removed and an
    existing ``final`` is left untouched.
    """
    final = Path(final)
    with writing(final.parent):
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        with writing(final):
            yield tmp
        if tmp.is_dir() and final.exists():
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(final, old)
            os.replace(tmp, final)
            remove_path(old)
        else:
            os.replace(tmp, final)
    finally:
        remove_path(tmp)


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def is_locked(target: Path | str) -> bool:
    """Whether a process holds `exclusive_lock` on ``target`` now (never waits, creates nothing)."""
    target = Path(target)
    try:
        handle = open(target.with_name(f".{target.name}.lock"))
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextlib.contextmanager
def exclusive_lock(target: Path | str) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``.<target name>.lock`` beside ``target``.

    A second process that asks for the same lock waits until the first releases it (the lock
    dies with its process, so a killed writer never leaves it held).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(f".{target.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

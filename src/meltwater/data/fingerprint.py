"""The fingerprint of a source's files: what `meltwater.data.cube` compares to decide a rebuild."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from meltwater.data.catalog import Source

__all__ = ["source_fingerprint"]


def _files(root: Path) -> list[Path]:
    """Every file below ``root``, following symbolic links (to files and to folders, also ones
    that lead outside ``root``: that is where the reader reads too); each folder once."""
    seen, out = set(), []
    for top, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:  # a link back to a folder already walked (a cycle)
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out += [Path(top) / f for f in files if not f.startswith(".")]
    return sorted(out)


def source_fingerprint(source: Source) -> str:
    """Hash of the names, sizes and mtimes of every file under the source root (stat only).

    Symbolic links are followed (`_files`): a replaced file behind a link changes the hash; a
    link's target path is part of it, and a dangling link counts as such.
    """
    h = hashlib.sha256()
    root = os.path.realpath(source.root)
    for p in _files(source.root):
        rel = p.relative_to(source.root)
        try:
            st = p.stat()
        except OSError:  # a dangling link: the day reads as missing
            h.update(f"{rel}|dangling\n".encode())
            continue
        real = os.path.realpath(p)  # where a link leads (nothing for a plain file: moving the
        target = real if real != os.path.join(root, rel) else ""  # data folder keeps the hash)
        h.update(f"{rel}|{st.st_size}|{st.st_mtime_ns}|{target}\n".encode())
    for split in ("train", "val", "test", "deploy"):
        p = source.split_path(split)
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()

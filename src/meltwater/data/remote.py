"""Cubes on object storage: a catalog ``cube:`` value may be an fsspec URL (``s3://bucket/x.zarr``).

Options of the store's filesystem (endpoint, credentials) come from the catalog's
``cube_options:`` mapping (`configure` puts them into fsspec's per-protocol configuration, so
zarr and xarray use them for that protocol) or from fsspec's environment variables
(``FSSPEC_S3_ENDPOINT_URL``, ``FSSPEC_S3_KEY``, ``FSSPEC_S3_SECRET``; what dask.distributed
worker processes see). A source with a URL cube builds its cube locally (the local
``cube_path`` is the staging copy) and `publish` uploads it.

Commit on a store without rename: `publish` uploads everything under a temporary prefix
``<url>.tmp-<id>/``, then, on the final prefix, deletes the root ``zarr.json`` first, removes
the old objects, copies the new ones server-side and writes the root ``zarr.json`` last. A
reader opening the cube therefore finds either the complete old cube, no cube (the root
metadata is missing: `CubeError` "no analysis cube", while a replacement is being copied or
after a failed one), or the complete new cube — never a half-written one that opens. A failed
upload leaves the old cube as it was. There is no lock on a remote store: one writer at a time
(a build or a precompute) is the user's to ensure.

Files that go with a cube (season summaries, evaluation results) live beside it (`beside`)
as single objects: `upload` puts one whole (an S3 ``PUT`` is all or nothing) and `download`
fetches one to read it.
"""

from __future__ import annotations

import contextlib
import posixpath
import uuid
from pathlib import Path
from typing import Any

from meltwater.errors import CubeError

__all__ = [
    "beside",
    "configure",
    "download",
    "filesystem",
    "has_cube",
    "is_url",
    "publish",
    "reachable",
    "stamp",
    "upload",
]

ROOT_META = "zarr.json"


def is_url(location: object) -> bool:
    """Whether ``location`` is a URL of a remote filesystem (``scheme://…``, not ``file://``)."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def configure(url: str, options: dict[str, Any]) -> None:
    """Make ``options`` (e.g. ``endpoint_url``, ``key``, ``secret``) the defaults of ``url``'s
    protocol for every fsspec filesystem of this process."""
    import fsspec.config

    if options:
        protocol = url.split("://", 1)[0]
        fsspec.config.conf.setdefault(protocol, {}).update(options)


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) of ``url``."""
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def beside(url: str, name: str) -> str:
    """The URL of ``name`` (a relative key such as ``results/demo_test.nc``) in the folder that
    holds ``url`` (``s3://b/cubes/demo.zarr`` → ``s3://b/cubes/<name>``)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{posixpath.join(posixpath.dirname(rest.rstrip('/')), name)}"


def stamp(url: str) -> str | None:
    """What changes when the object at ``url`` is replaced (its ETag, else time and size);
    None when there is no such object."""
    fs, path = filesystem(url)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        return None
    if info.get("type") == "directory":
        return None
    tag = info.get("ETag") or f"{info.get('LastModified', info.get('mtime'))}:{info.get('size')}"
    return str(tag)


def download(url: str, dest: Path | str) -> None:
    """Fetch the object at ``url`` into the local file ``dest``.

    Raises:
        FileNotFoundError: no object at ``url``.
    """
    fs, path = filesystem(url)
    fs.invalidate_cache(path)  # a listing cached before the object was written hides it
    fs.get_file(path, str(dest))


def upload(local: Path | str, url: str) -> None:
    """Put the local file ``local`` at ``url`` as one object (replaced whole or not at all)."""
    fs, path = filesystem(url)
    fs.put_file(str(local), path)
    fs.invalidate_cache(path)


def has_cube(url: str) -> bool:
    """Whether a committed cube (its root ``zarr.json``) is at ``url``."""
    fs, root = filesystem(url)
    return bool(fs.exists(f"{root}/{ROOT_META}"))


def reachable(url: str) -> None:
    """Raise `CubeError` naming ``url`` unless its store answers and holds a cube.

    Raises:
        CubeError: the endpoint cannot be reached, the bucket refuses access, or there is no
            cube (no root ``zarr.json``) at the URL.
    """
    try:
        found = has_cube(url)
    except Exception as e:  # botocore/aiohttp raise many types for a dead endpoint
        raise CubeError(
            f"cube URL {url} cannot be reached ({type(e).__name__}: {e}); check the catalog's "
            "cube_options (endpoint_url) or FSSPEC_<PROTOCOL>_* environment variables"
        ) from None
    if not found:
        raise CubeError(f"no analysis cube at {url} (no {ROOT_META}; build it with meltwater cube)")


def publish(local: Path | str, url: str) -> None:
    """Upload the zarr store at ``local`` to ``url`` with the commit described above."""
    fs, root = filesystem(url)
    tmp = f"{root}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        fs.put(str(local).rstrip("/") + "/", tmp + "/", recursive=True)
        new = sorted(p[len(tmp) + 1 :] for p in fs.find(tmp))
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(f"{root}/{ROOT_META}")  # from here on the old cube no longer opens
        if fs.exists(root):
            fs.rm(root, recursive=True)
        rest = [p for p in new if p != ROOT_META]  # copied concurrently (fsspec batches)
        fs.copy([f"{tmp}/{p}" for p in rest], [f"{root}/{p}" for p in rest])
        fs.copy(f"{tmp}/{ROOT_META}", f"{root}/{ROOT_META}")  # the commit
    finally:
        with contextlib.suppress(FileNotFoundError):
            fs.rm(tmp, recursive=True)
        fs.invalidate_cache()

"""Checked reads of stored data: cube chunks, season summaries and results files.

`guard` wraps every variable of an opened cube (`meltwater.data.cube.open_cube` does it) so that
whatever reads it — evaluation, summaries, baselines, the UNet's inputs, the dashboard —
gets the same two checks without knowing about them:

* a chunk that cannot be decoded (random bytes, truncation) raises one `CorruptDataError`
  naming the variable, the day and the store, instead of a codec traceback;
* a ``pred_*`` or ``unc_*`` variable is read through its per-day provenance
  (`meltwater.data.provenance`): a day no model recorded reads as NaN (missing), and a
  variable holding several models' days raises `MixedModelsError`; a recorded day whose chunk
  file is missing from a local store raises `CorruptDataError` (`chunk_files`: zarr would read
  it as NaN, a silently blank map). The records are re-read
  from the store when it changes, so a long-lived reader (the dashboard) follows a
  precompute that runs beside it; `current_attrs` gives those records as attributes (what
  `progress` counts and the season summaries are keyed by).

`read_netcdf` opens a small netCDF file (summary, results), local or on object storage, and
names the file when it is damaged.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

from meltwater.data.chunk_files import ChunkFiles
from meltwater.data.provenance import CHUNKS_ATTR, model_days, stored_model
from meltwater.data.remote import download, is_url
from meltwater.errors import CorruptDataError, MeltwaterError
from meltwater.schema import is_pred_var, is_unc_var

__all__ = ["current_attrs", "guard", "read_netcdf"]

_RETRIES = 3


def _hint(var: str) -> str:
    if is_pred_var(var) or is_unc_var(var):
        return "recompute it with `meltwater precompute --verify`"
    return "rebuild the cube with `meltwater cube --overwrite`"


class _Records:
    """The provenance of one ``pred_*`` variable, re-read when its metadata file changes."""

    def __init__(self, store: Path, var: str, attrs: dict, days: np.ndarray) -> None:
        self.var, self.where, self._days = var, str(store), days
        meta = [store / var / "zarr.json", store / var / ".zattrs"]
        self._meta = next((p for p in meta if p.is_file()), None)
        self._lock = threading.Lock()
        self._key: tuple | None = self._stat()
        self.attrs = dict(attrs)
        self._state = self._parse(attrs)

    def _stat(self) -> tuple | None:
        try:
            st = os.stat(self._meta) if self._meta is not None else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st else None

    def _parse(self, attrs: dict):
        """(recorded-day mask, model id or None) — or the MixedModelsError to raise."""
        try:
            model = stored_model(self.var, attrs, self.where)
        except MeltwaterError as e:
            return e
        days = model_days(attrs) or {}
        return np.isin(self._days, sum(days.values(), [])), model

    def current(self) -> dict:
        """The variable's attributes as last recorded in the store (re-read when changed)."""
        self.state()
        return self.attrs

    def state(self):
        """The current records (the same object while the store's records do not change)."""
        key = self._stat()
        with self._lock:
            if key != self._key and self._meta is not None:
                try:
                    doc = json.loads(self._meta.read_text())
                except (OSError, ValueError):  # being rewritten: keep the last records
                    return self._state
                attrs = doc.get("attributes", {}) if self._meta.name == "zarr.json" else doc
                self._key, self._state, self.attrs = key, self._parse(attrs), dict(attrs)
            return self._state


class _Guarded(BackendArray):
    """A cube variable whose reads name the bad chunk and honour the prediction records."""

    def __init__(
        self, name: str, inner: xr.Variable, store: str, times, records=None, files=None
    ) -> None:
        self.name, self.inner, self.store = name, inner, store
        self._data: Any = inner._data  # xarray's lazy, decoded backend array of the variable
        self.shape, self.dtype = inner.shape, inner.dtype
        self.times = times if "time" in inner.dims else None
        self.records = records
        self.files: ChunkFiles | None = files

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._read
        )

    def _day(self, i: int) -> str:
        assert self.times is not None, "only variables along time have days"
        return pd.Timestamp(self.times[i]).strftime("%Y-%m-%d")

    def _raw(self, key: tuple) -> np.ndarray:
        try:
            return np.asarray(self._data.oindex[indexing.OuterIndexer(key)])
        except (OSError, MeltwaterError, MemoryError, TypeError, AttributeError, IndexError):
            raise
        except Exception as e:  # codecs raise RuntimeError, ValueError, ... for bad bytes
            raise self._corrupt(key, e) from None

    def _corrupt(self, key: tuple, e: Exception) -> CorruptDataError:
        day = None
        if self.times is not None:
            t = self.inner.dims.index("time")
            positions = np.atleast_1d(np.arange(self.shape[t])[key[t]])
            for i in positions:  # find the day whose chunk fails
                sub = key[:t] + (int(i),) + key[t + 1 :]
                try:
                    np.asarray(self._data.oindex[indexing.OuterIndexer(sub)])
                except Exception:
                    day = self._day(int(i))
                    break
        what = f"{self.name} of {day}" if day else self.name
        return CorruptDataError(
            f"{what} in {self.store} cannot be read, its stored chunk is damaged "
            f"({type(e).__name__}: {e}); {_hint(self.name)}",
            path=self.store,
            variable=self.name,
            day=day,
        )

    def _read(self, key: tuple) -> np.ndarray:
        if self.records is None:
            return self._raw(key)
        for _ in range(_RETRIES):  # a precompute beside us may record days while we read
            before = self.records.state()
            if isinstance(before, MeltwaterError):
                raise before
            values = self._raw(key)
            if self.records.state() is before:
                break
        recorded = before[0][key[0]]
        if self.files is not None:
            days = np.atleast_1d(np.arange(self.shape[0])[key[0]])
            self._check_stored(days[np.atleast_1d(recorded)], key[1:])
        if np.ndim(recorded) == 0:
            return values if recorded else np.full_like(values, np.nan)
        if not recorded.all():
            values = np.array(values, copy=True)
            values[~recorded] = np.nan
        return values

    def _check_stored(self, days: np.ndarray, window: tuple) -> None:
        assert self.files is not None
        lost = self.files.missing(days, window)
        if lost:
            i, key = lost[0]
            raise CorruptDataError(
                f"{self.name} of {self._day(i)} in {self.store} is recorded as computed but its "
                f"stored chunk {key} is missing; {_hint(self.name)}",
                path=self.store,
                variable=self.name,
                day=self._day(i),
            )


def guard(ds: xr.Dataset, store: Path | str, group: str = "") -> xr.Dataset:
    """``ds`` (opened lazily from the zarr ``store``, its ``group``) with every data variable
    read checked.

    A store on object storage (a URL) keeps the prediction records it was opened with, and its
    chunk files are not looked for."""
    where = str(store)  # a URL stays a URL
    store = Path(store)
    times = ds.indexes["time"] if "time" in ds.indexes else None
    days = np.asarray(times.strftime("%Y-%m-%d")) if times is not None else np.array([])
    out = ds.copy()
    for key, var in ds.data_vars.items():
        name = str(key)
        if var.ndim == 0:
            continue
        records = files = None
        recorded_var = is_pred_var(name) or is_unc_var(name)
        if recorded_var and var.dims[0] == "time" and model_days(var.attrs) is not None:
            records = _Records(store, name, dict(var.attrs), days)
            if var.attrs.get(CHUNKS_ATTR) and not is_url(where):
                files = ChunkFiles(store / group / name)
        guarded = _Guarded(name, var.variable, where, times, records, files)
        # xarray's indexing adapters are not typed as the arrays they wrap
        lazy: Any = indexing.LazilyIndexedArray(guarded)
        data: Any = indexing.CopyOnWriteArray(lazy)
        if "time" not in var.dims:  # static maps are read often: keep them once read
            data = indexing.MemoryCachedArray(data)
        out[name] = xr.Variable(var.dims, data, attrs=var.attrs, encoding=var.encoding)
    return out


def current_attrs(ds: xr.Dataset, var: str) -> dict:
    """The attributes of ``ds[var]`` with its per-day records as the store holds them now.

    A ``pred_*`` / ``unc_*`` variable of a cube opened from a local store (`guard`) re-reads its
    records when the store's metadata file changed (one ``stat`` otherwise); any other variable
    (an in-memory cube, a store on object storage) gives the attributes it was opened with.
    """
    data: Any = ds[var].variable._data
    for _ in range(4):  # CopyOnWriteArray → LazilyIndexedArray → _Guarded, as `guard` built it
        if isinstance(data, _Guarded):
            return data.records.current() if data.records is not None else dict(ds[var].attrs)
        data = getattr(data, "array", None)
    return dict(ds[var].attrs)


def read_netcdf(path: Path | str, what: str) -> xr.Dataset:
    """The (small) netCDF file at ``path`` (a path or an fsspec URL), loaded into memory and
    closed.

    Raises:
        FileNotFoundError: no file (object) at ``path``.
        CorruptDataError: the file is not a readable netCDF (names the file and ``what``).
    """
    if is_url(path):
        with tempfile.TemporaryDirectory(prefix="meltwater-") as tmp:
            local = Path(tmp) / "object.nc"
            download(str(path), local)
            return _read_netcdf(local, what, str(path))
    return _read_netcdf(Path(path), what, str(path))


def _read_netcdf(path: Path, what: str, shown: str) -> xr.Dataset:
    try:
        with xr.open_dataset(path) as ds:
            return ds.load()
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as e:  # netCDF4/h5py/xarray raise many types for a damaged file
        raise CorruptDataError(
            f"{what} {shown} cannot be read, the file is damaged ({type(e).__name__}: {e}); "
            "delete it and write it again",
            path=shown,
        ) from None

"""Typed errors: each message names the file or parameter and what was expected.

The contract: everything the library raises on purpose is a `MeltwaterError`.

* A bad argument (a value outside what a function or CLI option accepts) is an
  `InvalidArgumentError`; a name that is not among the valid ones (model, baseline, metric,
  channel, source, split, config, demo size) is its subclass `UnknownNameError`, whose message
  lists the valid names. Both stay a `ValueError`; `UnknownNameError` is also a `KeyError`, so
  registry look-ups keep the usual Python contract.
* Problems with files are typed by what is wrong: `ConfigError` (a YAML config),
  `CatalogError` (the data catalog), `DataNotFoundError`, `GridMismatchError`, `CubeError`
  (and `MixedModelsError`), `CheckpointError`, `CorruptDataError` (stored data that cannot be
  read back, naming store, variable and day).

The ``meltwater`` CLI prints any `MeltwaterError` as one line and exits 2.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CheckpointError",
    "ConfigError",
    "CorruptDataError",
    "CubeError",
    "DataNotFoundError",
    "GridMismatchError",
    "InvalidArgumentError",
    "MeltwaterError",
    "MixedModelsError",
    "NodataTagWarning",
    "UnknownNameError",
]


class MeltwaterError(Exception):
    """Base class of every error this library raises on purpose."""


class InvalidArgumentError(MeltwaterError, ValueError):
    """An argument has a value the function does not accept (the message names it)."""


class UnknownNameError(InvalidArgumentError, KeyError):
    """A name that is not among the valid ones; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(MeltwaterError, ValueError):
    """A YAML configuration file is missing, not valid YAML or has unknown/invalid keys."""


class CatalogError(ConfigError):
    """The data catalog is malformed (paths, layout, splits)."""


class DataNotFoundError(MeltwaterError, FileNotFoundError):
    """A file or folder the catalog promises is missing."""


class GridMismatchError(MeltwaterError, ValueError):
    """A raster is not on the reference grid (CRS, transform, shape) or has the wrong dtype."""


class CubeError(MeltwaterError, ValueError):
    """An analysis cube is missing, incomplete or inconsistent with its source."""


class CheckpointError(MeltwaterError, ValueError):
    """A model checkpoint is missing, corrupt or does not match what it is used for."""


class MixedModelsError(CubeError):
    """A ``pred_*`` variable holds days of more than one model, or not the model it is used with."""


class CorruptDataError(MeltwaterError, ValueError):
    """Stored data cannot be read back: a damaged chunk of a cube, a summary or results file.

    ``path`` is the store or file, ``variable`` and ``day`` (``YYYY-MM-DD``) name the chunk
    where known (None otherwise).
    """

    def __init__(
        self, message: str, *, path: str, variable: str | None = None, day: str | None = None
    ) -> None:
        super().__init__(message)
        self.path, self.variable, self.day = path, variable, day


class NodataTagWarning(UserWarning):
    """A daily GeoTIFF carries a nodata tag other than NaN: the tag is ignored (NaN = no data)."""

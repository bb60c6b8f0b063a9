"""Typed errors: each message names the file or parameter and what was expected."""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CheckpointError",
    "CorruptDataError",
    "CubeError",
    "DataNotFoundError",
    "GridMismatchError",
    "MeltwaterError",
    "MixedModelsError",
]


class MeltwaterError(Exception):
    """Base class of every error this library raises on purpose."""


class CatalogError(MeltwaterError, ValueError):
    """The data catalog is malformed, or names an unknown source, split or variable."""


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

"""Where the data catalog, the model registry and the data directory are.

The catalog (``data_catalog/``) and the shipped models (``models/``) are installed with the
package as the resource packages ``meltwater_catalog`` and ``meltwater_models``, so a wheel
installed anywhere finds them. One setting each overrides them:

* ``$MELTWATER_CATALOG``: a catalog YAML file;
* ``$MELTWATER_MODELS``: a folder holding ``models.yaml`` and its checkpoints;
* ``$MELTWATER_DATA``: the data directory (demo, downloads, cubes, results).

Without ``$MELTWATER_DATA`` the data directory is ``data/`` beside the catalog's folder when
the catalog is a source checkout's (or a catalog file named by the user), else ``./data``.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from meltwater.errors import DataNotFoundError

__all__ = [
    "CATALOG_ENV",
    "DATA_ENV",
    "MODELS_ENV",
    "POOL_ENV",
    "catalog_path",
    "data_dir",
    "models_dir",
]

CATALOG_ENV = "MELTWATER_CATALOG"
MODELS_ENV = "MELTWATER_MODELS"
DATA_ENV = "MELTWATER_DATA"
POOL_ENV = "MELTWATER_SESSION_POOL"  # sessions a served dashboard process builds ahead


def _package_dir(package: str) -> Path | None:
    try:
        path = Path(str(resources.files(package)))
    except ModuleNotFoundError:
        return None
    return path if path.is_dir() else None


def _locate(env: str, package: str, name: str, what: str) -> Path:
    value = os.environ.get(env)
    if value:
        return Path(value).expanduser()
    found = _package_dir(package)
    if found is None or not (found / name).is_file():
        raise DataNotFoundError(
            f"{what} not found: set ${env}, or install the package data {package!r} "
            f"(pip install meltwater-explorer)"
        )
    return found / name


def catalog_path() -> Path:
    """The catalog YAML: ``$MELTWATER_CATALOG``, else the installed ``catalog.yaml``."""
    return _locate(CATALOG_ENV, "meltwater_catalog", "catalog.yaml", "data catalog")


def models_dir() -> Path:
    """The folder of ``models.yaml``: ``$MELTWATER_MODELS``, else the installed models."""
    return _locate(MODELS_ENV, "meltwater_models", "models.yaml", "model registry").parent


def data_dir(catalog: Path | str | None = None) -> Path:
    """The data directory: ``$MELTWATER_DATA``, else next to a checkout's catalog, else ./data.

    Args:
        catalog: the catalog file in use (default `catalog_path`); a catalog inside a source
            checkout (its folder's parent holds ``pyproject.toml``) or given by the user keeps
            its data in ``data/`` beside the catalog's folder.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    if catalog is None and os.environ.get(CATALOG_ENV) is None:
        packaged = _package_dir("meltwater_catalog")
        if packaged is None or not (packaged.parent / "pyproject.toml").is_file():
            return Path.cwd() / "data"
        catalog = packaged / "catalog.yaml"
    return Path(catalog or catalog_path()).resolve().parent.parent / "data"

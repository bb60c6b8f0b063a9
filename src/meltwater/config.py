"""Loading dataclass configs from YAML: one place for the file, syntax and key checks."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from meltwater.errors import CatalogError

__all__ = ["check_keys", "read_yaml_mapping"]


def read_yaml_mapping(path: Path | str, what: str, empty_ok: bool = True) -> dict[str, Any]:
    """The mapping in a YAML file (``yaml.safe_load``; an empty file is ``{}`` if ``empty_ok``).

    Raises:
        CatalogError: the file is missing, not valid YAML, or not a mapping (names ``what``).
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{what} {path} not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise CatalogError(f"{what} {path} is not valid YAML: {e}") from None
    if raw is None and empty_ok:
        return {}
    if not isinstance(raw, dict):
        raise CatalogError(f"{what} {path}: expected a mapping of settings")
    return raw


def check_keys(d: Any, cls: type, where: str) -> None:
    """Raise `CatalogError` unless ``d`` is a mapping whose keys are fields of dataclass ``cls``."""
    if not isinstance(d, dict):
        raise CatalogError(f"{where}: expected a mapping, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise CatalogError(f"{where}: unknown keys {unknown}; expected some of {sorted(known)}")

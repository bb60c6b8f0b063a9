"""Loading dataclass configs from YAML: one place for the file, syntax and key checks."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from meltwater.errors import ConfigError

__all__ = ["check_keys", "read_yaml_mapping"]


def read_yaml_mapping(
    path: Path | str, what: str, empty_ok: bool = True, error: type[ConfigError] = ConfigError
) -> dict[str, Any]:
    """The mapping in a YAML file (``yaml.safe_load``; an empty file is ``{}`` if ``empty_ok``).

    Raises:
        ConfigError: (or ``error``) the file is missing, not valid YAML, or not a mapping
            (the message names ``what``).
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise error(f"{what} {path} is not valid YAML: {e}") from None
    if raw is None and empty_ok:
        return {}
    if not isinstance(raw, dict):
        raise error(f"{what} {path}: expected a mapping of settings")
    return raw


def check_keys(d: Any, cls: type, where: str) -> None:
    """Raise `ConfigError` unless ``d`` is a mapping whose keys are fields of dataclass ``cls``."""
    if not isinstance(d, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; expected some of {sorted(known)}")

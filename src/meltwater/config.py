"""Loading dataclass configs from YAML: one place for the file, syntax and key checks."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from meltwater.errors import ConfigError, MeltwaterError

__all__ = ["MAX_YAML_NODES", "check_keys", "load_yaml", "read_yaml_mapping"]

# A catalog or config has hundreds of nodes. YAML aliases let a 1 KB file stand for billions
# ("billion laughs": 9 levels of 9 aliases); such a document is refused before it is built.
MAX_YAML_NODES = 100_000


def _expanded_size(root: yaml.Node, where: str, error: type[MeltwaterError]) -> int:
    """Nodes of the document with every alias expanded (each distinct node counted once)."""
    memo: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in active:
            raise error(f"{where}: a YAML alias refers to a node that contains it")
        active.add(key)
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v) for v in node.value)
        else:
            total = 1
        active.discard(key)
        memo[key] = total
        if total > MAX_YAML_NODES:
            raise error(
                f"{where}: the YAML document expands to more than {MAX_YAML_NODES} values "
                "through its aliases (*name); refused (an alias bomb?)"
            )
        return total

    return size(root)


def load_yaml(text: str, where: str, error: type[MeltwaterError] = ConfigError) -> Any:
    """``yaml.safe_load`` of ``text``, refusing a document whose aliases expand it beyond
    `MAX_YAML_NODES` values or make it recursive (``where`` names the file in errors).

    Raises:
        ConfigError: (or ``error``) invalid YAML, an alias bomb or a recursive alias.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, where, error)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise error(f"{where} is not valid YAML: {e}") from None
    except RecursionError:
        raise error(f"{where}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def read_yaml_mapping(
    path: Path | str, what: str, empty_ok: bool = True, error: type[ConfigError] = ConfigError
) -> dict[str, Any]:
    """The mapping in a YAML file (`load_yaml`; an empty file is ``{}`` if ``empty_ok``).

    Raises:
        ConfigError: (or ``error``) the file is missing, not valid YAML, an alias bomb, or not
            a mapping (the message names ``what``).
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} {path} not found")
    raw = load_yaml(path.read_text(), f"{what} {path}", error)
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

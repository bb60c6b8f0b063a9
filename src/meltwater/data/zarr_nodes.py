"""Typed access to the nodes of the cube's zarr store: an array or a group, checked."""

from __future__ import annotations

import zarr

from meltwater.errors import CubeError

__all__ = ["array_node", "group_node"]


def array_node(group: zarr.Group, name: str) -> zarr.Array:
    """The array ``name`` of ``group`` (a group of that name is a `CubeError`)."""
    node = group[name]
    if not isinstance(node, zarr.Array):
        raise CubeError(f"{group.store}: {name!r} is a group, expected an array")
    return node


def group_node(group: zarr.Group, name: str) -> zarr.Group:
    """The group ``name`` of ``group`` (an array of that name is a `CubeError`)."""
    node = group[name]
    if not isinstance(node, zarr.Group):
        raise CubeError(f"{group.store}: {name!r} is an array, expected a group")
    return node

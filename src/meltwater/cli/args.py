"""Argument types and options shared by the subcommands of ``meltwater``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from meltwater.errors import UnknownNameError

__all__ = ["MAX_BOOTSTRAP", "add_source", "bounded_int", "channel_list", "name_list", "year_list"]

MAX_BOOTSTRAP = 100_000


def add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default="demo", help="catalog source (default: demo)")
    p.add_argument(
        "--catalog", default=None, help="catalog YAML (default: data_catalog/catalog.yaml)"
    )
    p.add_argument(
        "--data-root", default=None, help="data directory (default: $MELTWATER_DATA or data/)"
    )


def year_list(text: str) -> list[int]:
    """argparse type of ``--years``: comma-separated four-digit years."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and len(p) == 4 for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated years like 2019,2020, got {text!r}"
        )
    return [int(p) for p in parts]


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """argparse type of an integer option in ``[lo, hi]`` (argparse names the option)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip()) if len(text) <= 20 else None
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"expected an integer from {lo} to {hi}, got {text[:40]!r}"
            )
        return value

    return parse


def channel_list(text: str, valid: tuple[str, ...], option: str) -> tuple[str, ...]:
    """``all`` → every channel of ``valid``, else `name_list` (``none`` → empty)."""
    return valid if text.strip() == "all" else name_list(text, valid, option)


def name_list(text: str, valid: tuple[str, ...], option: str) -> tuple[str, ...]:
    """Comma-separated names checked against ``valid`` (``none`` → empty)."""

    names = tuple(n.strip() for n in text.split(",") if n.strip() and n.strip() != "none")
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise UnknownNameError(f"{option}: unknown {unknown}; valid: {list(valid)}")
    return names

"""Read ``data_catalog/catalog.yaml``: sources, their file layout, roots and splits.

The catalog is the only place that knows where files live. Every path in it is relative (to
the data directory or to the catalog's folder); absolute paths and ``..`` are refused so a
catalog can never point outside its roots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import pandas as pd

from meltwater import resources
from meltwater.config import read_yaml_mapping
from meltwater.data.remote import configure, is_url
from meltwater.errors import CatalogError, DataNotFoundError, UnknownNameError

__all__ = [
    "SPLITS",
    "Layout",
    "Source",
    "get_source",
    "load_catalog",
]

SPLITS = ("train", "val", "test", "deploy")


def _relpath(value: object, where: str) -> PurePosixPath:
    """Check a catalog path is relative and stays below its root."""
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"catalog key {where!r}: expected a relative path, got {value!r}")
    p = PurePosixPath(value)
    if p.is_absolute() or value.startswith("~") or ".." in p.parts:
        raise CatalogError(
            f"catalog key {where!r}: {value!r} must be a relative path below its root "
            "(no absolute path, no '~', no '..')"
        )
    return p


def _require(mapping: object, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise CatalogError(f"catalog: missing key {where}.{key}")
    return mapping[key]


@dataclass(frozen=True)
class VariableSpec:
    """One raster variable: folder (daily) or file (static), units and a long name."""

    name: str
    path: PurePosixPath
    units: str
    long_name: str


@dataclass(frozen=True)
class Layout:
    """The GeoTIFF layout shared by the real release and the synthetic demo."""

    base: PurePosixPath
    daily: dict[str, VariableSpec]
    static: dict[str, VariableSpec]
    winter_means: PurePosixPath
    date_format: str

    @classmethod
    def from_dict(cls, d: dict, where: str) -> Layout:
        def specs(key: str) -> dict[str, VariableSpec]:
            block = _require(d, key, where)
            if not isinstance(block, dict) or not block:
                raise CatalogError(f"catalog key {where}.{key}: expected a mapping of variables")
            out = {}
            for name, v in block.items():
                w = f"{where}.{key}.{name}"
                out[name] = VariableSpec(
                    name=name,
                    path=_relpath(_require(v, "path", w), f"{w}.path"),
                    units=str(v.get("units", "")),
                    long_name=str(v.get("long_name", name)),
                )
            return out

        return cls(
            base=_relpath(_require(d, "base", where), f"{where}.base"),
            daily=specs("variables"),
            static=specs("static"),
            winter_means=_relpath(_require(d, "winter_means", where), f"{where}.winter_means"),
            date_format=str(d.get("date_format", "%Y_%m_%d")),
        )


@dataclass(frozen=True)
class Source:
    """A data source resolved against a data directory."""

    name: str
    kind: Literal["synthetic", "real"]
    description: str
    root: Path
    cube_path: Path
    layout: Layout
    splits_dir: Path
    season: tuple[str, str] = ("04-01", "09-30")
    hub: dict = field(default_factory=dict)
    cube_url: str = ""  # an fsspec URL when the cube lives on object storage (data.remote)

    @property
    def cube(self) -> Path | str:
        """Where the cube is read and written: its URL, else the local ``cube_path``."""
        return self.cube_url or self.cube_path

    @property
    def base(self) -> Path:
        return self.root / self.layout.base

    def variable_dir(self, variable: str) -> Path:
        """Folder of the per-day GeoTIFFs of ``variable`` (``sar``, ``pmw``, ``mar_wa1``)."""
        try:
            spec = self.layout.daily[variable]
        except KeyError:
            raise UnknownNameError(
                f"source {self.name!r}: unknown daily variable {variable!r}; "
                f"valid: {sorted(self.layout.daily)}"
            ) from None
        return self.base / spec.path

    def day_path(self, variable: str, date: pd.Timestamp | str) -> Path:
        """Path of one day's GeoTIFF, named ``YYYY_MM_DD.tif``."""
        return (
            self.variable_dir(variable)
            / f"{pd.Timestamp(date).strftime(self.layout.date_format)}.tif"
        )

    def static_path(self, variable: str) -> Path:
        """Path of a static raster (``dem`` or ``land``)."""
        try:
            return self.base / self.layout.static[variable].path
        except KeyError:
            raise UnknownNameError(
                f"source {self.name!r}: unknown static variable {variable!r}; "
                f"valid: {sorted(self.layout.static)}"
            ) from None

    def winter_mean_path(self, year: int) -> Path:
        """Path of the Jan–Feb mean PMW brightness temperature of ``year``."""
        return self.root / self.layout.winter_means / f"{int(year)}_jan_feb.tif"

    def parse_date(self, filename: str) -> pd.Timestamp:
        """The date of a ``YYYY_MM_DD.tif`` file name."""
        stem = Path(filename.strip()).stem
        try:
            return pd.Timestamp(pd.to_datetime(stem, format=self.layout.date_format))
        except ValueError:
            raise CatalogError(
                f"source {self.name!r}: {filename!r} is not a date file name like 2019_06_01.tif"
            ) from None

    def split_path(self, split: str) -> Path:
        if split not in SPLITS:
            raise UnknownNameError(f"unknown split {split!r}; valid: {list(SPLITS)}")
        return self.splits_dir / f"{split}.csv"

    def split_dates(self, split: str) -> pd.DatetimeIndex:
        """Sorted dates of a split (``train``, ``val``, ``test`` or ``deploy``)."""
        path = self.split_path(split)
        if not path.is_file():
            hint = " (run `meltwater demo` first)" if self.kind == "synthetic" else ""
            raise DataNotFoundError(f"split file {path} for source {self.name!r} is missing{hint}")
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        return pd.DatetimeIndex(sorted(self.parse_date(n) for n in names), name="time")

    def require_files(self) -> None:
        """Raise `DataNotFoundError` naming every missing folder or static file of the layout."""
        missing = [
            str(self.variable_dir(v))
            for v in self.layout.daily
            if not self.variable_dir(v).is_dir()
        ]
        missing += [
            str(self.static_path(v))
            for v in self.layout.static
            if not self.static_path(v).is_file()
        ]
        if missing:
            hint = "`meltwater demo`" if self.kind == "synthetic" else "`meltwater download`"
            raise DataNotFoundError(
                f"source {self.name!r} under {self.root} is missing: {', '.join(missing)}; "
                f"run {hint} first"
            )


def load_catalog(path: Path | str | None = None) -> dict:
    """Parse and minimally validate the catalog YAML (``yaml.safe_load``)."""
    path = Path(path) if path else resources.catalog_path()
    if not path.is_file():
        raise DataNotFoundError(f"data catalog {path} not found")
    doc = read_yaml_mapping(path, "data catalog", error=CatalogError)
    if not isinstance(doc.get("sources"), dict) or not doc["sources"]:
        raise CatalogError(f"data catalog {path}: expected a top-level 'sources' mapping")
    return doc


def get_source(
    name: str, catalog_path: Path | str | None = None, data_root: Path | str | None = None
) -> Source:
    """Resolve source ``name`` of the catalog against the data directory.

    Args:
        name: source key, e.g. ``"demo"`` or ``"meltwaterbench"``.
        catalog_path: catalog YAML; default `meltwater.resources.catalog_path`.
        data_root: data directory; default `meltwater.resources.data_dir`.

    Raises:
        UnknownNameError: unknown source.
        CatalogError: malformed entry.
    """
    given = Path(catalog_path) if catalog_path else None
    catalog_path = given or resources.catalog_path()
    doc = load_catalog(catalog_path)
    sources = doc["sources"]
    if name not in sources:
        raise UnknownNameError(
            f"unknown source {name!r} in {catalog_path}; valid: {sorted(sources)}"
        )
    d = sources[name]
    where = f"sources.{name}"
    root_dir = Path(data_root) if data_root is not None else resources.data_dir(given)
    kind = _require(d, "kind", where)
    if kind not in ("synthetic", "real"):
        raise CatalogError(
            f"catalog key {where}.kind: expected 'synthetic' or 'real', got {kind!r}"
        )
    splits = _require(d, "splits", where)
    rel = _require(splits, "relative_to", f"{where}.splits")
    if rel not in ("data", "catalog"):
        raise CatalogError(f"catalog key {where}.splits.relative_to: expected 'data' or 'catalog'")
    root = root_dir / _relpath(_require(d, "root", where), f"{where}.root")
    split_rel = _relpath(_require(splits, "dir", f"{where}.splits"), f"{where}.splits.dir")
    season = d.get("season", {})
    cube = str(_require(d, "cube", where))
    cube_url = ""
    if is_url(cube):  # object storage: the local cube_path is the build's staging copy
        options = d.get("cube_options") or {}
        if not isinstance(options, dict):
            raise CatalogError(f"catalog key {where}.cube_options: expected a mapping")
        configure(cube, options)
        cube_url, cube = cube, f"cubes/{name}.zarr"
    return Source(
        name=name,
        kind=kind,
        description=str(d.get("description", "")),
        root=root,
        cube_path=root_dir / _relpath(cube, f"{where}.cube"),
        layout=Layout.from_dict(_require(d, "layout", where), f"{where}.layout"),
        splits_dir=(root if rel == "data" else catalog_path.resolve().parent) / split_rel,
        season=(str(season.get("start", "04-01")), str(season.get("end", "09-30"))),
        hub=dict(d.get("hub") or {}),
        cube_url=cube_url,
    )

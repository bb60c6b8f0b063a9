"""Split lists: the release's data_v1_4 split (shipped in the catalog) and a temporal hold-out.

* ``data_v1_4`` (the paper's split, stratified in time): per year 2018–2023 and month 2 scenes
  test and 2 val, the rest train; 2017 all train. 389/70/70 scenes. The demo uses it itself, so
  its SAR scenes fall on the release's acquisition dates.
* ``temporal`` (train ≤ 2022, test 2023): every 2023 scene is test; the data_v1_4 val scenes up
  to 2022 stay val; every other scene up to 2022 is train. 411/60/58 scenes.

Each split set is a folder of ``train.csv``, ``val.csv``, ``test.csv`` (and ``deploy.csv``)
listing ``YYYY_MM_DD.tif`` names; in the catalog a source names its folder, so a split set is
chosen by choosing the source (``demo`` / ``demo_temporal``, ``meltwaterbench`` /
``meltwaterbench_temporal``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from meltwater.atomic import atomic_path
from meltwater.errors import DataNotFoundError

__all__ = [
    "SPLIT_SETS",
    "TEMPORAL_TEST_YEAR",
    "read_list",
    "release_split",
    "temporal_split",
    "write_split",
]

SPLIT_SETS = ("data_v1_4", "temporal")
TEMPORAL_TEST_YEAR = 2023
SCENE_SPLITS = ("train", "val", "test")


def read_list(path: Path) -> pd.DatetimeIndex:
    """Sorted dates of a ``YYYY_MM_DD.tif`` list file."""
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return pd.DatetimeIndex(
        sorted(pd.to_datetime([Path(n).stem for n in names], format="%Y_%m_%d")), name="time"
    )


def release_split() -> dict[str, pd.DatetimeIndex]:
    """The release's data_v1_4 train/val/test dates, from the installed catalog package."""
    folder = Path(str(resources.files("meltwater_catalog"))) / "splits" / "meltwaterbench"
    out = {}
    for name in SCENE_SPLITS:
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise DataNotFoundError(f"the release's split list {path} is missing")
        out[name] = read_list(path)
    return out


def temporal_split(
    split: dict[str, pd.DatetimeIndex], test_year: int = TEMPORAL_TEST_YEAR
) -> dict[str, pd.DatetimeIndex]:
    """Temporal hold-out from a data_v1_4-like split: ``test_year`` all test, earlier val kept."""
    scenes = split["train"].union(split["val"]).union(split["test"])
    test = scenes[scenes.year == test_year]
    val = split["val"][split["val"].year < test_year]
    train = scenes[scenes.year < test_year].difference(val)
    return {"train": train, "val": val, "test": test}


def write_split(folder: Path, split: dict[str, pd.DatetimeIndex]) -> None:
    """Write each list of ``split`` as ``folder/<name>.csv`` (atomically)."""
    for name, days in split.items():
        with atomic_path(folder / f"{name}.csv") as tmp:
            tmp.write_text("".join(f"{d:%Y_%m_%d}.tif\n" for d in days))

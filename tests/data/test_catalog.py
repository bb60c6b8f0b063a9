from pathlib import Path

import pandas as pd
import pytest
import yaml

from meltwater.data.catalog import get_source, load_catalog
from meltwater.errors import CatalogError, DataNotFoundError, UnknownNameError
from meltwater.resources import catalog_path, data_dir


def _write_catalog(tmp_path: Path, mutate) -> Path:
    doc = yaml.safe_load(catalog_path().read_text())
    mutate(doc)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_sources_resolve_relative_to_data_root(tmp_path):
    src = get_source("demo", data_root=tmp_path)
    assert src.root == tmp_path / "demo"
    assert src.cube_path == tmp_path / "cubes" / "demo.zarr"
    assert src.day_path("sar", "2019-06-01") == (
        tmp_path
        / "demo/raw/Helheim_data/reprojected_100m/SAR/S1Xv1.2/HH_PercentMelt/2019_06_01.tif"
    )
    assert src.static_path("dem").name == "dem_100m.tif"
    assert src.winter_mean_path(2019).name == "2019_jan_feb.tif"


def test_data_root_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MELTWATER_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    assert get_source("meltwaterbench").root == tmp_path / "meltwaterbench"


def test_real_split_is_the_reference_release():
    src = get_source("meltwaterbench")
    sizes = {s: len(src.split_dates(s)) for s in ("train", "val", "test", "deploy")}
    assert sizes == {"train": 389, "val": 70, "test": 70, "deploy": 1207}
    train, test = src.split_dates("train"), src.split_dates("test")
    assert train.intersection(test).empty
    assert (train.year == 2017).sum() > 0 and (test.year == 2017).sum() == 0
    assert test[0] == pd.Timestamp("2018-04-06")


def test_unknown_source_lists_valid_names():
    with pytest.raises(UnknownNameError, match=r"unknown source 'nope'.*demo.*meltwaterbench"):
        get_source("nope")


def test_unknown_split_and_variable(tmp_path):
    src = get_source("demo", data_root=tmp_path)
    with pytest.raises(UnknownNameError, match="unknown split 'holdout'"):
        src.split_dates("holdout")
    with pytest.raises(UnknownNameError, match="unknown daily variable 'tb'"):
        src.variable_dir("tb")


def test_missing_demo_split_names_the_file(tmp_path):
    src = get_source("demo", data_root=tmp_path)
    with pytest.raises(DataNotFoundError, match=r"train\.csv.*meltwater demo"):
        src.split_dates("train")


@pytest.mark.parametrize("bad", ["/abs/demo", "../outside", "~/demo", "a/../../b"])
def test_paths_outside_the_root_are_refused(tmp_path, bad):
    path = _write_catalog(tmp_path, lambda d: d["sources"]["demo"].update(root=bad))
    with pytest.raises(CatalogError, match=r"sources\.demo\.root.*relative path"):
        get_source("demo", catalog_path=path, data_root=tmp_path)


def test_missing_key_is_named(tmp_path):
    path = _write_catalog(tmp_path, lambda d: d["sources"]["demo"].pop("cube"))
    with pytest.raises(CatalogError, match=r"missing key sources\.demo\.cube"):
        get_source("demo", catalog_path=path)


def test_malformed_yaml(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("sources: [unclosed")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(path)
    with pytest.raises(DataNotFoundError, match="not found"):
        load_catalog(tmp_path / "absent.yaml")


def test_require_files_lists_everything_missing(tmp_path):
    src = get_source("demo", data_root=tmp_path)
    with pytest.raises(DataNotFoundError) as err:
        src.require_files()
    msg = str(err.value)
    assert "HH_PercentMelt" in msg and "dem_100m.tif" in msg and "meltwater demo" in msg

"""`meltwater.data.download` against a local fake hub (tests/fakehub.py): no network needed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import huggingface_hub.constants
import pytest
from fixtures.fakehub import FakeHub, serve

import meltwater.data.download
from meltwater.data.catalog import get_source
from meltwater.data.download import (
    MANIFEST_NAME,
    allow_patterns,
    download,
    read_manifest,
    season_months,
    valid_years,
    verify,
)
from meltwater.errors import CatalogError, DataNotFoundError, InvalidArgumentError

BASE = "raw/Helheim_data/reprojected_100m"
DIRS = {
    "sar": f"{BASE}/SAR/S1Xv1.2/HH_PercentMelt",
    "pmw": f"{BASE}/PMWv1.0",
    "mar_wa1": f"{BASE}/MAR/MARv3.14_nearest/WA1",
}
WINTER = "interim/Helheim_data/reprojected_100m/PMWv1.0_winter_means"
STATIC = [f"{BASE}/GrIMP_DEM/dem_100m.tif", f"{BASE}/GIMP_Mask/landMask_100m.tif"]
DAYS = ["06_01", "06_13", "07_02"]
OFF_SEASON = ["01_15", "11_05"]
LOCK = f".{MANIFEST_NAME}.lock"


def _repo_files() -> dict[str, bytes]:
    files = {}
    for i, folder in enumerate(DIRS.values()):
        for year in (2018, 2019):
            for j, day in enumerate(DAYS):
                name = f"{folder}/{year}_{day}.tif"
                files[name] = (
                    bytes([(i * 31 + j * 7 + year) % 256]) * (200 + 10 * j) + name.encode()
                )
        files[f"{WINTER}/{2018 + i % 2}_jan_feb.tif"] = b"W" * 100
        for year in (2018, 2019):  # off-season days: only PMW's January is wanted
            for day in OFF_SEASON:
                files[f"{folder}/{year}_{day}.tif"] = f"{folder} {year} {day}".encode() * 9
    files[STATIC[0]] = b"D" * 300
    files[STATIC[1]] = b"L" * 40  # small: served as a plain git blob, not LFS
    files["README.md"] = b"# fake MeltwaterBench\n"
    files[f"{BASE}/other/2019_06_01.tif"] = b"x" * 90
    return files


@pytest.fixture
def online(monkeypatch):
    """Allow hub calls (the session sets HF_HUB_OFFLINE=1) to loopback only; no telemetry."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    real_connect, outside = socket.socket.connect, []

    def loopback_only(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in (
            "127.0.0.1",
            "::1",
        ):
            outside.append(address)
            raise OSError(f"test tried to reach {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    yield
    assert outside == [], "the download tests must not leave the machine"


@pytest.fixture
def hub(online):
    with serve(FakeHub("blutjens/meltwaterbench", _repo_files(), page_size=7)) as h:
        yield h


@pytest.fixture
def source(tmp_path):
    return get_source("meltwaterbench", data_root=tmp_path)


def _local_files(root) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".cache" not in p.parts and p.name not in (MANIFEST_NAME, LOCK)
    }


def test_patterns_and_valid_years(source):
    assert valid_years(source) == list(range(2017, 2024))
    assert season_months(source) == [4, 5, 6, 7, 8, 9]
    austral = dataclasses.replace(source, season=("10-15", "03-31"))
    assert season_months(austral) == [10, 11, 12, 1, 2, 3]
    pats = allow_patterns(source, years=[2019], variables=["sar"])
    assert pats["daily"] == [f"{DIRS['sar']}/2019_{m:02d}_??.tif" for m in range(4, 10)]
    assert pats["static"] == STATIC
    assert pats["winter_means"] == [f"{WINTER}/2019_jan_feb.tif"]
    pmw = allow_patterns(source, years=[2019], variables=["pmw"])["daily"]
    assert pmw == [f"{DIRS['pmw']}/2019_{m:02d}_??.tif" for m in (1, 2, 4, 5, 6, 7, 8, 9)]
    assert len(allow_patterns(source)["daily"]) == 7 * (6 + 8 + 6)
    assert allow_patterns(source, years=2019, variables="sar") == pats
    assert allow_patterns(source, years=["2019", 2019], variables=("sar",)) == pats


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"variables": ["sar", "ndvi"]}, r"variables.*'ndvi'.*valid: \['sar', 'pmw', 'mar_wa1'\]"),
        ({"years": [2012]}, r"years.*2012.*valid: \[2017, 2018, .*2023\]"),
        ({"years": ["twenty"]}, r"'years'.*not a list of int"),
        ({"variables": []}, r"parameter 'variables' is empty; valid"),
        ({"variables": "ndvi"}, r"unknown variables \['ndvi'\]"),
    ],
)
def test_unknown_choices_raise(source, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        allow_patterns(source, **kwargs)
    with pytest.raises(InvalidArgumentError, match=match):
        download(source, progress=False, endpoint="http://127.0.0.1:9", **kwargs)


def test_demo_source_has_no_hub(tmp_path):
    demo = get_source("demo", data_root=tmp_path)
    with pytest.raises(CatalogError, match=r"sources\.demo\.hub\.repo_id.*meltwater demo"):
        download(demo, progress=False)


def test_download_selects_layout_and_rerun_is_noop(hub, source):
    root = download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert root == source.root
    expected = {f"{DIRS['sar']}/2019_{d}.tif" for d in DAYS} | set(STATIC)
    expected |= {f"{WINTER}/2019_jan_feb.tif"}
    assert _local_files(root) == expected
    assert sorted(hub.downloaded()) == sorted(expected)
    assert len(hub.gets("tree")) >= 2, "the listing was paginated"
    for rel in expected:
        assert (root / rel).read_bytes() == hub.files[rel]
    manifest = read_manifest(source)
    assert manifest == {rel: hashlib.sha256(hub.files[rel]).hexdigest() for rel in expected}
    assert (root / MANIFEST_NAME).read_text().splitlines()[0] == (
        f"{manifest[min(expected)]}  {min(expected)}"
    )
    assert verify(source, progress=False) == []

    hub.log.clear()
    stamp = (root / MANIFEST_NAME).stat().st_mtime_ns
    download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert hub.downloaded() == [], "a re-run fetches nothing new"
    assert read_manifest(source) == manifest
    assert (root / MANIFEST_NAME).stat().st_mtime_ns == stamp, "an unchanged manifest is kept"

    download(source, years=[2018, 2019], variables=["sar", "pmw"], progress=False, endpoint=hub.url)
    new = {f"{DIRS[v]}/2018_{d}.tif" for v in ("sar", "pmw") for d in DAYS}
    new |= {f"{DIRS['pmw']}/2019_{d}.tif" for d in DAYS} | {f"{WINTER}/2018_jan_feb.tif"}
    new |= {f"{DIRS['pmw']}/{y}_01_15.tif" for y in (2018, 2019)}
    assert sorted(hub.downloaded()) == sorted(new)
    assert set(read_manifest(source)) == expected | new
    assert _local_files(root) == expected | new


def test_verify_detects_truncated_and_modified_files(hub, source):
    download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    truncated = source.root / DIRS["sar"] / "2019_06_13.tif"
    truncated.write_bytes(truncated.read_bytes()[:50])
    flipped = source.root / STATIC[0]
    data = bytearray(flipped.read_bytes())
    data[7] ^= 1
    flipped.write_bytes(bytes(data))
    gone = source.root / f"{WINTER}/2019_jan_feb.tif"
    gone.unlink()
    assert verify(source, progress=False) == sorted([truncated, flipped, gone])

    hub.log.clear()
    download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert truncated.stat().st_size == 50, "snapshot_download alone does not repair a local edit"
    assert hub.downloaded() == [f"{WINTER}/2019_jan_feb.tif"], "a missing file is fetched again"

    hub.log.clear()
    download(
        source,
        years=[2019],
        variables=["sar"],
        progress=False,
        endpoint=hub.url,
        verify_existing=True,
    )
    assert sorted(hub.downloaded()) == sorted([f"{DIRS['sar']}/2019_06_13.tif", STATIC[0]])
    assert verify(source, progress=False) == []


def test_dropped_transfer_resumes_with_range(hub, source, monkeypatch):
    # The client resumes after the bytes it has written, in whole read chunks (10 MB by default).
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 50)
    name = f"{DIRS['mar_wa1']}/2019_07_02.tif"
    hub.drop_once[name] = 101
    download(source, years=[2019], variables=["mar_wa1"], progress=False, endpoint=hub.url)
    assert (source.root / name).read_bytes() == hub.files[name]
    ranges = [r for m, p, r in hub.log if m == "GET" and p.endswith("2019_07_02.tif")]
    assert ranges == [None, "bytes=100-"]
    assert verify(source, progress=False) == []


def test_hash_mismatch_is_removed_and_reported(hub, source):
    name = f"{DIRS['sar']}/2019_06_01.tif"
    real = hub.files[name]
    hub.entry = lambda path, _orig=hub.entry: (
        {**_orig(path), "lfs": {**_orig(path)["lfs"], "oid": "f" * 64}}
        if path == name
        else _orig(path)
    )
    with pytest.raises(DataNotFoundError, match=r"did not match the hub's hash.*2019_06_01\.tif"):
        download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert not (source.root / name).exists()
    assert name not in read_manifest(source)
    assert len(read_manifest(source)) == 5
    assert real == hub.files[name]


def test_layout_missing_on_hub(hub, source):
    del hub.files[STATIC[1]]
    with pytest.raises(DataNotFoundError, match=r"no file matching.*landMask_100m\.tif"):
        download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert _local_files(source.root) == set()


def test_unreachable_hub_and_offline_mode(online, source, monkeypatch):
    with pytest.raises(DataNotFoundError, match=r"cannot list the hub repository.*127\.0\.0\.1:9"):
        download(source, years=[2019], progress=False, endpoint="http://127.0.0.1:9")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataNotFoundError, match=r"HF_HUB_OFFLINE is set; unset it"):
        download(source, years=[2019], progress=False, endpoint="http://127.0.0.1:9")


def test_concurrent_downloads_keep_each_others_manifest_entries(hub, source, monkeypatch):
    # Both runs read the (empty) manifest, then download, then meet before writing it.
    barrier = threading.Barrier(2, timeout=30)
    real = meltwater.data.download.snapshot_download

    def snapshot_then_wait(*args, **kwargs):
        out = real(*args, **kwargs)
        barrier.wait()
        return out

    monkeypatch.setattr(meltwater.data.download, "snapshot_download", snapshot_then_wait)
    errors = []

    def run(year):
        try:
            download(source, years=[year], variables=["sar"], progress=False, endpoint=hub.url)
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(y,)) for y in (2018, 2019)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    days = {f"{DIRS['sar']}/{y}_{d}.tif" for y in (2018, 2019) for d in DAYS}
    assert days <= set(read_manifest(source))
    assert verify(source, progress=False) == []


def test_server_failure_keeps_what_arrived_and_rerun_completes(hub, source):
    name = f"{DIRS['sar']}/2019_06_13.tif"
    hub.broken[name] = 403
    with pytest.raises(DataNotFoundError, match=r"stopped with 1 of 6 files missing.*2019_06_13"):
        download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert not (source.root / name).exists()
    assert len(read_manifest(source)) == 5 and name not in read_manifest(source)
    hub.broken.clear()
    hub.log.clear()
    download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert hub.downloaded() == [name]
    assert len(read_manifest(source)) == 6
    assert verify(source, progress=False) == []


_DOWNLOAD_SCRIPT = """
import sys
from meltwater.data.catalog import get_source
from meltwater.data.download import download
source = get_source("meltwaterbench", data_root=sys.argv[1])
download(source, years=[2019], variables=["sar"], progress=False, endpoint=sys.argv[2],
         max_workers=1)
"""


def test_killed_download_leaves_no_partial_file_and_rerun_completes(hub, source, tmp_path):
    name = f"{DIRS['sar']}/2019_06_13.tif"
    hub.stall.add(name)
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _DOWNLOAD_SCRIPT, str(tmp_path), hub.url], env=env
    )
    partials = source.root / ".cache" / "huggingface" / "download"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        name in hub.downloaded() and list(partials.rglob("*.incomplete"))
    ):
        time.sleep(0.05)
    proc.kill()
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert not (source.root / name).exists(), "no partial file in the layout"
    for rel in _local_files(source.root):
        assert (source.root / rel).read_bytes() == hub.files[rel]
    stale = list(partials.rglob("*.incomplete"))
    assert len(stale) == 1
    hour_ago = time.time() - 3601
    os.utime(stale[0], (hour_ago, hour_ago))

    hub.stall.clear()
    hub.log.clear()
    download(source, years=[2019], variables=["sar"], progress=False, endpoint=hub.url)
    assert name in hub.downloaded()
    assert not stale[0].exists()
    assert len(read_manifest(source)) == 6 and verify(source, progress=False) == []


def test_cli_download_through_hf_endpoint(hub, tmp_path):
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"}
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    argv = [sys.executable, "-m", "meltwater.cli", "download", "--years", "2019"]
    argv += ["--variables", "sar", "--data-root", str(tmp_path)]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-800:]
    assert first.stdout.startswith(f"downloaded to {tmp_path / 'meltwaterbench'}")
    assert "HTTP Request" not in first.stderr, "per-request logs are for --verbose"
    source = get_source("meltwaterbench", data_root=tmp_path)
    assert len(read_manifest(source)) == 6
    (source.root / STATIC[0]).write_bytes(b"damaged")
    hub.log.clear()
    again = subprocess.run(
        [*argv, "--verify"], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr[-800:]
    assert hub.downloaded() == [STATIC[0]]
    assert verify(source, progress=False) == []

"""Faults while serving, in headless chromium (issue 14, findings 4 and 6).

A damaged day and a broken checkpoint are simulated in the dashboard's `Store` (the library's
own detection of both is tested in tests/test_bad_inputs_faults.py and tests/models): the page
must name the problem once, as text, and keep working.
"""

from __future__ import annotations

import numpy as np
import pytest
from e2e_helpers import serve_app, until, wait_maps, watch

from meltwater.errors import CheckpointError, CorruptDataError
from meltwater_dashboard.store import Store

pytestmark = pytest.mark.e2e

SOURCE = "faults"
STORE_PATH = "/data/cubes/faults.zarr"


class FaultyStore(Store):
    """A store whose ``sar`` of one day cannot be decoded."""

    bad_day = ""

    def frame(self, source: str, var: str, date: str) -> np.ndarray:
        if var == "sar" and date == self.bad_day:
            raise CorruptDataError(
                f"sar of {date} in {STORE_PATH} cannot be decoded", path=STORE_PATH
            )
        return super().frame(source, var, date)


@pytest.fixture(scope="module")
def served(tiny_cube):
    cube = tiny_cube.copy().load()
    cube["pred_unet"] = cube["sar_interp"].astype("float16")
    cube["pred_sar_running_mean"] = cube["sar_interp"].astype("float16")
    calls: list[tuple[str, ...]] = []

    def broken(c, d, ablate):
        calls.append(tuple(ablate))
        raise CheckpointError("checkpoint models/unet_demo: weights SHA-256 mismatch")

    store = FaultyStore({SOURCE: cube}, predictor=broken)
    sar_days = sorted(store.sar_days(SOURCE))
    store.bad_day = sar_days[len(sar_days) // 2].strftime("%Y-%m-%d")
    with serve_app(store, SOURCE) as (url, states):
        yield url, store, states, calls


def test_a_link_to_a_damaged_day_names_it_and_shows_the_page(page, served, shots):
    url, store, states, _ = served
    errors, external = watch(page)
    page.goto(f"{url}?date={store.bad_day}")
    notice = page.locator(".notyf__message").filter(has_text="cannot be decoded").first
    notice.wait_for(timeout=30_000)  # shown for 5 s: looked for before the maps settle
    text = notice.inner_text()
    wait_maps(page, 3)
    page.screenshot(path=str(shots / "dashboard_damaged_day.png"))
    assert f"sar of {store.bad_day}" in text and STORE_PATH in text
    assert states[-1].date_str == store.bad_day  # the page is on the asked day, not blank
    assert page.get_by_text(f"SAR — {store.bad_day}").count() >= 1
    assert not errors, errors
    assert not external, external


def test_a_broken_checkpoint_is_one_notice_and_disabled_switches(page, served, shots):
    url, _, states, calls = served
    errors, _ = watch(page)
    page.goto(url)
    wait_maps(page, 3)
    state = states[-1]
    page.get_by_role("button", name="DEM", exact=True).click()
    assert until(page, lambda: bool(state.ablation_error)), state.ablation_error
    page.get_by_text("weights SHA-256 mismatch").first.wait_for(timeout=10_000)
    page.wait_for_timeout(3000)  # a notification storm would show several toasts by now
    toasts = page.locator(".notyf__message").filter(has_text="weights SHA-256 mismatch")
    assert toasts.count() == 1, toasts.count()
    assert page.get_by_text("All inputs on").count() == 0
    assert state.ablate == [] and len(calls) == 1
    page.screenshot(path=str(shots / "dashboard_broken_checkpoint.png"))
    assert page.get_by_role("button", name="DEM", exact=True).is_disabled()
    assert not errors, errors

"""Fixtures of the dashboard tests: the hand-set toy cube (tests/fixtures/toycube.py) in a
`Store` whose live ablations run a stand-in UNet."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest
from fixtures.toycube import make_toy_cube

from meltwater.errors import MeltwaterError
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store

hv.extension("bokeh")


class FakeUNet:
    """Stands in for UNetPredictor.predict: 0.1 × number of switched-off channels."""

    def __init__(self, fail: bool = False):
        self.calls: list[tuple] = []
        self.fail = fail

    def __call__(self, cube, date, ablate):
        self.calls.append((pd.Timestamp(date), tuple(ablate)))
        if self.fail:
            raise MeltwaterError("no checkpoint in models/models.yaml")
        return np.full((cube.sizes["y"], cube.sizes["x"]), 0.1 * len(ablate), np.float32)


@pytest.fixture
def unet():
    return FakeUNet()


@pytest.fixture
def store(unet):
    no_unet = make_toy_cube().drop_vars(["pred_unet", "pred_unet_no_pmw"])
    return Store({"toy": make_toy_cube(), "toy_no_unet": no_unet}, predictor=unet)


@pytest.fixture
def state(store):
    return DashboardState(source="toy", store=store, year=2019)


class Toasts:
    """Stands in for ``pn.state.notifications``: records what the page would render."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def warning(self, msg: str, duration: int = 0) -> None:
        self.shown.append(msg)

    error = warning
    info = warning


@pytest.fixture
def toasts(monkeypatch):
    import panel as pn

    t = Toasts()
    monkeypatch.setattr(pn.state, "_notification", t, raising=False)
    monkeypatch.setattr(type(pn.state), "notifications", property(lambda self: t))
    return t

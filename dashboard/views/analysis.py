"""The analysis tabs of issue 17, registered in one place: tab name → (title, view)."""

from __future__ import annotations

from meltwater_dashboard.views.climatology import climatology_tab
from meltwater_dashboard.views.conservation import conservation_tab
from meltwater_dashboard.views.onset import onset_tab
from meltwater_dashboard.views.regions import regions_tab
from meltwater_dashboard.views.scorecard import scorecard_tab
from meltwater_dashboard.views.thresholds import thresholds_tab
from meltwater_dashboard.views.uncertainty import uncertainty_tab

__all__ = ["ANALYSIS_VIEWS"]

ANALYSIS_VIEWS = {
    "thresholds": ("Thresholds", thresholds_tab),
    "scorecard": ("Score card", scorecard_tab),
    "onset": ("Onset", onset_tab),
    "climatology": ("Climatology", climatology_tab),
    "conservation": ("Conservation", conservation_tab),
    "regions": ("Regions", regions_tab),
    "uncertainty": ("Uncertainty", uncertainty_tab),
}
"""In the order of `meltwater_dashboard.redraw.ANALYSIS_TABS`."""

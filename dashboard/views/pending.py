"""The banner above every tab while the season shown is still being precomputed (`pending`)."""

from __future__ import annotations

import panel as pn

from meltwater_dashboard.escape import html_text
from meltwater_dashboard.state import DashboardState

__all__ = ["pending_banner", "pending_html"]

STYLE = "background:#fff3cd;border:1px solid #e0c36a;border-radius:4px;padding:6px 10px"


def pending_html(text: str) -> str:
    """``text`` (from `pending.pending_text`; it names a source) as an escaped status line."""
    if not text:
        return ""
    return f'<div class="mw-pending" role="status" style="{STYLE}">{html_text(text, 500)}</div>'


def pending_banner(state: DashboardState) -> pn.pane.HTML:
    """A status line that follows ``state.pending`` and hides when nothing is pending."""
    return pn.pane.HTML(
        pn.bind(pending_html, state.param.pending),
        visible=pn.bind(bool, state.param.pending),
        sizing_mode="stretch_width",
        margin=(4, 10),
    )

"""Pages that show their first view at once and build the rest once the browser has loaded it.

A served session is built in one server thread before its page can show anything; 30 sessions
opened together wait for each other's builds. `progressive` builds only the first view of a
row (the prediction map) while the session is created and the others in `pn.state.onload`,
i.e. after the browser has drawn the page: a class sees an interactive map first and the other
maps a moment later. Outside a server (tests, notebooks) every view is built at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import panel as pn
from panel.pane.holoviews import link_axes

__all__ = ["progressive"]


def progressive(
    builders: Sequence[Callable[[], pn.viewable.Viewable]],
    height: int,
    container: Callable[..., pn.GridBox],
) -> pn.GridBox:
    """``container(*views)`` of ``builders``' views: the first built now, the others when the
    page has loaded, each shown meanwhile as a loading placeholder ``height`` px high."""
    first, *rest = builders
    box = container(
        first(),
        *[pn.Spacer(height=height, sizing_mode="stretch_width", loading=True) for _ in rest],
    )

    def fill() -> None:
        box.objects = [box.objects[0], *[build() for build in rest]]
        # Panel links the axes of HoloViews panes when a page is rendered; views added to a
        # rendered page are linked here (shared pan/zoom), on this session's root only
        for view, root, doc, _ in list(pn.state._views.values()):
            if doc is pn.state.curdoc:
                link_axes(view, root)

    if rest:
        pn.state.onload(fill)
    return box

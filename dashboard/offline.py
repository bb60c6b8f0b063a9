"""Panel's CSS from this server, never from cdn.holoviz.org, for every served session.

Panel (1.9.4) writes its widget stylesheets (``ImportedStyleSheet``) with the CDN address unless
the session's document has a ``dist_url`` template variable, and only sets that variable when it
renders the session's HTML page (``panel.io.server.server_html_page_for_session``). A session
that Bokeh creates when a websocket connects has no page: under load a page can take longer than
``--unused-session-lifetime`` (15 s) between its HTML and its websocket, Bokeh discards the
page's session as unused and builds a new one for the websocket, and that page then asks the CDN
for every stylesheet (all 20 pages of a 20-session load run did). Setting the variable before
the app is built makes every session's stylesheets local, with or without a page.
"""

from __future__ import annotations

import panel as pn
from panel.io.resources import LOCAL_DIST

__all__ = ["serve_css_locally"]


def serve_css_locally() -> None:
    """Point Panel's stylesheets of the current session at this server's static files.

    Call it in the served app before building any component. Outside a server session (no
    current document with a session context) it does nothing.
    """
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return
    rel_path = pn.state.rel_path  # "" for /app, "../" levels for nested app paths
    # the value `server_html_page_for_session` gives the variable in server resource mode
    doc.template_variables["dist_url"] = f"{rel_path}/{LOCAL_DIST}" if rel_path else LOCAL_DIST

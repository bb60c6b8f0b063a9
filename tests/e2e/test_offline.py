"""Panel's stylesheets come from the dashboard's server, never from the CDN (`dashboard.offline`).

Under load a page's websocket can open after Bokeh has discarded the page's session as unused;
Bokeh then builds a new session for the websocket, one without an HTML page, and Panel gives
that session's stylesheets CDN addresses. The browser test makes that happen on an idle server:
a 1 s unused-session lifetime and BokehJS held back 3 s, as a loaded machine delays it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import panel.models  # noqa: F401  (Panel's models, so the pulled document deserializes)
import pytest
from bokeh.client import pull_session
from bokeh.models import ImportedStyleSheet

import meltwater_dashboard.keys  # noqa: F401  (the page's own components: their models too)
import meltwater_dashboard.url  # noqa: F401
from benchmarks.load import PanelServer, free_port

pytestmark = pytest.mark.e2e

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
LIFETIME = ("--unused-session-lifetime", "1000", "--check-unused-sessions", "500")


@pytest.fixture(scope="module")
def server(served_root):
    server = PanelServer(served_root, free_port(), serve_args=LIFETIME)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _stylesheet_urls(url: str) -> set[str]:
    session = pull_session(url=url)  # a session without an HTML page
    try:
        return {m.url for m in session.document.models if isinstance(m, ImportedStyleSheet)}
    finally:
        session.close()


def test_websocket_session_stylesheets_are_local(server):
    # a thread of its own: pytest-playwright may already run an event loop in this one
    with ThreadPoolExecutor(1) as pool:
        urls = pool.submit(_stylesheet_urls, server.url).result()
    assert urls  # the widgets have stylesheets at all
    assert sorted(u for u in urls if "://" in u) == []  # relative: served by this server


def test_page_whose_session_expired_requests_nothing_off_machine(server, page):
    def late(route) -> None:  # past the lifetime and a check: Bokeh discards the page's session
        time.sleep(3)
        route.continue_()

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.route("**/static/js/bokeh.min.js*", late)
    page.goto(server.url, timeout=120_000)
    page.locator(".noUi-handle").first.wait_for(timeout=120_000)
    page.wait_for_load_state("networkidle")
    assert any("/static/extensions/panel/" in u and ".css" in u for u in requests)
    assert [u for u in requests if not u.startswith(LOCAL)] == []

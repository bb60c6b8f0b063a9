"""Helpers of the browser tests: console/request watching, polling, waiting for maps."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import panel as pn

from benchmarks.load import free_port
from meltwater_dashboard.app import build_app
from meltwater_dashboard.state import DashboardState
from meltwater_dashboard.store import Store

__all__ = ["LOCAL", "free_port", "serve_app", "until", "wait_maps", "watch"]

LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "blob:http://127.0.0.1", "data:")


def watch(page) -> tuple[list[str], list[str]]:
    """Lists that collect the page's console errors and its requests to other hosts."""
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else external.append(r.url))
    return errors, external


def until(page, condition, timeout_ms: int = 15_000) -> bool:
    """Poll a server-side condition while the page keeps running."""
    for _ in range(timeout_ms // 250):
        if condition():
            return True
        page.wait_for_timeout(250)
    return condition()


def wait_maps(page, n: int) -> None:
    """Wait until ``n`` Bokeh canvases are drawn, then a moment for them to settle."""
    # Bokeh renders into shadow roots: Playwright's CSS locators pierce them, querySelector not
    page.locator(".bk-Canvas").nth(n - 1).wait_for(timeout=30_000)
    page.wait_for_timeout(1500)


@contextlib.contextmanager
def serve_app(store: Store, source: str) -> Iterator[tuple[str, list[DashboardState]]]:
    """Serve the dashboard on ``store`` in this process: (page URL, each session's state)."""
    states: list[DashboardState] = []

    def app():
        state = DashboardState(source=source, store=store)
        states.append(state)
        return build_app(state, sync_url=True)

    port = free_port()
    server = pn.serve(
        {"app": app},
        port=port,
        address="127.0.0.1",
        websocket_origin=f"127.0.0.1:{port}",
        threaded=True,
        show=False,
    )
    try:
        _listening(port)
        yield f"http://127.0.0.1:{port}/app", states
    finally:
        server.stop()


def _listening(port: int, timeout_s: float = 30.0) -> None:
    """Wait until the threaded server accepts connections (it starts in its own thread)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

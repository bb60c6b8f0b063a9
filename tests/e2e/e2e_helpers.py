"""Helpers of the browser tests: console/request watching, polling, waiting for maps."""

from __future__ import annotations

from benchmarks.load import free_port

__all__ = ["LOCAL", "free_port", "until", "wait_maps", "watch"]

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

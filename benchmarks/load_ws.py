"""Bokeh websocket clients for the load test: each pulls a session and scrubs the day slider.

A client requests the page as a browser does (the server builds or hands out its session
then, `meltwater_dashboard.session_pool`), then ``bokeh.client.pull_session`` with the session
id of the token the page embeds, in a thread of its own (every ``ClientConnection`` runs its
own tornado IOLoop), so the server sees what a browser sends without a renderer per session on
the client machine. A step sets the
"Day of season" slider's value and waits until the server's updates for that day have reached
the client: the day heading's text and the prediction map's image data. Like BokehJS, a client
tells the server when it has the page (a ``DocumentReady`` event: `pn.state.onload` callbacks
run then, e.g. the maps built after the first, `meltwater_dashboard.progressive`); its load
time is until it holds an interactive map (slider, day heading, prediction map), its page time
until every map of the opening view has arrived.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import panel.models  # noqa: F401  (registers Panel's models so pulled documents deserialize)
from bokeh.client import ClientSession, pull_session
from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.events import DocumentReady
from bokeh.models import GlyphRenderer, Image, Plot, Slider
from bokeh.util.token import get_session_id
from panel.models.markup import HTML
from tornado.httpclient import HTTPRequest

import meltwater_dashboard.keys  # noqa: F401  (the page's own components: their models too)
import meltwater_dashboard.url  # noqa: F401

__all__ = [
    "ClientResult",
    "DocModels",
    "find_models",
    "page_session_id",
    "page_token",
    "run_clients",
]

STEP_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 600.0  # as long as the browser mode waits for a page
DAY_SLIDER = "Day of season"
DAY_HEADING = re.compile(r"&lt;h3&gt;\d{2} \w{3} \d{4}")
PRED_TITLE = "&lt;b&gt;Prediction"
LAST_TITLE = "&lt;b&gt;Error"  # the opening view's last map
PAGE_TOKEN = re.compile(r'"token":\s*"([^"]+)"')  # the session token a served page embeds


@dataclass
class ClientResult:
    """What one client measured."""

    load_s: float | None = None
    page_s: float | None = None
    steps: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class DocModels:
    """The models of a pulled dashboard document that a day step drives and waits on."""

    slider: Slider
    heading: HTML
    pred: GlyphRenderer


def find_models(doc: Document) -> DocModels:
    """The day slider, the day heading and the (first) prediction map's image in ``doc``.

    Raises:
        LookupError: when the document lacks one of them.
    """
    models = list(doc.models)
    sliders = [m for m in models if isinstance(m, Slider) and m.title == DAY_SLIDER]
    headings = [m for m in models if isinstance(m, HTML) and DAY_HEADING.search(m.text or "")]
    titles = [m for m in models if isinstance(m, HTML) and (m.text or "").startswith(PRED_TITLE)]
    if not (sliders and headings and titles):
        raise LookupError(
            f"pulled document lacks the {DAY_SLIDER!r} slider ({len(sliders)}), the day heading "
            f"({len(headings)}) or a prediction map title ({len(titles)})"
        )
    column = next(m for m in models if titles[0] in getattr(m, "children", []))
    plot = next(iter(column.children[column.children.index(titles[0]) + 1].select({"type": Plot})))
    # the map is ``hillshade * raster``: the raster is the last image renderer
    images = [
        r for r in plot.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, Image)
    ]
    return DocModels(sliders[0], headings[0], images[-1])


def page_token(url: str) -> str:
    """GET the page at ``url`` as a browser does; the session token it embeds.

    Raises:
        LookupError: when the page embeds no session token.
    """
    with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as response:
        page = response.read().decode()
    token = PAGE_TOKEN.search(page)
    if token is None:
        raise LookupError(f"the page at {url} embeds no session token")
    return token.group(1)


def page_session_id(url: str) -> ID:
    """The id of the session that the page at ``url`` names (`page_token`)."""
    return get_session_id(page_token(url))


def _wait_for(session: ClientSession, done, timeout: float) -> bool:
    """Run the session's IOLoop, applying server patches, until ``done()`` or ``timeout``.

    bokeh.client has no public "process messages until" call: this uses the connection's
    private ``_loop_until`` (what ``pull``/``loop_until_closed`` use). The predicate is checked
    after every message; a timer stops the loop when none satisfies it in time.
    """
    connection = session._connection
    timer = connection.io_loop.call_later(timeout, connection.io_loop.stop)
    connection._loop_until(lambda: done() or not session.connected)
    connection.io_loop.remove_timeout(timer)
    return done()


class _Countdown:
    """Calls ``action`` once ``n`` clients have ticked (without making any of them wait)."""

    def __init__(self, n: int, action: Callable[[], None] | None) -> None:
        self.n, self.action, self._lock = n, action, threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self.n -= 1
            last = self.n == 0
        if last and self.action is not None:
            self.action()


def _client(
    url: str,
    seconds: float,
    start: threading.Barrier,
    result: ClientResult,
    interactive: _Countdown,
) -> None:
    t0 = time.perf_counter()
    try:
        session = pull_session(session_id=page_session_id(url), url=url)
        models = find_models(session.document)
    except Exception as e:  # a client that cannot load still takes part in the start barrier
        result.errors.append(f"connect: {e!r}")
        interactive.tick()
        start.wait()
        return
    result.load_s = time.perf_counter() - t0
    interactive.tick()
    session.document.callbacks.send_event(DocumentReady())  # as BokehJS once it has drawn

    def complete() -> bool:
        return any(
            isinstance(m, HTML) and (m.text or "").startswith(LAST_TITLE)
            for m in session.document.models
        )

    if _wait_for(session, complete, CONNECT_TIMEOUT_S):
        result.page_s = time.perf_counter() - t0
    else:
        result.errors.append("timeout: the opening view's maps did not all arrive")
    changed: set[str] = set()

    def record(event) -> None:
        model = getattr(event, "model", None)
        if model is not None:
            changed.add(model.id)

    session.document.on_change(record)
    targets = {models.heading.id, models.pred.data_source.id}
    slider = models.slider
    start.wait()
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            changed.clear()
            t0 = time.perf_counter()
            slider.value = slider.start if slider.value >= slider.end else slider.value + 1
            if not _wait_for(session, lambda: targets <= changed, STEP_TIMEOUT_S):
                if not session.connected:
                    result.errors.append(f"disconnect: {session.error_detail or 'closed'}")
                else:  # the loop was stopped mid-read: this session cannot go on
                    result.errors.append(
                        f"timeout: step did not arrive within {STEP_TIMEOUT_S:.0f} s"
                    )
                return
            result.latencies_ms.append(1000 * (time.perf_counter() - t0))
            result.steps += 1
    except Exception as e:
        result.errors.append(f"client: {e!r}")
    finally:
        session.close()


@contextmanager
def _patient_connects(timeout: float) -> Iterator[None]:
    """Let websocket handshakes wait ``timeout`` seconds instead of tornado's 20 s.

    bokeh.client has no connect timeout option: ``ClientConnection`` calls tornado's
    ``websocket_connect`` with a bare ``HTTPRequest``, whose timeouts fall back to the private
    class defaults ``HTTPRequest._DEFAULTS``. A server building 20 sessions answers handshakes
    later than 20 s; browsers wait, so the clients do too (the wait shows in the load time).
    """
    defaults = HTTPRequest._DEFAULTS
    HTTPRequest._DEFAULTS = {**defaults, "connect_timeout": timeout, "request_timeout": timeout}
    try:
        yield
    finally:
        HTTPRequest._DEFAULTS = defaults


def run_clients(
    url: str,
    sessions: int,
    seconds: float,
    on_loaded: Callable[[], None] | None = None,
    on_interactive: Callable[[], None] | None = None,
) -> list[ClientResult]:
    """Pull ``sessions`` sessions of ``url`` at once; once all have loaded, each scrubs ``seconds``.

    Args:
        on_loaded: called once every client has its whole opening view, before the scrubbing.
        on_interactive: called once every client has its interactive map (or failed to load).

    Returns:
        One `ClientResult` per session.
    """
    start = threading.Barrier(sessions, action=on_loaded)  # every client scrubs at once
    interactive = _Countdown(sessions, on_interactive)
    results = [ClientResult() for _ in range(sessions)]
    threads = [
        threading.Thread(target=_client, args=(url, seconds, start, r, interactive), daemon=True)
        for r in results
    ]
    with _patient_connects(CONNECT_TIMEOUT_S):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results

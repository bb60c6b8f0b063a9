"""Sessions built ahead of a class (`session_pool`) on a real Bokeh server in this process."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request

import pytest
from bokeh.util.token import get_session_id, get_token_payload
from panel.io.server import get_server
from tornado.ioloop import IOLoop

from benchmarks.load import ROOT, free_port
from benchmarks.load_ws import PAGE_TOKEN, run_clients
from meltwater_dashboard.session_pool import SessionPool, served_apps

pytestmark = pytest.mark.e2e


class _Served:
    """The dashboard served on its own event loop in a thread, with a pool of ``size``."""

    def __init__(self, size: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.pool = SessionPool(size, idle_s=0.3)
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        assert ready.wait(60), "the server did not start"

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        self.loop = IOLoop.current()
        self.server = get_server(
            {"app": str(ROOT / "dashboard" / "app.py")},
            port=self.port,
            address="127.0.0.1",
            websocket_origin=f"127.0.0.1:{self.port}",
            loop=self.loop,
            start=False,
            show=False,
        )
        self.server.start()
        ready.set()
        self.loop.start()

    def on_loop(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop.asyncio_loop).result(120)

    @property
    def context(self):
        return self.server._tornado.applications["/app"]

    def page(self, query: str = "", headers: dict[str, str] | None = None) -> str:
        request = urllib.request.Request(self.url + query, headers=headers or {})
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read().decode()
        token = PAGE_TOKEN.search(text)
        assert token is not None
        return token.group(1)

    def stop(self) -> None:
        async def stop() -> None:
            self.server.stop()

        self.on_loop(stop())
        self.loop.add_callback(self.loop.stop)


@pytest.fixture
def served(served_root, monkeypatch):
    monkeypatch.setenv("MELTWATER_DATA", str(served_root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    served = _Served(size=2)
    yield served
    served.stop()


def _until(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_a_page_of_the_bare_link_gets_a_session_built_ahead_and_it_works(served):
    assert served.server._tornado in served_apps()  # how warm.py finds the server
    pool = served.pool

    async def fill() -> None:
        pool.attach(served.server._tornado)
        await pool.fill()

    served.on_loop(fill())
    pooled = {s.id for s in served.context.sessions}
    assert pool.ready == 2 and len(pooled) == 2

    token = served.page(headers={"X-Pupil": "seven"})
    session_id = get_session_id(token)
    assert session_id in pooled and pool.ready == 1 and pool.handed_out == 1
    assert get_token_payload(token)["session_expiry"] > time.time()  # not expired
    session = served.context.get_session(session_id)
    assert session.document.session_context.request.headers["X-Pupil"] == "seven"

    # a client the way a browser comes: page, websocket, the first map, then the other maps
    (result,) = run_clients(served.url, 1, 2.0)
    assert result.errors == [] and result.page_s is not None and result.steps >= 1
    assert pool.handed_out == 2

    # a link with values is built for its request, never from the pool
    linked = get_session_id(served.page("?tab=curves"))
    assert linked not in pooled and pool.handed_out == 2

    assert _until(lambda: pool.ready == 2)  # refilled once the server has been idle


def test_a_pooled_session_past_its_age_is_replaced_not_handed_out(served):
    pool = served.pool

    async def fill() -> None:
        pool.attach(served.server._tornado)
        await pool.fill()

    served.on_loop(fill())
    old = [served.context.get_session(s.id) for s in served.context.sessions]
    pool.max_age = 0.0  # every pooled session is now too old
    session_id = get_session_id(served.page())
    assert session_id not in {s.id for s in old} and pool.handed_out == 0
    assert all(s.expiration_requested for s in old)  # Bokeh discards them

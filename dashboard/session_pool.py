"""Sessions of the opening page built before anyone asks for them: a class opens them at once.

A served session is built on the server's event loop (the app script and its first map, ~1 s
of CPU here); thirty pupils opening the page together queue behind each other's builds, so the
last waits for all of them. A `SessionPool` builds sessions of the bare link (no query values:
the story day) ahead of time: when the process starts (``--setup dashboard/warm.py``) and again
whenever the process is idle. A page request of the bare link is given a pooled session: its
page and websocket need only the document's serialisation. A link with values, or a request
when the pool is empty, gets a session built on demand as before.

A pooled session is the same session a request would build (the app script run in a Bokeh
session of this server, the request's headers and cookies given to it when it is handed out):
its first map is built, the other maps follow once its page has loaded (`progressive`; the
pool's ``on_built`` / ``on_handed_out`` park it in the `Backlog` meanwhile). A session not
handed out within ``max_age`` seconds is replaced (the story day follows the results). The
size is ``$MELTWATER_SESSION_POOL`` per process (default `DEFAULT_SIZE`); ``0`` turns it off.

Bokeh has no public call to create a session for a future request; this module uses Bokeh's
`ApplicationContext.create_session_if_needed` (what a page request calls) with a session id of
its own, and sets a handed-out session's token and request (private attributes, checked by
``tests/dashboard/test_session_pool.py`` against the real server).
"""

from __future__ import annotations

import gc
import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.server.contexts import ApplicationContext, BokehSessionContext, _RequestProxy
from bokeh.server.session import ServerSession, current_time
from bokeh.server.tornado import BokehTornado
from bokeh.util.token import generate_jwt_token, generate_session_id
from panel.io.server import DocHandler
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from tornado.ioloop import IOLoop

from meltwater.resources import POOL_ENV

__all__ = ["DEFAULT_SIZE", "SessionPool", "pool_size", "served_apps"]

DEFAULT_SIZE = 2


def pool_size() -> int:
    """Pooled sessions per process, from ``$MELTWATER_SESSION_POOL``.

    Raises:
        ValueError: naming the variable when its value is not a whole number ≥ 0.
    """
    raw = os.environ.get(POOL_ENV, str(DEFAULT_SIZE)).strip()
    if not raw.isdigit():
        raise ValueError(f"${POOL_ENV} must be a whole number of sessions ≥ 0, got {raw!r}")
    return int(raw)


@dataclass
class _Pooled:
    session: ServerSession
    built: float  # time.monotonic() when it was built


class SessionPool:
    """Up to ``size`` ready sessions of one served app, handed to requests of its bare link.

    Args:
        size: sessions kept ready.
        idle_s: seconds without a page request or other activity (`touch`) and with no
            deferred work of other sessions before the pool builds a replacement: a class
            scrubbing days is not slowed down by it.
        max_age: seconds after which an unused session is replaced.
        busy: true while the process has other work first (the `Backlog`'s sessions waiting
            or jobs pending); the pool builds only when it is false.
        on_built: called with a pooled session's document once it is built.
        on_handed_out: called with its document when it is given to a request.
    """

    def __init__(
        self,
        size: int,
        idle_s: float = 10.0,
        max_age: float = 600.0,
        busy: Callable[[], bool] = lambda: False,
        on_built: Callable[[Document], None] = lambda doc: None,
        on_handed_out: Callable[[Document], None] = lambda doc: None,
    ) -> None:
        self.size, self.idle_s, self.max_age, self._busy = size, idle_s, max_age, busy
        self._on_built, self._on_handed_out = on_built, on_handed_out
        self._ready: deque[_Pooled] = deque()
        self._server: BokehTornado | None = None
        self._context: ApplicationContext | None = None
        self._last_activity = -float("inf")
        self._filling = False
        self.handed_out = 0  # sessions given to requests (tests and benchmarks read it)

    @property
    def ready(self) -> int:
        """Sessions ready to be handed out."""
        return len(self._ready)

    def attach(self, server: BokehTornado, url: str | None = None) -> None:
        """Serve pooled sessions for ``server``'s app at ``url`` (its only app by default)."""
        contexts = {u: c for u, c in server.applications.items() if u != "/admin"}
        if url is None:
            if len(contexts) != 1:
                raise ValueError(f"pool: the server serves {sorted(contexts)}; name one url")
            url = next(iter(contexts))
        self._server, self._context = server, contexts[url]
        _install_handler(self)

    async def fill(self) -> None:
        """Build sessions until ``size`` are ready (the unused ones past ``max_age`` replaced)."""
        while await self._build_one():
            pass

    def take(self, handler: DocHandler) -> ServerSession | None:
        """A ready session for ``handler``'s request, or None (another link, an empty pool)."""
        self._last_activity = time.monotonic()
        if (
            self._context is None
            or handler.application_context is not self._context
            or handler.request.arguments  # a link with values, or a page's own token
        ):
            return None
        self._drop_old()
        if not self._ready:
            return None
        session = self._ready.popleft().session
        self._hand_out(session, handler)
        self.handed_out += 1
        IOLoop.current().call_later(self.idle_s, self._refill)
        return session

    def touch(self) -> None:
        """Something happened in a session (e.g. Panel is busy with an event): not idle."""
        self._last_activity = time.monotonic()

    async def _build(self) -> ServerSession:
        server, context = self._server, self._context
        assert server is not None and context is not None
        session_id = generate_session_id(secret_key=server.secret_key, signed=server.sign_sessions)
        token = self._token(session_id, {"headers": {}, "cookies": {}, "arguments": {}})
        line = RequestStartLine("GET", context.url or "/", "HTTP/1.1")
        request = HTTPServerRequest(start_line=line, headers=HTTPHeaders(Host="localhost"))
        session = await context.create_session_if_needed(session_id, request, token)
        session.block_expiration()  # an unconnected session is not discarded while pooled
        self._on_built(session.document)
        return session

    def _hand_out(self, session: ServerSession, handler: DocHandler) -> None:
        payload = handler._generate_token_payload()
        token = self._token(session.id, payload)
        session._token = token  # the page embeds it; its websocket connects with it
        context = cast(BokehSessionContext, session.document.session_context)
        context._token = token
        context._request = _RequestProxy(
            handler.request,
            arguments=payload.get("arguments"),
            cookies=payload.get("cookies"),
            headers=payload.get("headers"),
        )
        # from now on an unconnected session expires as one built for this request would
        session._last_unsubscribe_time = current_time()
        session.unblock_expiration()
        self._on_handed_out(session.document)

    def _token(self, session_id: ID, payload: Mapping[str, Any]) -> str:
        server = self._server
        assert server is not None
        return generate_jwt_token(
            session_id,
            secret_key=server.secret_key,
            signed=server.sign_sessions,
            expiration=server.session_token_expiration,
            extra_payload=dict(payload),
        )

    def _drop_old(self) -> None:
        oldest = time.monotonic() - self.max_age
        for pooled in [p for p in self._ready if p.built < oldest]:
            self._ready.remove(pooled)
            pooled.session.unblock_expiration()
            pooled.session.request_expiration()

    async def _build_one(self) -> bool:
        """Replace old sessions and build one when the pool is short; False when it is full."""
        if self._context is None or self._filling:
            return False
        self._drop_old()
        if len(self._ready) >= self.size:
            return False
        self._filling = True
        try:
            self._ready.append(_Pooled(await self._build(), time.monotonic()))
        finally:
            self._filling = False
        return True

    def _refill(self) -> None:
        """Build one session once the process has been idle ``idle_s``; again until full."""
        if len(self._ready) >= self.size and not self._has_old():
            return
        if time.monotonic() - self._last_activity < self.idle_s or self._busy():
            IOLoop.current().call_later(self.idle_s, self._refill)
            return

        async def one() -> None:
            if await self._build_one():
                IOLoop.current().add_callback(self._refill)

        IOLoop.current().add_callback(one)

    def _has_old(self) -> bool:
        return any(p.built < time.monotonic() - self.max_age for p in self._ready)

    def watch_age(self) -> None:
        """Check for sessions past ``max_age`` every ``max_age / 4`` seconds."""

        def check() -> None:
            if self._has_old():
                self._refill()
            IOLoop.current().call_later(self.max_age / 4, check)

        IOLoop.current().call_later(self.max_age / 4, check)


_POOLS: list[SessionPool] = []


def _install_handler(pool: SessionPool) -> None:
    """Let Panel's page handler take pooled sessions (once per process)."""
    _POOLS.append(pool)
    if getattr(DocHandler.get_session, "_pooled", False):
        return
    original: Any = DocHandler.get_session

    async def get_session(self: DocHandler) -> ServerSession:
        for pool in _POOLS:
            session = pool.take(self)
            if session is not None:
                return session
        return cast(ServerSession, await original(self))

    get_session._pooled = True  # type: ignore[attr-defined]
    DocHandler.get_session = get_session  # type: ignore[method-assign, assignment]


def served_apps() -> list[BokehTornado]:
    """The Bokeh servers of this process (``panel serve`` keeps no reference a script can use)."""
    with warnings.catch_warnings():  # isinstance on some of torch's deprecated aliases warns
        warnings.simplefilter("ignore")
        return [o for o in gc.get_objects() if isinstance(o, BokehTornado)]

"""Protocol-level clients for the load test: what a browser sends, without building its models.

A `load_ws` client decodes the pulled document into Bokeh models in Python: ~0.6 s of CPU a
session, in one process whose threads share one GIL. Thirty of them on the server's own two
cores measured the client more than the server (a classroom's browsers build their models on
their own machines). These clients speak Bokeh's websocket protocol as BokehJS does: request
the page, connect with the session token it embeds, pull the document, tell the server the
page is drawn (``document_ready``), then set the day slider's value and wait for the server's
patches of the day heading and the prediction map's image; documents and patches stay JSON
(the models they name are found by id). All clients run as tasks of one event loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bokeh.protocol import Protocol
from bokeh.protocol.receiver import Receiver
from tornado import locks
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from benchmarks.load_ws import (
    CONNECT_TIMEOUT_S,
    DAY_HEADING,
    DAY_SLIDER,
    LAST_TITLE,
    PRED_TITLE,
    STEP_TIMEOUT_S,
    ClientResult,
    page_token,
)

__all__ = ["PageModels", "find_ids", "run_proto_clients"]

DOCUMENT_READY = {
    "kind": "MessageSent",
    "msg_type": "bokeh_event",
    "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}},
}

Obj = dict[str, Any]


def _objects(node: Any, into: dict[str, Obj]) -> None:
    """Every serialized model in ``node`` (a pulled document or a patch), by id."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "object" and "id" in item:
                into[item["id"]] = item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _attr(objs: dict[str, Obj], obj: Obj, name: str) -> Any:
    return objs.get(obj.get("id", ""), obj).get("attributes", {}).get(name)


def _refs(node: Any) -> Iterator[str]:
    """Ids referenced directly or inline in ``node``."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "id" in item:
                yield item["id"]
            if item.get("type") != "object":
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _child_ids(objs: dict[str, Obj], obj: Obj) -> list[str]:
    """Ids of a layout's children (a grid's children are ``[model, row, col, …]`` lists)."""
    children = _attr(objs, obj, "children") or []
    return [(c[0] if isinstance(c, list) else c).get("id", "") for c in children]


def _descendants(objs: dict[str, Obj], root: str) -> Iterator[Obj]:
    seen, todo = {root}, [root]
    while todo:
        obj = objs.get(todo.pop())
        if obj is None:
            continue
        yield obj
        for ref in _refs(obj.get("attributes", {})):
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)


class PageModels:
    """Ids of what a day step drives and waits on: slider, day heading, prediction image."""

    def __init__(self, slider: Obj, heading: str, image_source: str) -> None:
        self.slider_id = slider["id"]
        attrs = slider["attributes"]
        self.value, self.start, self.end = attrs["value"], attrs["start"], attrs["end"]
        self.heading, self.image_source = heading, image_source


def find_ids(objs: dict[str, Obj]) -> PageModels:
    """The day slider, the day heading and the first prediction map's image source.

    Raises:
        LookupError: when the document lacks one of them.
    """
    html = [o for o in objs.values() if o.get("name", "").endswith("HTML")]
    sliders = [
        o
        for o in objs.values()
        if o.get("name", "").endswith("Slider") and _attr(objs, o, "title") == DAY_SLIDER
    ]
    headings = [o for o in html if DAY_HEADING.search(_attr(objs, o, "text") or "")]
    titles = [o for o in html if (_attr(objs, o, "text") or "").startswith(PRED_TITLE)]
    if not (sliders and headings and titles):
        raise LookupError(
            f"pulled document lacks the {DAY_SLIDER!r} slider ({len(sliders)}), the day heading "
            f"({len(headings)}) or a prediction map title ({len(titles)})"
        )
    title = titles[0]["id"]
    column = next(o for o in objs.values() if title in _child_ids(objs, o))
    children = _child_ids(objs, column)
    plot_root = children[children.index(title) + 1]
    sources = [
        _attr(objs, r, "data_source")["id"]
        for r in _descendants(objs, plot_root)
        if r.get("name") == "GlyphRenderer"
        and objs.get(_attr(objs, r, "glyph")["id"], {}).get("name") == "Image"
    ]
    if not sources:
        raise LookupError("the prediction map has no image")
    return PageModels(sliders[0], headings[0]["id"], sources[-1])  # the raster over the hillshade


class _Connection:
    """What `bokeh.protocol.message.Message.send` writes to: a tornado websocket client."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws, self.write_lock = ws, locks.Lock()

    async def write_message(self, message: str | bytes, binary: bool = False, locked=True):
        await self.ws.write_message(message, binary=binary)


class _Client:
    def __init__(self, url: str, result: ClientResult) -> None:
        self.url, self.result = url, result
        self.protocol = Protocol()
        self.receiver = Receiver(self.protocol)
        self.objs: dict[str, Obj] = {}
        self.changed: set[str] = set()
        self.complete = False

    async def open(self) -> PageModels:
        token = await asyncio.to_thread(page_token, self.url)
        ws_url = self.url.replace("http://", "ws://", 1) + "/ws"
        request = HTTPRequest(
            ws_url, connect_timeout=CONNECT_TIMEOUT_S, request_timeout=CONNECT_TIMEOUT_S
        )
        ws = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=2**30)
        self.conn = _Connection(ws)
        await self._receive_until(lambda m: m.msgtype == "ACK", CONNECT_TIMEOUT_S)
        await self.protocol.create("PULL-DOC-REQ").send(self.conn)
        reply = await self._receive_until(
            lambda m: m.msgtype == "PULL-DOC-REPLY", CONNECT_TIMEOUT_S
        )
        _objects(reply.content["doc"], self.objs)
        self._see_complete(reply.content)
        return find_ids(self.objs)

    async def send_events(self, events: list[dict]) -> None:
        message = self.protocol._messages["PATCH-DOC"]
        msg = message(message.create_header(), {}, {"events": events})
        await msg.send(self.conn)

    async def _receive_until(self, done: Callable[[Any], bool], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply within {timeout:.0f} s")
            fragment = await asyncio.wait_for(self.conn.ws.read_message(), left)
            if fragment is None:
                raise ConnectionError("the server closed the connection")
            msg = await self.receiver.consume(fragment)
            if msg is None:
                continue
            if msg.msgtype == "PATCH-DOC":
                self._apply(msg.content)
            if done(msg):
                return msg

    def _apply(self, content: dict) -> None:
        for event in content.get("events", []):
            model = event.get("model")
            if isinstance(model, dict) and "id" in model:
                self.changed.add(model["id"])
        _objects(content, self.objs)
        self._see_complete(content)

    def _see_complete(self, content: dict) -> None:
        if not self.complete and LAST_TITLE in json.dumps(content):
            self.complete = True

    async def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Read the server's messages until ``done()``; False after ``timeout`` seconds."""
        if done():
            return True
        try:
            await self._receive_until(lambda _: done(), timeout)
        except TimeoutError:
            return False
        return True


class _Gate:
    """A barrier of ``n`` tasks; the last to arrive calls ``action`` before all go on."""

    def __init__(self, n: int, action: Callable[[], None] | None) -> None:
        self.n, self.action, self.open = n, action, asyncio.Event()

    async def wait(self) -> None:
        self.n -= 1
        if self.n == 0:
            if self.action is not None:
                self.action()
            self.open.set()
        await self.open.wait()


async def _run_one(
    url: str,
    seconds: float,
    start: _Gate,
    result: ClientResult,
    interactive: Callable[[], None],
) -> None:
    t0 = time.perf_counter()
    client = _Client(url, result)
    try:
        models = await client.open()
    except Exception as e:  # a client that cannot load still takes part in the start barrier
        result.errors.append(f"connect: {e!r}")
        interactive()
        await start.wait()
        return
    result.load_s = time.perf_counter() - t0
    interactive()
    await client.send_events([DOCUMENT_READY])  # as BokehJS once it has drawn
    if await client.wait(lambda: client.complete, CONNECT_TIMEOUT_S):
        result.page_s = time.perf_counter() - t0
    else:
        result.errors.append("timeout: the opening view's maps did not all arrive")
    await start.wait()
    targets = {models.heading, models.image_source}
    value = models.value
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            value = models.start if value >= models.end else value + 1
            client.changed.clear()
            t1 = time.perf_counter()
            await client.send_events(
                [
                    {
                        "kind": "ModelChanged",
                        "model": {"id": models.slider_id},
                        "attr": "value",
                        "new": value,
                    }
                ]
            )
            if not await client.wait(lambda: targets <= client.changed, STEP_TIMEOUT_S):
                result.errors.append(f"timeout: step did not arrive within {STEP_TIMEOUT_S:.0f} s")
                return
            result.latencies_ms.append(1000 * (time.perf_counter() - t1))
            result.steps += 1
    except Exception as e:
        result.errors.append(f"client: {e!r}")
    finally:
        client.conn.ws.close()


def run_proto_clients(
    url: str,
    sessions: int,
    seconds: float,
    on_loaded: Callable[[], None] | None = None,
    on_interactive: Callable[[], None] | None = None,
) -> list[ClientResult]:
    """`load_ws.run_clients` with protocol-level clients (same arguments and results)."""
    results = [ClientResult() for _ in range(sessions)]

    async def main() -> None:
        start = _Gate(sessions, on_loaded)  # every client scrubs at once
        left = [sessions]

        def interactive() -> None:
            left[0] -= 1
            if left[0] == 0 and on_interactive is not None:
                on_interactive()

        await asyncio.gather(*(_run_one(url, seconds, start, r, interactive) for r in results))

    box: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:  # re-raised in the caller's thread
            box.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if box:
        raise box[0]
    return results

"""Pages that show their first view at once and build the rest when no other page waits.

A served session is built in one server thread before its page can show anything; 30 sessions
opened together wait for each other's builds. `progressive` builds only the first view of a
row (the prediction map) while the session is created and hands the others to the process's
`Backlog` once the browser has drawn the page (`pn.state.onload`). The backlog builds them one
view at a time, and only while no session of the process is still waiting for its first view:
a class sees every pupil's interactive map first, then the other maps. Outside a server (tests,
notebooks) every view is built at once. A session built ahead of a class (`session_pool`) is
*parked*: it holds no one back until it is handed to a page.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

import panel as pn
from bokeh.document import Document
from panel.io.document import hold
from panel.io.state import set_curdoc
from panel.pane.holoviews import link_axes
from tornado.ioloop import IOLoop

__all__ = ["BACKLOG", "Backlog", "progressive"]

Job = Callable[[], None]
ListLike = TypeVar("ListLike", bound=pn.layout.ListLike)


class Backlog:
    """The deferred views of a server process, built while no session waits for its first view.

    A session is *waiting* from `opened` (its first view is being built) until `loaded` (its
    browser has drawn the page) or `closed`; one that waits longer than ``max_wait`` seconds
    (a page that never connects) stops holding the others back. Jobs run one at a time on the
    server's event loop, in the order the sessions loaded, each under its session's document
    lock, and never sooner than ``quiet`` seconds after a session was opened, so that sessions
    arriving in a burst are all created first.

    Args:
        quiet: seconds after the last `opened` before a job may start.
        max_wait: seconds after which a session that has not loaded no longer counts as waiting.
        submit: runs ``job`` in ``doc``'s session (default: its next tick, under its lock).
        later: calls ``fn`` after ``delay`` seconds on the server's loop (default: the loop of
            the last `opened`); tests pass their own.
    """

    def __init__(
        self,
        quiet: float = 0.2,
        max_wait: float = 30.0,
        submit: Callable[[Document, Job], None] | None = None,
        later: Callable[[float, Job], None] | None = None,
    ) -> None:
        self.quiet, self.max_wait = quiet, max_wait
        self._submit = submit or _next_tick
        self._later = later
        self._loop: IOLoop | None = None
        self._lock = threading.Lock()
        self._waiting: dict[int, float] = {}  # id of a document → when it was opened
        self._parked: set[int] = set()  # ids of documents built ahead of their page
        self._jobs: deque[tuple[Document, Job]] = deque()
        self._last_open = -float("inf")
        self._busy = False  # a job is submitted and has not finished
        self.done = 0  # jobs run so far (tests and benchmarks read it)
        self._last_done = -float("inf")

    def opened(self, doc: Document) -> None:
        """``doc``'s session is building its first view (call it on the server's loop)."""
        now = time.monotonic()
        loop = IOLoop.current() if self._later is None else None
        with self._lock:
            if loop is not self._loop:  # another server (tests start several): its state goes
                self._waiting.clear()
                self._parked.clear()
                self._jobs.clear()
                self._busy = False
            self._loop = loop
            self._waiting[id(doc)] = now
            self._last_open = now
        if doc.session_context is not None:
            doc.on_session_destroyed(lambda _: self.closed(doc))

    def loaded(self, doc: Document, jobs: Sequence[Job]) -> None:
        """``doc``'s browser has its first view; ``jobs`` build the rest, in order."""
        with self._lock:
            self._waiting.pop(id(doc), None)
            self._jobs.extend((doc, job) for job in jobs)
        self._wake(0.0)

    def park(self, doc: Document) -> None:
        """``doc``'s session was built ahead of time: it holds no one back until `resume`."""
        with self._lock:
            if self._waiting.pop(id(doc), None) is not None:
                self._parked.add(id(doc))
        self._wake(0.0)

    def resume(self, doc: Document) -> None:
        """A parked ``doc`` was handed to a page: it waits for its first view again."""
        now = time.monotonic()
        with self._lock:
            if id(doc) in self._parked:
                self._parked.discard(id(doc))
                self._waiting[id(doc)] = now
                self._last_open = now

    def closed(self, doc: Document) -> None:
        """``doc``'s session is gone: it waits no more and its jobs are dropped."""
        with self._lock:
            self._waiting.pop(id(doc), None)
            self._parked.discard(id(doc))
            self._jobs = deque(item for item in self._jobs if item[0] is not doc)
        self._wake(0.0)

    @property
    def waiting(self) -> int:
        """Sessions still waiting for their first view (those past ``max_wait`` left out)."""
        oldest = time.monotonic() - self.max_wait
        with self._lock:
            return sum(t >= oldest for t in self._waiting.values())

    @property
    def idle_s(self) -> float:
        """Seconds since the last job finished (infinite before the first)."""
        return time.monotonic() - self._last_done

    @property
    def pending(self) -> int:
        """Jobs not started yet."""
        with self._lock:
            return len(self._jobs)

    def _wake(self, delay: float) -> None:
        if self._later is not None:
            self._later(delay, self._next)
        elif self._loop is not None:  # thread-safe; a short timer lets waiting I/O go first
            loop = self._loop
            loop.add_callback(lambda: loop.call_later(max(delay, 0.005), self._next))

    def _next(self) -> None:
        with self._lock:
            if self._busy or not self._jobs:
                return
            wait = self._last_open + self.quiet - time.monotonic()
        if self.waiting:  # `loaded`/`closed` wake the backlog again
            self._wake(1.0)  # and so does time, for a page that never loads
            return
        if wait > 0:
            self._wake(wait)
            return
        with self._lock:
            doc, job = self._jobs.popleft()
            self._busy = True

        def run() -> None:
            try:
                job()
            finally:
                with self._lock:
                    self._busy = False
                    self.done += 1
                    self._last_done = time.monotonic()
                self._wake(0.0)

        try:
            self._submit(doc, run)
        except Exception:  # the session ended between the check and the submit
            with self._lock:
                self._busy = False
            self._wake(0.0)


def _next_tick(doc: Document, job: Job) -> None:
    def run() -> None:
        # Panel's current document, as in an `onload` callback; the job's changes (a new map
        # and its linked ranges) reach the browser as one patch, in order
        with set_curdoc(doc), hold(doc):
            job()

    with set_curdoc(doc):
        pn.state.execute(run, schedule=True)


BACKLOG = Backlog()


def progressive(
    builders: Sequence[Callable[[], pn.viewable.Viewable]],
    height: int,
    container: Callable[..., ListLike],
) -> ListLike:
    """``container(*views)`` of ``builders``' views: the first built now, the others by the
    process's `BACKLOG` once the page has loaded, each shown meanwhile as a loading placeholder
    ``height`` px high (``container`` may add views of its own around them)."""
    first, *rest = builders
    spacers = [pn.Spacer(height=height, sizing_mode="stretch_width", loading=True) for _ in rest]
    box = container(first(), *spacers)
    doc = pn.state.curdoc
    served = doc is not None and doc.session_context is not None and not pn.state.loaded

    def fill(spacer: pn.Spacer, build: Callable[[], pn.viewable.Viewable]) -> None:
        objects = list(box.objects)
        view = build()
        objects[next(i for i, o in enumerate(objects) if o is spacer)] = view
        box.objects = objects
        if view.select(pn.pane.HoloViews):
            link()

    def link() -> None:
        # Panel links the axes of HoloViews panes when a page is rendered; maps added to a
        # rendered page are linked here with the others of this box (shared pan/zoom), on this
        # session's root only
        for _, root, view_doc, _ in list(pn.state._views.values()):
            if view_doc is doc:
                link_axes(box, root)

    jobs: list[Job] = [functools.partial(fill, sp, b) for sp, b in zip(spacers, rest, strict=True)]

    def fill_all() -> None:
        for job in jobs:
            job()

    if not jobs:
        return box
    if not served or doc is None:
        pn.state.onload(fill_all)
        return box
    backlog = BACKLOG  # read at each call: tests put their own in its place
    backlog.opened(doc)
    pn.state.onload(lambda: backlog.loaded(doc, jobs))
    return box

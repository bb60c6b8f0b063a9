"""Warm a server process before its first session: ``panel serve … --setup dashboard/warm.py``.

``panel serve --warm`` runs the app once before the server starts, but with ``--num-procs N``
on Python < 3.12 Panel (1.9) skips that run (app code must not run before the fork), so every
process served its first session cold: ~15 s of CPU for imports, datashader's numba JIT and
the store's first reads, paid by the first pupil of each process. Panel runs a ``--setup``
script in every process after the fork (with one process, before the server starts); this one
builds a whole opening view, every map included, into a document of its own, loads the UNet
(the live ablations'), fills the process's `SessionPool` once the server runs (sessions of the
bare link built ahead of a class: ``$MELTWATER_SESSION_POOL`` per process) and then logs
``meltwater: process <pid> warmed`` (what `benchmarks.load` waits for).
"""

from __future__ import annotations

import os
import time

import panel as pn
from bokeh.document import Document
from panel.io.state import set_curdoc
from tornado.ioloop import IOLoop

from meltwater.errors import MeltwaterError
from meltwater.schema import pred_var
from meltwater_dashboard import progressive
from meltwater_dashboard.app import build_app
from meltwater_dashboard.opening import open_story
from meltwater_dashboard.session_pool import SessionPool, pool_size, served_apps
from meltwater_dashboard.state import DashboardState

__all__ = ["WARMED", "start_pool", "warm"]

WARMED = "meltwater: process {pid} warmed in {seconds:.1f} s, {pooled} pooled sessions"


def warm() -> str | None:
    """Build the opening view once in this process (its caches stay warm).

    Returns:
        None when warm, else the log line that says why not.
    """
    try:
        doc = Document()
        with set_curdoc(doc):
            state = DashboardState()
            open_story(state)
            build_app(state).get_root(doc)  # outside a session every map is built at once
            if pred_var("unet") in state.cube:  # loaded now, not in a thread that competes
                state.store.unet(state.source)  # with the first sessions for the CPU
    except MeltwaterError as e:  # the served page shows the error; the server still starts
        return f"meltwater: process {os.getpid()} not warmed: {e}"
    return None


def start_pool(size: int, t0: float) -> None:
    """Once this process's server runs: fill a pool of ``size`` sessions, then log `WARMED`."""
    pool = SessionPool(
        size,
        busy=lambda: (
            progressive.BACKLOG.waiting > 0
            or progressive.BACKLOG.pending > 0
            or progressive.BACKLOG.idle_s < pool.idle_s
        ),
        on_built=lambda doc: progressive.BACKLOG.park(doc),
        on_handed_out=lambda doc: progressive.BACKLOG.resume(doc),
    )

    async def start() -> None:
        if size:
            pn.state.param.watch(lambda _: pool.touch(), "busy")  # a session's event: not idle
            servers = served_apps()
            if len(servers) != 1:
                raise RuntimeError(f"session pool: {len(servers)} Bokeh servers in this process")
            pool.attach(servers[0])
            await pool.fill()
            pool.watch_age()
        pid, seconds = os.getpid(), time.perf_counter() - t0
        print(WARMED.format(pid=pid, seconds=seconds, pooled=pool.ready), flush=True)

    IOLoop.current().add_callback(start)


if __name__ in ("__main__", "panel_setup_module"):
    started = time.perf_counter()
    failed = warm()
    if failed:
        print(failed, flush=True)
    else:
        start_pool(pool_size(), started)

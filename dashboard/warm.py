"""Warm a server process before its first session: ``panel serve … --setup dashboard/warm.py``.

``panel serve --warm`` runs the app once before the server starts, but with ``--num-procs N``
on Python < 3.12 Panel (1.9) skips that run (app code must not run before the fork), so every
process served its first session cold: ~15 s of CPU for imports, datashader's numba JIT and
the store's first reads, paid by the first pupil of each process. Panel runs a ``--setup``
script in every process after the fork (with one process, before the server starts); this one
builds a whole opening view, every map included, into a document of its own, loads the UNet
(the live ablations') and logs
``meltwater: process <pid> warmed`` (what `benchmarks.load` waits for).
"""

from __future__ import annotations

import os
import time

from bokeh.document import Document
from panel.io.state import set_curdoc

from meltwater.errors import MeltwaterError
from meltwater.schema import pred_var
from meltwater_dashboard.app import build_app
from meltwater_dashboard.opening import open_story
from meltwater_dashboard.state import DashboardState

__all__ = ["WARMED", "warm"]

WARMED = "meltwater: process {pid} warmed in {seconds:.1f} s"


def warm() -> str:
    """Build the opening view once in this process (its caches stay warm); the log line."""
    t0 = time.perf_counter()
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
    return WARMED.format(pid=os.getpid(), seconds=time.perf_counter() - t0)


if __name__ in ("__main__", "panel_setup_module"):
    print(warm(), flush=True)

"""What one served session costs the server, part by part (docs/reliability.md, "Serving a class").

Serves ``dashboard/app.py`` in this process (the Bokeh server's IOLoop on the main thread, as
``panel serve`` without ``--num-threads``) and opens sessions one after the other with the load
test's websocket clients (`load_ws`, each in a thread of its own): a session is pulled, told
that the page is drawn (``DocumentReady``: the deferred maps) and followed until its whole
opening view has arrived. The server thread's CPU time of each session is
split by a sampling profiler (`Sampler`) into session creation (the app script), document
serialisation (the pulled page), the deferred maps (`progressive.Backlog`) and the patches sent, and
the functions that cost most are listed. Background threads (prefetch, UNet preload) are not
counted.

Usage: python -m benchmarks.session_cost [--sessions 3] [--top 30] [--under FUNCTION]
       [--data-root DIR]
The last session is reported (the first pays the process's imports and JIT compilation).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (label, file suffix, function name) whose cumulative thread CPU is one part of a session
PARTS = (
    ("session creation (app script)", "bokeh/application/application.py", "initialize_document"),
    ("  build_app", "dashboard/app.py", "build_app"),
    ("  sidebar", "views/sidebar.py", "sidebar"),
    ("  opening story day", "meltwater_dashboard/opening.py", "open_story"),
    ("  Maps tab built", "views/swipe.py", "maps_tab"),
    ("  get_root (Bokeh models)", "panel/viewable.py", "get_root"),
    ("document serialisation", "bokeh/document/document.py", "to_json"),
    ("onload work", "panel/io/state.py", "_on_load"),
    ("deferred maps (backlog jobs)", "dashboard/progressive.py", "fill"),
    ("  maps built (map_panel)", "views/maps.py", "map_panel"),
    ("  axes linked", "panel/pane/holoviews.py", "link_axes"),
    ("HoloViews plot renders", "holoviews/plotting/bokeh/element.py", "initialize_plot"),
    ("DynamicMap callbacks (image)", "views/maps.py", "image"),
    ("regrid (datashader)", "holoviews/operation/datashader.py", "_process"),
    ("patch messages built", "bokeh/protocol/messages/patch_doc.py", "create"),
)


IDLE = ("selectors.py", "select")  # the server's IOLoop waiting for messages


class Sampler:
    """Samples one thread's Python stack every ``interval`` s while on (a statistical profiler:
    unlike cProfile it does not slow the many small calls of Bokeh's property system, so the
    shares are those of the unprofiled server). Samples where the thread waits are dropped."""

    def __init__(self, ident: int, interval: float = 0.002) -> None:
        self.ident, self.interval = ident, interval
        self.stacks: Counter[tuple[tuple[str, str], ...]] = Counter()
        self._on = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self._on.wait()
            frame = sys._current_frames().get(self.ident)
            stack = []
            while frame is not None:
                stack.append((frame.f_code.co_filename, frame.f_code.co_name))
                frame = frame.f_back
            if stack and stack[0][1] != IDLE[1]:
                self.stacks[tuple(stack)] += 1
            time.sleep(self.interval)

    def start(self) -> None:
        self.stacks.clear()
        self._on.set()

    def stop(self) -> None:
        self._on.clear()

    def share(self, suffix: str, name: str) -> tuple[float, int]:
        """Share of the busy samples with a frame of ``name`` in a file ending ``suffix``."""
        hit = sum(
            n
            for stack, n in self.stacks.items()
            if any(f == name and path.endswith(suffix) for path, f in stack)
        )
        total = sum(self.stacks.values())
        return (hit / total if total else 0.0), hit

    def top(self, n: int, under: str = "") -> list[tuple[str, float]]:
        """The ``n`` functions in most busy samples (inclusive), as (``file:function``, share);
        with ``under`` (a function name) only in samples within that function."""
        seen: Counter[str] = Counter()
        for stack, k in self.stacks.items():
            if under and not any(f == under for _, f in stack):
                continue
            for key in {f"{_short(path)}:{f}" for path, f in stack}:
                seen[key] += k
        total = sum(self.stacks.values()) or 1
        return [(key, k / total) for key, k in seen.most_common(n)]


def _short(path: str) -> str:
    return path.split("site-packages/")[-1].split(str(ROOT) + "/")[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=3)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--under", default="", help="list only the functions under this one")
    p.add_argument("--data-root", default=os.environ.get("MELTWATER_DATA", str(ROOT / "data")))
    args = p.parse_args()
    os.environ["MELTWATER_DATA"] = args.data_root
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from panel.io.server import get_server
    from tornado.ioloop import IOLoop

    from benchmarks.load import free_port
    from benchmarks.load_ws import run_clients

    port = free_port()
    loop = IOLoop.current()
    server = get_server(
        {"app": str(ROOT / "dashboard" / "app.py")},
        port=port,
        address="127.0.0.1",
        websocket_origin=f"127.0.0.1:{port}",
        loop=loop,
        start=False,
        show=False,
    )
    server.start()
    url = f"http://127.0.0.1:{port}/app"
    reports: list[str] = []

    def on_loop(fn) -> None:
        done = threading.Event()
        loop.add_callback(lambda: (fn(), done.set()))
        done.wait()

    sampler = Sampler(threading.main_thread().ident)

    def drive() -> None:
        try:
            for k in range(args.sessions):
                clock: list[float] = []
                on_loop(lambda clock=clock: (clock.append(time.thread_time()), sampler.start()))
                t0 = time.perf_counter()
                (r,) = run_clients(url, 1, 0.0)
                wall = time.perf_counter() - t0
                on_loop(lambda clock=clock: (clock.append(time.thread_time()), sampler.stop()))
                own = clock[1] - clock[0]
                reports.append(_report(k + 1, sampler, r, wall, own, args.top, args.under))
        finally:
            loop.add_callback(loop.stop)

    threading.Thread(target=drive, daemon=True).start()
    loop.start()
    print(reports[-1])


def _report(n: int, sampler: Sampler, r, wall: float, own: float, top: int, under: str) -> str:
    lines = [
        f"session {n}: interactive map {r.load_s or float('nan'):.2f} s, whole view "
        f"{r.page_s or float('nan'):.2f} s (client side), {wall:.2f} s in all; errors "
        f"{r.errors or 'none'}",
        f"server thread CPU {1000 * own:.0f} ms ({sum(sampler.stacks.values())} busy samples)",
    ]
    for label, suffix, name in PARTS:
        share, _ = sampler.share(suffix, name)
        lines.append(f"  {label:34s} {1000 * share * own:7.0f} ms")
    lines.append(f"functions in most busy samples (inclusive){' under ' + under if under else ''}:")
    lines += [f"  {1000 * share * own:7.0f} ms  {key}" for key, share in sampler.top(top, under)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Load test: N concurrent sessions scrub days on a served dashboard.

Starts ``panel serve dashboard/app.py`` on 127.0.0.1 (a free port) over the data directory
given (default: the project's ``data/``, i.e. the demo after ``make demo``), opens one session
alone (its time to an interactive map), then N sessions at once (a class at the start of a
lesson: each one's time to an interactive map and to the whole opening view, p50/p95/max) and,
when all have loaded, lets every session step the day for a fixed time. Sessions are
protocol-level websocket clients by default (``--clients proto``, see `load_proto`: they send
what BokehJS sends and keep the document as JSON, so the clients on this machine cost little
next to the server, as a classroom's browsers on their own machines do), Bokeh client sessions
(``--clients ws``, `load_ws`: each builds the document's models in Python, ~0.6 s of CPU a
session in one process) or headless pages in one Debian chromium (``--clients browser``: steps
with the slider's arrow key). Reports steps, errors by kind
(client exceptions, disconnects, steps that never arrive, browser console/page errors, failed
or off-machine requests, server tracebacks), the server's peak RSS and the latency of a step
(new day → its heading, and for proto/ws clients the prediction map's image, have arrived: a
server round trip) at p50/p95.

Usage: python -m benchmarks.load [--clients proto|ws|browser] [--sessions 30] [--seconds 20]
       [--num-procs N] [--num-threads N] [--no-lone] [--pool N] [--data-root DIR]
Prints the load average at the start and the end: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import psutil
from playwright.async_api import async_playwright

from meltwater.resources import POOL_ENV

ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ("proto", "ws", "browser")
CHROMIUM = "/usr/bin/chromium"
DAY_HEADING = re.compile(r"\d{2} \w{3} \d{4}")  # the shown day, e.g. "10 Jun 2019"
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# the other option `make serve` adds (besides the warm-up that `PanelServer` always gives): a
# page's session waits 2 min for its websocket (a busy server opens them late)
SERVE_ARGS = ("--unused-session-lifetime", "120000")
WARMED = "meltwater: process "  # the line each process logs once warm.py has run


def _pct(values: list[float]) -> str:
    if not values:
        return "none"
    v = np.array(values)
    p50, p95 = np.percentile(v, 50), np.percentile(v, 95)
    return f"p50 {p50:.1f} / p95 {p95:.1f} / max {v.max():.1f} s"


@dataclass
class LoadReport:
    """What one load run measured."""

    sessions: int
    seconds: float
    clients: str = "browser"
    steps: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    load_s: list[float] = field(default_factory=list)
    page_s: list[float] = field(default_factory=list)
    lone_load_s: list[float] = field(default_factory=list)
    lone_page_s: list[float] = field(default_factory=list)
    lone_cpu_s: float = np.nan
    cpu_per_session: list[float] = field(default_factory=list)
    cpu_to_interactive: list[float] = field(default_factory=list)
    client_cpu_to_interactive: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    start_rss_mb: float = 0.0
    loadavg: tuple[float, float] = (np.nan, np.nan)

    def summary(self) -> str:
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        lines = []
        if self.lone_load_s:
            lines.append(
                f"lone session: interactive map in {_pct(self.lone_load_s)}; "
                f"whole opening view {_pct(self.lone_page_s)}; "
                f"server CPU {self.lone_cpu_s:.2f} s"
            )
        lines.append(
            f"{self.sessions} {self.clients} sessions opened at once: interactive map in "
            f"{_pct(self.load_s)}; whole opening view {_pct(self.page_s)}"
            + "".join(f"; server CPU {c:.2f} s per session" for c in self.cpu_per_session)
            + "".join(
                f" ({c:.2f} s of it until every session had its interactive map)"
                for c in self.cpu_to_interactive
            )
            + "".join(
                f"; the clients' own CPU until then {c:.2f} s per session (same machine)"
                for c in self.client_cpu_to_interactive
            )
        )
        if self.lone_load_s and self.load_s:
            ratio = np.percentile(self.load_s, 95) / np.median(self.lone_load_s)
            lines.append(f"  p95 of {self.sessions} / lone: {ratio:.1f}x")
        lines.append(
            f"then {self.seconds:.0f} s of scrubbing: {self.steps} day steps, "
            f"{len(self.errors)} errors; step latency p50 {np.percentile(lat, 50):.0f} ms, "
            f"p95 {np.percentile(lat, 95):.0f} ms; server RSS {self.start_rss_mb:.0f} MB at the "
            f"end, peak {self.peak_rss_mb:.0f} MB"
        )
        lines.append(
            f"load average (1 min) {self.loadavg[0]:.1f} at the start, {self.loadavg[1]:.1f} "
            f"at the end, on {os.cpu_count()} cores"
        )
        return "\n".join(lines)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(proc: psutil.Process) -> float:
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20


class PanelServer:
    """``panel serve`` of the dashboard in a subprocess, with its log collected and RSS sampled.

    Args:
        data_root: the data directory the app reads (``MELTWATER_DATA``).
        port: a free port on 127.0.0.1.
        serve_args: further ``panel serve`` options (``--setup dashboard/warm.py`` is always
            given: each process logs `WARMED` once warm).
        pool: sessions each process builds ahead of its pages (``$MELTWATER_SESSION_POOL``;
            None: the app's default).
    """

    def __init__(
        self, data_root: Path, port: int, serve_args: tuple[str, ...] = (), pool: int | None = None
    ):
        self.url = f"http://127.0.0.1:{port}/app"
        env = {**os.environ, "MELTWATER_DATA": str(data_root), "HF_HUB_OFFLINE": "1"}
        if pool is not None:
            env[POOL_ENV] = str(pool)
        cmd = [
            sys.executable,
            "-m",
            "panel",
            "serve",
            str(ROOT / "dashboard" / "app.py"),
            "--address",
            "127.0.0.1",
            "--port",
            str(port),
            "--allow-websocket-origin",
            f"127.0.0.1:{port}",
            "--setup",  # every process warmed, as `make serve` does: `wait_ready` waits for it
            str(ROOT / "dashboard" / "warm.py"),
            *serve_args,
        ]
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.log: list[str] = []
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._sample, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.log.append(line.rstrip())

    def _sample(self) -> None:
        ps = psutil.Process(self.proc.pid)
        while not self._stop.is_set() and self.proc.poll() is None:
            self.peak = max(self.peak, _rss_mb(ps))
            time.sleep(0.2)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server and its worker processes have used."""
        procs = [psutil.Process(self.proc.pid)]
        procs += procs[0].children(recursive=True)
        return sum(sum(p.cpu_times()[:2]) for p in procs if p.is_running())

    def rss(self) -> float:
        return _rss_mb(psutil.Process(self.proc.pid))

    def wait_ready(self, procs: int = 1, timeout: float = 300) -> None:
        """Wait until the server listens and each of its ``procs`` processes is warm."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("panel serve exited:\n" + "\n".join(self.log[-20:]))
            warm = sum(line.startswith(WARMED) for line in self.log)
            if warm >= procs and any("Bokeh app running at" in line for line in self.log):
                return
            time.sleep(0.2)
        raise TimeoutError("panel serve did not start in time:\n" + "\n".join(self.log[-20:]))

    def stop(self) -> None:
        """Stop the server and its worker processes (``--num-procs`` forks them)."""
        self._stop.set()
        procs = [psutil.Process(self.proc.pid)]
        with contextlib.suppress(psutil.NoSuchProcess):
            procs += procs[0].children(recursive=True)
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _, alive = psutil.wait_procs(procs, timeout=10)
        for p in alive:
            p.kill()
        self.proc.wait()


async def _session(browser, url: str, start: asyncio.Barrier, report: LoadReport) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    page.on("console", lambda m: m.type == "error" and report.errors.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: report.errors.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: report.errors.append(f"request failed: {r.url}"))
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
            else report.errors.append(f"request left the machine: {r.url}")
        ),
    )
    t0 = time.perf_counter()
    await page.goto(url, timeout=600_000)
    heading = page.locator("h3").filter(has_text=DAY_HEADING).first  # the day control's
    handle = page.locator(".noUi-handle").first
    await handle.wait_for(timeout=600_000)
    report.load_s.append(time.perf_counter() - t0)
    await page.wait_for_timeout(2000)  # let BokehJS finish wiring the widgets
    await handle.focus()
    await start.wait()
    until = time.monotonic() + report.seconds
    while time.monotonic() < until:
        before = await heading.inner_text()
        t0 = time.perf_counter()
        await handle.press("ArrowRight")
        deadline = time.monotonic() + 30
        while await heading.inner_text() == before and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if time.monotonic() >= deadline:  # a step that never arrives is an error, not a hang
            report.errors.append("timeout: step did not arrive within 30 s")
            continue
        report.latencies_ms.append(1000 * (time.perf_counter() - t0))
        report.steps += 1


async def _drive(url: str, sessions: int, report: LoadReport, done) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        start = asyncio.Barrier(sessions)  # every session scrubs at the same time
        await asyncio.gather(*[_session(browser, url, start, report) for _ in range(sessions)])
        done()  # the scrubbing is over; what follows (closing sessions) is not under test
        await browser.close()


def _drive_ws(
    url: str, sessions: int, report: LoadReport, on_loaded=None, on_interactive=None, proto=False
) -> None:
    from benchmarks.load_proto import run_proto_clients  # import panel: only these modes need it
    from benchmarks.load_ws import run_clients

    run = run_proto_clients if proto else run_clients
    for r in run(url, sessions, report.seconds, on_loaded, on_interactive):
        report.steps += r.steps
        report.latencies_ms += r.latencies_ms
        report.errors += r.errors
        if r.load_s is not None:
            report.load_s.append(r.load_s)
        if r.page_s is not None:
            report.page_s.append(r.page_s)


def _drive_any(
    url: str,
    sessions: int,
    report: LoadReport,
    clients: str,
    done,
    on_loaded=None,
    on_interactive=None,
) -> None:
    if clients in ("ws", "proto"):
        _drive_ws(url, sessions, report, on_loaded, on_interactive, proto=clients == "proto")
        done()
        return
    # A thread of its own: the caller may already run an event loop (pytest-playwright).
    driver = threading.Thread(target=lambda: asyncio.run(_drive(url, sessions, report, done)))
    driver.start()
    driver.join()


def run_load(
    data_root: Path,
    sessions: int = 30,
    seconds: float = 60,
    clients: Literal["proto", "ws", "browser"] = "proto",
    num_procs: int = 1,
    num_threads: int = 0,
    lone: bool = False,
    pool: int | None = None,
) -> LoadReport:
    """Serve the dashboard over ``data_root`` and drive ``sessions`` clients for ``seconds``.

    Args:
        data_root: the data directory the server reads (``MELTWATER_DATA``).
        sessions: how many sessions load and scrub at once.
        seconds: how long every session scrubs once all have loaded.
        clients: ``"proto"`` (protocol-level websocket clients, `load_proto`), ``"ws"``
            (Bokeh client sessions, `load_ws`) or ``"browser"`` (chromium pages).
        num_procs: ``panel serve --num-procs`` (server processes sharing the port).
        num_threads: ``panel serve --num-threads`` (0: none, callbacks on the event loop).
        lone: first open one session alone (after the server's warm-up) and time its load.
        pool: sessions each server process builds before the first page (`session_pool`).

    Returns:
        The measured `LoadReport`; server tracebacks logged while scrubbing count as errors.
    """
    if clients not in CLIENTS:
        raise ValueError(f"clients must be one of {CLIENTS}, got {clients!r}")
    port = free_port()
    extra = ("--num-procs", str(num_procs)) if num_procs > 1 else ()
    extra += ("--num-threads", str(num_threads)) if num_threads > 0 else ()
    server = PanelServer(Path(data_root), port, serve_args=SERVE_ARGS + extra, pool=pool)
    report = LoadReport(sessions, seconds, clients)
    start_load = os.getloadavg()[0]
    try:
        server.wait_ready(num_procs)
        url = server.url
        mark: list[int] = []
        if lone:
            alone = LoadReport(1, 0.0, clients)
            cpu = server.cpu_s()
            _drive_any(url, 1, alone, clients, lambda: None)
            report.lone_cpu_s = server.cpu_s() - cpu
            report.lone_load_s, report.lone_page_s = alone.load_s, alone.page_s
            report.errors += [f"lone {e}" for e in alone.errors]
        cpu = server.cpu_s()
        loaded = lambda: report.cpu_per_session.append((server.cpu_s() - cpu) / sessions)  # noqa: E731
        own = time.process_time()  # the clients' CPU (this process) competes with the server

        def interactive() -> None:
            report.cpu_to_interactive.append((server.cpu_s() - cpu) / sessions)
            report.client_cpu_to_interactive.append((time.process_time() - own) / sessions)

        done = lambda: mark.append(len(server.log))  # noqa: E731
        _drive_any(url, sessions, report, clients, done, loaded, interactive)
        report.start_rss_mb = server.rss()
        report.peak_rss_mb = server.peak
    finally:
        server.stop()
    report.loadavg = (start_load, os.getloadavg()[0])
    during = server.log[: mark[0]] if mark else server.log
    tracebacks = [line for line in during if "Traceback" in line or " ERROR" in line]
    report.errors += [f"server: {line}" for line in tracebacks]
    return report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", choices=CLIENTS, default="proto")
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--num-procs", type=int, default=1, help="panel serve --num-procs")
    p.add_argument("--num-threads", type=int, default=0, help="panel serve --num-threads")
    p.add_argument("--no-lone", action="store_true", help="skip the lone session first")
    p.add_argument(
        "--pool",
        type=int,
        default=None,
        help="sessions each process builds ahead (default: sessions / procs + 5; 0: none)",
    )
    p.add_argument("--data-root", default=os.environ.get("MELTWATER_DATA", str(ROOT / "data")))
    args = p.parse_args()
    report = run_load(
        Path(args.data_root),
        args.sessions,
        args.seconds,
        args.clients,
        args.num_procs,
        args.num_threads,
        lone=not args.no_lone,
        pool=args.sessions // args.num_procs + 5 if args.pool is None else args.pool,
    )
    print(report.summary())
    kinds = Counter(e.split(":")[0] for e in report.errors)
    for kind, n in kinds.most_common():
        print(f"  {n:5d} × {kind}")
    for e in dict.fromkeys(report.errors).keys():
        print("  error:", e[:200])


if __name__ == "__main__":
    main()

"""``meltwater serve``: ``panel serve`` of the installed dashboard app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["serve_command", "serve_env", "setup_serve"]


def serve_command(args: argparse.Namespace) -> list[str]:
    """The ``panel serve`` command line of the installed dashboard app."""
    from importlib.resources import files

    app = str(files("meltwater_dashboard") / "app.py")
    origins = [f"--allow-websocket-origin={h}:{args.port}" for h in ("localhost", args.address)]
    return [
        sys.executable,
        "-m",
        "panel",
        "serve",
        app,
        "--setup",
        str(files("meltwater_dashboard") / "warm.py"),
        "--unused-session-lifetime",
        "120000",
        "--address",
        args.address,
        "--port",
        str(args.port),
        *dict.fromkeys(origins),
        *(["--num-procs", str(args.num_procs)] if args.num_procs > 1 else []),
    ]


def serve_env(args: argparse.Namespace, environ: dict[str, str]) -> dict[str, str]:
    """The served processes' environment: the data root and the session pool's size."""
    from meltwater.resources import DATA_ENV, POOL_ENV

    env = dict(environ)
    if args.data_root:
        env[DATA_ENV] = str(Path(args.data_root).resolve())
    if args.pool is not None:
        env[POOL_ENV] = str(args.pool)
    return env


def _cmd_serve(args: argparse.Namespace) -> None:
    import os
    import subprocess

    raise SystemExit(subprocess.call(serve_command(args), env=serve_env(args, dict(os.environ))))


def _sessions(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of sessions ≥ 0, got {text!r}")
    return int(text)


def setup_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the dashboard (panel serve of the installed app)")
    p.add_argument("--address", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--num-procs", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--data-root", default=None, help="data directory (sets $MELTWATER_DATA)")
    p.add_argument(
        "--pool",
        type=_sessions,
        default=None,
        help="sessions each process builds before its first page, e.g. a class / --num-procs "
        "+ 5 (sets $MELTWATER_SESSION_POOL; default 2)",
    )
    p.set_defaults(func=_cmd_serve)

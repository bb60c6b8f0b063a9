"""``meltwater serve``: ``panel serve`` of the installed dashboard app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["serve_command", "setup_serve"]


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


def _cmd_serve(args: argparse.Namespace) -> None:
    import os
    import subprocess

    from meltwater.resources import DATA_ENV

    env = dict(os.environ)
    if args.data_root:
        env[DATA_ENV] = str(Path(args.data_root).resolve())
    raise SystemExit(subprocess.call(serve_command(args), env=env))


def setup_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the dashboard (panel serve of the installed app)")
    p.add_argument("--address", default="127.0.0.1", help="bind address (default: loopback)")
    p.add_argument("--port", type=int, default=5006)
    p.add_argument("--num-procs", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--data-root", default=None, help="data directory (sets $MELTWATER_DATA)")
    p.set_defaults(func=_cmd_serve)

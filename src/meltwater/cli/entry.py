"""The ``meltwater`` command. Each subcommand is a small function registered in `COMMANDS`."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Callable

from meltwater.cli.data import setup_cube, setup_demo, setup_download
from meltwater.cli.evaluate import setup_evaluate
from meltwater.cli.precompute import setup_precompute
from meltwater.cli.serve import setup_serve
from meltwater.cli.train import setup_train
from meltwater.errors import MeltwaterError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    setup_demo,
    setup_download,
    setup_cube,
    setup_evaluate,
    setup_train,
    setup_precompute,
    setup_serve,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meltwater", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="full tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True)
    for setup in COMMANDS:
        setup(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear line and exit 2 (tracebacks with --verbose)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if not args.verbose:  # the hub client logs every HTTP request at INFO
        for name in ("httpx", "httpx2", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        args.func(args)
    except (MeltwaterError, FileNotFoundError) as e:
        if args.verbose:
            raise
        print(f"meltwater {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # full disk, read-only or forbidden folder, I/O error
        if args.verbose:
            raise
        print(f"meltwater {args.command}: error: {_os_error(e)}", file=sys.stderr)
        return 2
    return 0


_OS_ERRORS = {
    errno.ENOSPC: ("no space left on the device", "free some space or use another --data-root"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or use another --data-root"),
    errno.EROFS: ("read-only file system", "use a writable --data-root (or $MELTWATER_DATA)"),
    errno.EACCES: ("permission denied", "use a writable --data-root (or $MELTWATER_DATA)"),
    errno.EPERM: ("operation not permitted", "use a writable --data-root (or $MELTWATER_DATA)"),
}


def _os_error(e: OSError) -> str:
    """One line for an OSError: the path, what went wrong and what to do."""
    what, hint = _OS_ERRORS.get(e.errno or 0, (e.strerror or str(e), ""))
    line = f"{e.filename or '(no path given)'}: {what}"
    return f"{line}; {hint}" if hint else line

"""The ``meltwater`` command (`main`): one module per subcommand, wired in `entry`."""

from meltwater.cli.entry import main

__all__ = ["main"]

"""``python -m meltwater.cli``: the ``meltwater`` command."""

import sys

from meltwater.cli.entry import main

sys.exit(main())

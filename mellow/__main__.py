"""``python -m mellow``: the same as the ``mellow`` command."""

import sys

from mellow.cli.main import main

sys.exit(main())

"""``python -m mellow.cli``: the same as the ``mellow`` command."""

import sys

from mellow.cli.main import main

sys.exit(main())

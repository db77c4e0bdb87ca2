"""Start Mellow Desktop: ``python main.py [clip_a] [clip_b]``."""

from mellow_desktop.qt.app import main

raise SystemExit(main())

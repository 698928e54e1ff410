"""``python -m qruntime_session`` runs the command-line interface."""

import sys

from ._cli import main

sys.exit(main())

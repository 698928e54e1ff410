"""``python -m benchmarks``: see benchmarks/suite.py and docs/performance.md."""

import sys

from benchmarks.suite import main

sys.exit(main())

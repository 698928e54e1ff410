"""numpy is a dependency, but ``import qruntime_session`` does not load it: the primitives
load when one of their names is first used."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import qruntime_session
before = "numpy" in sys.modules
from qruntime_session import primitives
after_package = "numpy" in sys.modules
primitives.BitArray
print(json.dumps([before, after_package, "numpy" in sys.modules,
                  primitives.BitArray.__module__, sorted(set(primitives.__all__) - set(dir(primitives)))]))
"""


def test_numpy_loads_with_the_first_primitive() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    before, after_package, after_use, module, missing = json.loads(done.stdout)
    assert (before, after_package, after_use) == (False, False, True)
    assert module == "qruntime_session.primitives"
    assert missing == []

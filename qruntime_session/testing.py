"""Helpers for testing code that uses ``qruntime_session``.

Retries and job polling wait between attempts. In a test suite those waits only slow things
down, so switch them off once, for example in ``conftest.py``:

```python
import pytest
from qruntime_session import testing

@pytest.fixture(autouse=True)
def _no_waiting():
    with testing.no_waiting(attempts=2):
        yield
```

While the testing mode is on:

* a retried request never waits (every backoff and every ``Retry-After`` counts as 0 s);
* each call makes at most ``attempts`` attempts (a policy allowing fewer keeps its own limit);
* ``Job.wait`` polls without pausing.

The switch is process-wide, like the one in *stamina* it is modelled on.
"""

from __future__ import annotations

from qruntime_session._retry import is_testing, no_waiting, set_testing

__all__ = ["is_testing", "no_waiting", "set_testing"]

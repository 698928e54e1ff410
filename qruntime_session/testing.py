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
* job polling pauses only briefly (1 ms, doubling up to 50 ms): it yields to the event loop,
  and so to an in-process emulator, instead of spinning;
* no job wait (``Job.wait``/``Job.result``, ``wait_all``, ``as_completed``, ``Job.statuses``)
  lasts longer than ``deadline`` seconds (default ``DEFAULT_TESTING_DEADLINE``, 5 s): a
  job that nothing finishes -- say the emulator holds it (``queue_seconds=None``) on a
  manual clock -- ends in [`JobTimeoutError`][qruntime_session.errors.JobTimeoutError]
  naming the job and its status, instead of hanging the test run.

The switch is process-wide, like the one in *stamina* it is modelled on.
"""

from __future__ import annotations

from qruntime_session._retry import (
    DEFAULT_TESTING_DEADLINE,
    is_testing,
    no_waiting,
    set_testing,
    testing_deadline,
)

__all__ = [
    "DEFAULT_TESTING_DEADLINE",
    "is_testing",
    "no_waiting",
    "set_testing",
    "testing_deadline",
]

"""A local emulator of IBM's Qiskit Runtime REST API (sessions, jobs, backends) and IAM.

Written from IBM's published documents, independently of the client: nothing in this
package imports the rest of ``qruntime_session``. See ``docs/emulator.md``.

>>> async with run_emulator(EmulatorConfig(queue_seconds=None)) as emu:   # doctest: +SKIP
...     emu.base_url, emu.token, emu.service_crn
...     emu.faults.add("create_job", nth=1, status=503, headers={"Retry-After": "2"})
...     emu.finish_job(job_id, JobOutcome.failed("boom", reason_code=1517))
"""

from ._access import API_VERSIONS, ApiVersion
from ._app import load_openapi
from ._backends import DEFAULT_DEVICES, BackendSpec
from ._clock import Clock, ManualClock, SystemClock
from ._config import DEFAULT_SERVICE_CRN, EmulatorConfig
from ._emulator import EMULATOR_KEY, Emulator, create_app, run_emulator, serve
from ._faults import OPERATIONS, Fault, FaultPlan
from ._gateway import MORE_INFO_URL, TRACE_HEADER
from ._records import RecordedRequest
from ._state import JobOutcome
from ._thread import emulator_thread

__all__ = [
    "API_VERSIONS",
    "DEFAULT_DEVICES",
    "DEFAULT_SERVICE_CRN",
    "EMULATOR_KEY",
    "MORE_INFO_URL",
    "OPERATIONS",
    "TRACE_HEADER",
    "ApiVersion",
    "BackendSpec",
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultPlan",
    "JobOutcome",
    "ManualClock",
    "RecordedRequest",
    "SystemClock",
    "create_app",
    "emulator_thread",
    "load_openapi",
    "run_emulator",
    "serve",
]

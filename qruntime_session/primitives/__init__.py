"""Quantum data: typed results of sampler and estimator jobs, and pubs going in.

``await job.result()`` for a ``sampler`` or ``estimator`` job returns a
:class:`PrimitiveResult` shaped like qiskit's, decoded in pure Python from either format the
service sends (plain JSON for ``"support_qiskit": false``, Qiskit-encoded JSON for ``true``)::

    result = await job.result()
    result[0].data.meas.get_counts()      # {'00': 518, '11': 506}
    result[0].data.evs                    # estimator: an NDArray shaped like the observables

``result.to_qiskit()`` converts to qiskit's own classes (``pip install
"qruntime-session[qiskit]"``). See ``docs/results.md``.
"""

from __future__ import annotations

from ..errors import ExtraNotInstalledError, ResultDecodeError
from ._arrays import NDArray
from ._containers import BitArray, DataBin, PrimitiveResult, PubResult, SamplerPubResult
from ._decode import decode_primitive_result
from ._jobs import EstimatorJob, SamplerJob
from ._pubs import estimator_params, sampler_params

__all__ = [
    "BitArray",
    "DataBin",
    "EstimatorJob",
    "ExtraNotInstalledError",
    "NDArray",
    "PrimitiveResult",
    "PubResult",
    "ResultDecodeError",
    "SamplerJob",
    "SamplerPubResult",
    "decode_primitive_result",
    "estimator_params",
    "sampler_params",
]


def _rename_exports() -> None:
    namespace = globals()
    for name in __all__:
        obj = namespace[name]
        if isinstance(obj, type) and obj.__module__.startswith(f"{__name__}._"):
            obj.__module__ = __name__


_rename_exports()

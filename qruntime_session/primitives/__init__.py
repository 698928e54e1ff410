"""Quantum data: typed results of sampler and estimator jobs, and pubs going in.

``await job.result()`` for a ``sampler`` or ``estimator`` job returns a
[`PrimitiveResult`][qruntime_session.primitives.PrimitiveResult] shaped like qiskit's, on numpy,
decoded from either format the service sends (plain JSON for ``"support_qiskit": false``,
Qiskit-encoded JSON for ``true``):

```python
result = await job.result()
result[0].data.meas.get_counts()      # {'00': 518, '11': 506}
result[0].data.meas.array             # uint8, (*shape, shots, bytes), as qiskit stores it
result[0].data.evs                    # estimator: a numpy array shaped like the pub
```

``result.to_qiskit()`` wraps the same arrays in qiskit's own classes (the ``qiskit``
extra). See ``docs/results.md``.

numpy loads when one of these names is first used, not with ``import qruntime_session``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ..errors import ExtraNotInstalledError, ResultDecodeError

if TYPE_CHECKING:
    from numpy import ndarray as NDArray

    from ._bitarray import BitArray
    from ._containers import DataBin, PrimitiveResult, PubResult, SamplerPubResult
    from ._decode import decode_primitive_result
    from ._jobs import EstimatorJob, SamplerJob
    from ._pubs import estimator_params, sampler_params
    from ._wirearrays import DecodeLimits, get_decode_limits, set_decode_limits

__all__ = [
    "BitArray",
    "DataBin",
    "DecodeLimits",
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
    "get_decode_limits",
    "sampler_params",
    "set_decode_limits",
]

_WHERE = {
    "BitArray": "._bitarray",
    "DataBin": "._containers",
    "DecodeLimits": "._wirearrays",
    "EstimatorJob": "._jobs",
    "PrimitiveResult": "._containers",
    "PubResult": "._containers",
    "SamplerJob": "._jobs",
    "SamplerPubResult": "._containers",
    "decode_primitive_result": "._decode",
    "estimator_params": "._pubs",
    "get_decode_limits": "._wirearrays",
    "sampler_params": "._pubs",
    "set_decode_limits": "._wirearrays",
}


def __getattr__(name: str) -> Any:
    if name == "NDArray":  # the array type of estimator values: numpy's own
        import numpy

        value: Any = numpy.ndarray
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name], __name__), name)
        if isinstance(value, type) and value.__module__.startswith(f"{__name__}._"):
            value.__module__ = __name__
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""The public surface: explicit exports, typed package, one place for aiohttp errors, no root logging."""

from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

import qruntime_session
from qruntime_session import errors

PACKAGE = Path(qruntime_session.__file__).parent

EXPECTED_EXPORTS = {
    "APIStatusError",
    "AuthenticationError",
    "BackendConfiguration",
    "BackendInfo",
    "BackendStatus",
    "BadRequestError",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "ExtraNotInstalledError",
    "InvalidInputError",
    "Job",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobInfo",
    "JobMetrics",
    "JobResultUnavailableError",
    "JobState",
    "JobStatus",
    "JobTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "QRuntimeError",
    "QRuntimeWarning",
    "QueuedJobsDroppedWarning",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ResultDecodeError",
    "RetryPolicy",
    "RuntimeClient",
    "ServerError",
    "Session",
    "SessionDetails",
    "SessionMode",
    "SessionState",
    "SessionStateError",
    "SubmissionUnknownError",
    "Timeouts",
    "TransportError",
    "UnexpectedStatusError",
    "UsageError",
    "WaitProgress",
    "__version__",
    "as_completed",
    "errors",
    "primitives",
}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def test_all_is_sorted_explicit_and_pinned() -> None:
    """__all__ is sorted, matches the pinned list, and every name in it exists."""
    exported = qruntime_session.__all__
    assert exported == sorted(exported)
    assert set(exported) == EXPECTED_EXPORTS
    for name in exported:
        assert hasattr(qruntime_session, name), name


def test_exported_classes_read_as_the_public_module() -> None:
    """Exported classes implemented in private modules report qruntime_session as their module."""
    for name in qruntime_session.__all__:
        obj = getattr(qruntime_session, name)
        if isinstance(obj, type) and obj.__module__.startswith("qruntime_session"):
            assert not obj.__module__.split(".")[-1].startswith("_"), (name, obj.__module__)


def test_version_comes_from_the_installed_metadata() -> None:
    """__version__ is the distribution's version, and py.typed ships with the package."""
    assert qruntime_session.__version__ == metadata.version("qruntime-session")
    assert (PACKAGE / "py.typed").exists()


def test_every_error_derives_from_the_one_root() -> None:
    """Every exception class in errors.py derives from QRuntimeError."""
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, errors.QRuntimeError), name


def test_private_modules_start_with_an_underscore() -> None:
    """Only the documented public modules lack a leading underscore."""
    public = {"__init__.py", "__main__.py", "errors.py", "testing.py", "pytest_plugin.py"}
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) == 1:
            assert rel.name in public or rel.name.startswith("_"), rel
        else:  # subpackages: emulator/, workflows/ expose only their __init__
            assert rel.name == "__init__.py" or rel.name.startswith("_"), rel


def _except_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names.update(
                ast.unparse(node.type).replace("(", " ").replace(")", " ").replace(",", " ").split()
            )
    return names


def test_aiohttp_client_errors_are_caught_in_one_place() -> None:
    """Outside the transport (and the server-side emulator), no code catches aiohttp exceptions."""
    for path in _modules():
        rel = path.relative_to(PACKAGE)
        if rel.name == "_transport.py" or rel.parts[0] == "emulator":
            continue
        caught = _except_names(ast.parse(path.read_text(encoding="utf-8")))
        assert not [n for n in caught if n.startswith("aiohttp.")], rel


def test_the_library_never_configures_root_logging() -> None:
    """No module calls logging.basicConfig or touches the root logger (the CLI only adds its own handler)."""
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                text = ast.unparse(node.func)
                assert text not in {"logging.basicConfig", "basicConfig"}, path
                if text == "logging.getLogger":
                    assert node.args, f"{path}: getLogger() without a name is the root logger"
                    arg = node.args[0]
                    if isinstance(arg, ast.Constant):
                        assert str(arg.value).startswith("qruntime_session"), path


def test_primitives_subpackage_exports_are_pinned() -> None:
    """qruntime_session.primitives has its own sorted __all__, read as the public module."""
    from qruntime_session import primitives

    assert primitives.__all__ == sorted(primitives.__all__)
    assert set(primitives.__all__) == {
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
    }
    for name in primitives.__all__:
        obj = getattr(primitives, name)
        if isinstance(obj, type):
            assert not obj.__module__.split(".")[-1].startswith("_"), (name, obj.__module__)


def test_emulator_subpackage_exports_are_pinned() -> None:
    """qruntime_session.emulator's public names are pinned (its own tests check their order)."""
    from qruntime_session import emulator

    assert set(emulator.__all__) == {
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
    }

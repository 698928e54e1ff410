"""The project's OpenAPI descriptions: well-formed, and obeyed by every emulator answer."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
import yaml

from qruntime_session.emulator import Emulator, EmulatorConfig, JobOutcome, ManualClock

from .emu_support import SPEC_FILES, Client, Reply, ResponseChecker, load_spec

EXPECTED_OPERATIONS = {
    "sessions": {
        ("post", "/v1/sessions"): "create_session",
        ("get", "/v1/sessions/{id}"): "get_session",
        ("patch", "/v1/sessions/{id}"): "update_session",
        ("delete", "/v1/sessions/{id}/close"): "delete_session_close",
    },
    "jobs": {
        ("post", "/v1/jobs"): "create_job",
        ("get", "/v1/jobs"): "list_jobs",
        ("get", "/v1/jobs/{id}"): "get_job",
        ("get", "/v1/jobs/{id}/results"): "get_job_results_jid",
        ("post", "/v1/jobs/{id}/cancel"): "cancel_job_jid",
        ("get", "/v1/jobs/{id}/logs"): "get_jog_logs_jid",
        ("get", "/v1/jobs/{id}/metrics"): "get_job_metrics_jid",
        ("delete", "/v1/jobs/{id}"): "delete_job_jid",
        ("put", "/v1/jobs/{id}/tags"): "replace_job_tags",
    },
    "backends": {
        ("get", "/v1/backends"): "list_backends",
        ("get", "/v1/backends/{name}/configuration"): "get_backend_configuration",
        ("get", "/v1/backends/{name}/properties"): "get_backend_properties",
        ("get", "/v1/backends/{name}/status"): "get_backend_status",
    },
    "instances": {
        ("get", "/v1/instances/usage"): "get_usage",
    },
}
SPEC_NAMES = list(EXPECTED_OPERATIONS)


def _walk(node: Any) -> Any:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_has_exactly_the_operations(name: str) -> None:
    """Each description holds exactly its operations, at IBM's paths, on IBM's server."""
    spec = load_spec(name)
    assert spec["openapi"].startswith("3.0")
    assert spec["servers"][0] == {
        "url": "https://quantum.cloud.ibm.com/api",
        "description": spec["servers"][0]["description"],
    }
    found = {
        (method, path): operation["operationId"]
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters"
    }
    assert found == EXPECTED_OPERATIONS[name]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_refs_resolve_and_headers_are_defined(name: str) -> None:
    """Every $ref resolves; IBM-API-Version, Service-CRN and bearer auth are defined and used."""
    spec = load_spec(name)
    for node in _walk(spec):
        if isinstance(node, dict) and "$ref" in node:
            target: Any = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
    parameters = spec["components"]["parameters"]
    assert parameters["IBMAPIVersion"]["name"] == "IBM-API-Version"
    assert parameters["IBMAPIVersion"]["in"] == "header"
    assert parameters["ServiceCRN"]["name"] == "Service-CRN"
    scheme = spec["components"]["securitySchemes"]["IBMCloudIAMBearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"IBMCloudIAMBearer": []}]
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            refs = [p.get("$ref") for p in item.get("parameters", [])]
            refs += [p.get("$ref") for p in operation.get("parameters", [])]
            assert "#/components/parameters/IBMAPIVersion" in refs, operation["operationId"]
            assert "#/components/parameters/ServiceCRN" in refs, operation["operationId"]


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_spec_is_plain_yaml(name: str) -> None:
    """No anchors/aliases, and no unquoted date that YAML would turn into a date object."""
    text = SPEC_FILES[name].read_text(encoding="utf-8")
    events = list(yaml.parse(text))
    assert not any(getattr(event, "anchor", None) for event in events)
    assert not any(isinstance(event, yaml.AliasEvent) for event in events)
    spec = yaml.safe_load(text)
    assert not any(isinstance(node, datetime.date) for node in _walk(spec))
    assert re.search(r"^\s*example: \"2026-04-15\"$", text, re.MULTILINE)


@pytest.mark.parametrize(
    ("schema", "required"),
    [
        ("JobSession", {"id", "backend_name", "mode"}),
        ("JobResponse", {"id", "status", "state", "program", "created", "cost"}),
        ("JobsResponse", {"jobs", "offset", "limit"}),
        ("JobRunParams", {"program_id", "backend"}),
        ("JobCreateResponse", {"id", "backend"}),
        ("CreateSessionRequest", {"mode"}),
        ("UpdateSessionRequest", {"accepting_jobs"}),
        ("BackendsResponse", {"devices"}),
        ("Device", {"name", "status", "queue_length"}),
        (
            "BackendConfigurationResponse",
            {
                "backend_name",
                "backend_version",
                "basis_gates",
                "conditional",
                "coords",
                "coupling_map",
                "gates",
                "local",
                "memory",
                "n_qubits",
                "online_date",
                "u_channel_lo",
            },
        ),
        (
            "BackendPropertiesResponse",
            {"backend_name", "backend_version", "gates", "general", "last_update_date", "qubits"},
        ),
        ("BackendStatusResponse", {"length_queue"}),
        ("GetUsageResponse", {"instance_id", "plan_id", "usage_consumed_seconds"}),
    ],
)
def test_spec_schemas_require_ibms_fields(schema: str, required: set[str]) -> None:
    """The key schemas require the same fields as IBM's."""
    components: dict[str, Any] = {}
    for name in SPEC_NAMES:
        components.update(load_spec(name)["components"]["schemas"])
    assert set(components[schema]["required"]) == required


@pytest.fixture
def config(clock: ManualClock) -> EmulatorConfig:
    """Jobs are held so every status can be produced on purpose."""
    return EmulatorConfig(clock=clock, queue_seconds=None, run_seconds=None, job_rate_limit=50)


async def test_every_answer_conforms_to_the_spec(api: Client, emu: Emulator) -> None:
    """Successful and error answers of every operation match the declared status and schema."""
    checker = ResponseChecker()
    seen: set[tuple[str, int]] = set()

    async def check(operation: str, reply: Reply) -> Reply:
        checker.check(operation, reply)
        seen.add((operation, reply.status))
        return reply

    sampler = {"pubs": [["OPENQASM 3.0; bit[2] c;", None, 20]], "version": 2}
    session = (
        await check(
            "create_session",
            await api.call(
                "POST", "/v1/sessions", json_body={"mode": "batch", "backend": "ibm_kingston"}
            ),
        )
    ).body
    await check("create_session", await api.call("POST", "/v1/sessions", json_body={}))
    await check(
        "create_session",
        await api.call("POST", "/v1/sessions", json_body={}, headers={"Authorization": None}),
    )
    sid = session["id"]
    await check("get_session", await api.call("GET", f"/v1/sessions/{sid}"))
    await check("get_session", await api.call("GET", "/v1/sessions/missing"))
    await check(
        "get_session", await api.call("GET", f"/v1/sessions/{sid}", headers={"Service-CRN": None})
    )
    job_body = {
        "program_id": "sampler",
        "backend": "ibm_kingston",
        "session_id": sid,
        "params": sampler,
        "tags": ["t"],
        "runtime": "img:1",
        "calibration_id": "cal",
    }
    done = (await check("create_job", await api.call("POST", "/v1/jobs", json_body=job_body))).body
    failed = (
        await check("create_job", await api.call("POST", "/v1/jobs", json_body=job_body))
    ).body
    queued = (
        await check("create_job", await api.call("POST", "/v1/jobs", json_body=job_body))
    ).body
    private = (
        await check(
            "create_job",
            await api.call(
                "POST",
                "/v1/jobs",
                json_body={"program_id": "estimator", "backend": "ibm_kingston", "private": True},
            ),
        )
    ).body
    await check(
        "create_job", await api.call("POST", "/v1/jobs", json_body={"backend": "ibm_kingston"})
    )
    await check(
        "create_job",
        await api.call("POST", "/v1/jobs", json_body={**job_body, "session_id": "gone"}),
    )
    emu.faults.add("create_job", status=429)
    await check("create_job", await api.call("POST", "/v1/jobs", json_body=job_body))
    emu.start_job(done["id"])
    await check("get_job", await api.call("GET", f"/v1/jobs/{done['id']}"))
    await check("get_job_metrics_jid", await api.call("GET", f"/v1/jobs/{done['id']}/metrics"))
    emu.finish_job(done["id"])
    emu.finish_job(failed["id"], JobOutcome.failed())
    emu.finish_job(private["id"], JobOutcome.ran_too_long())
    for flag in (True, False):
        body = {**job_body, "params": {**sampler, "support_qiskit": flag}}
        made = (await check("create_job", await api.call("POST", "/v1/jobs", json_body=body))).body
        emu.finish_job(made["id"])
        await check("get_session", await api.call("GET", f"/v1/sessions/{sid}"))
        await check("get_job_metrics_jid", await api.call("GET", f"/v1/jobs/{made['id']}/metrics"))
        reply = await api.call("GET", f"/v1/jobs/{made['id']}/results")
        await check("get_job_results_jid", reply)
        assert ("__type__" in reply.body) is flag
    estimator = {
        "program_id": "estimator",
        "backend": "ibm_kingston",
        "params": {"pubs": [["OPENQASM 3.0; qubit[2] q;", ["ZZ", {"XX": 0.5}]]], "version": 2},
    }
    made = (await check("create_job", await api.call("POST", "/v1/jobs", json_body=estimator))).body
    emu.finish_job(made["id"])
    await check("get_job_results_jid", await api.call("GET", f"/v1/jobs/{made['id']}/results"))
    for job in (done, failed, queued, private):
        await check("get_job", await api.call("GET", f"/v1/jobs/{job['id']}"))
        await check("get_job_results_jid", await api.call("GET", f"/v1/jobs/{job['id']}/results"))
        await check("get_jog_logs_jid", await api.call("GET", f"/v1/jobs/{job['id']}/logs"))
        await check("get_job_metrics_jid", await api.call("GET", f"/v1/jobs/{job['id']}/metrics"))
    await check("get_job", await api.call("GET", "/v1/jobs/missing"))
    await check("get_job_results_jid", await api.call("GET", "/v1/jobs/missing/results"))
    await check("get_jog_logs_jid", await api.call("GET", "/v1/jobs/missing/logs"))
    await check("get_job_metrics_jid", await api.call("GET", "/v1/jobs/missing/metrics"))
    for params in ({}, {"exclude_params": "false"}, {"pending": "maybe"}):
        await check("list_jobs", await api.call("GET", "/v1/jobs", params=params))
    await check(
        "list_jobs", await api.call("GET", "/v1/jobs", headers={"Service-CRN": "crn:other"})
    )
    await check("cancel_job_jid", await api.call("POST", f"/v1/jobs/{queued['id']}/cancel"))
    await check("cancel_job_jid", await api.call("POST", f"/v1/jobs/{queued['id']}/cancel"))
    await check("cancel_job_jid", await api.call("POST", "/v1/jobs/missing/cancel"))
    tags_path = f"/v1/jobs/{queued['id']}/tags"
    await check("replace_job_tags", await api.call("PUT", tags_path, json_body={"tags": ["a"]}))
    await check("replace_job_tags", await api.call("PUT", tags_path, json_body={"tags": 1}))
    await check("replace_job_tags", await api.call("PUT", "/v1/jobs/x/tags", json_body={}))
    await check("delete_job_jid", await api.call("DELETE", f"/v1/jobs/{queued['id']}"))
    await check("delete_job_jid", await api.call("DELETE", f"/v1/jobs/{queued['id']}"))
    await check(
        "update_session",
        await api.call("PATCH", f"/v1/sessions/{sid}", json_body={"accepting_jobs": "no"}),
    )
    await check(
        "update_session",
        await api.call("PATCH", f"/v1/sessions/{sid}", json_body={"accepting_jobs": False}),
    )
    await check("create_job", await api.call("POST", "/v1/jobs", json_body=job_body))
    await check("get_session", await api.call("GET", f"/v1/sessions/{sid}"))
    await check("delete_session_close", await api.call("DELETE", f"/v1/sessions/{sid}/close"))
    await check("delete_session_close", await api.call("DELETE", "/v1/sessions/missing/close"))
    await check("update_session", await api.call("PATCH", "/v1/sessions/missing", json_body={}))

    await check("list_backends", await api.call("GET", "/v1/backends"))
    await check(
        "list_backends", await api.call("GET", "/v1/backends", headers={"Authorization": None})
    )
    await check("list_backends", await api.call("GET", "/v1/backends?include_mocks=true"))
    for suffix in ("configuration", "properties", "status"):
        operation = f"get_backend_{suffix}"
        await check(operation, await api.call("GET", f"/v1/backends/ibm_fez/{suffix}"))
        await check(operation, await api.call("GET", f"/v1/backends/ibm_torino/{suffix}"))
        await check(operation, await api.call("GET", f"/v1/backends/nope/{suffix}"))
    await check("get_usage", await api.call("GET", "/v1/instances/usage"))
    await check(
        "get_usage", await api.call("GET", "/v1/instances/usage", headers={"Service-CRN": "crn:x"})
    )

    statuses = {operation: {s for o, s in seen if o == operation} for operation, _ in seen}
    assert statuses["create_job"] == {200, 400, 404, 409, 429}
    assert statuses["get_job_results_jid"] == {200, 204, 404}
    assert statuses["cancel_job_jid"] == {204, 404, 409}
    assert statuses["replace_job_tags"] == {204, 400, 404}
    assert statuses["delete_job_jid"] == {204, 404}
    assert {operation for operation, _ in seen} == {
        op for ops in EXPECTED_OPERATIONS.values() for op in ops.values()
    }


async def test_checker_rejects_undeclared_fields_and_statuses() -> None:
    """The conformance checker fails on an extra field, a wrong type or an undeclared status."""
    checker = ResponseChecker()
    good = (
        '{"id": "abc", "backend": "ibm_kingston", "status": "Queued", "state": {"status": "Queued"},'
        ' "program": {"id": "sampler"}, "created": "2026-01-01T00:00:00.000Z", "cost": 1}'
    )
    checker.check("get_job", Reply(200, {}, good, "application/json"))
    bad_field = good[:-1] + ', "surprise": 1}'
    bad_type = good.replace('"cost": 1', '"cost": "1"')
    for text in (bad_field, bad_type):
        with pytest.raises(Exception, match=r"."):
            checker.check("get_job", Reply(200, {}, text, "application/json"))
    with pytest.raises(AssertionError, match="undeclared status"):
        checker.check("get_job", Reply(201, {}, good, "application/json"))


async def test_openapi_is_served(api: Client) -> None:
    """The merged description is served as JSON and each YAML file as is."""
    merged = await api.call("GET", "/openapi.json", headers={"Authorization": None})
    assert merged.status == 200
    operations = {
        operation["operationId"]
        for item in merged.body["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    }
    assert operations == {op for ops in EXPECTED_OPERATIONS.values() for op in ops.values()}
    for name in SPEC_NAMES:
        reply = await api.call("GET", f"/openapi/{name}.yml")
        assert reply.status == 200
        assert yaml.safe_load(reply.text) == load_spec(name)
    assert (await api.call("GET", "/openapi/other.yml")).status == 404

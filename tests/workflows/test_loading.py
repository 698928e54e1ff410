"""Loading: the JSON-safe YAML loader (DOC-03) and the minimal document rules (DOC-01/02)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qruntime_session import errors
from qruntime_session.workflows import DocumentError, load_document, seed_path
from qruntime_session.workflows._yaml import load_data

from .support import arazzo, ok, step, workflow, write_document


def test_yaml_1_1_words_stay_strings() -> None:
    """DOC-03: on/off/yes/no (as keys and values) stay strings, not booleans."""
    data = load_data("on: yes\noff: no\nlist: [On, Off, y, n]\nflag: true\nother: False\n")
    assert data == {
        "on": "yes",
        "off": "no",
        "list": ["On", "Off", "y", "n"],
        "flag": True,
        "other": False,
    }


def test_dates_and_yaml_1_1_numbers_stay_strings() -> None:
    """DOC-03: timestamps, sexagesimal, underscores and .inf are not converted."""
    data = load_data(
        "d: 2024-01-01\nt: 2024-01-01T10:00:00Z\ns: 1:30\nu: 1_000\ni: .inf\nb: 0b101\n"
    )
    assert data == {
        "d": "2024-01-01",
        "t": "2024-01-01T10:00:00Z",
        "s": "1:30",
        "u": "1_000",
        "i": ".inf",
        "b": "0b101",
    }


def test_core_schema_numbers() -> None:
    """Integers are decimal (0777 is 777), 0o/0x prefixes work, floats stay floats."""
    assert load_data("a: 0777\nb: 0o17\nc: 0x1F\nd: -1.5e3\ne: 12\nf: ~\ng:\n") == {
        "a": 777,
        "b": 15,
        "c": 31,
        "d": -1500.0,
        "e": 12,
        "f": None,
        "g": None,
    }


def test_numeric_keys_become_their_text() -> None:
    """Mapping keys are always strings: the key's source text (OpenAPI's 200: …)."""
    assert load_data("200: ok\n1.0: x\n") == {"200": "ok", "1.0": "x"}


def test_duplicate_keys_are_rejected() -> None:
    """A key repeated in one mapping is an error naming the line (PyYAML would keep the last)."""
    with pytest.raises(DocumentError, match="duplicate key 'a'") as info:
        load_data("a: 1\nb: 2\na: 3\n")
    assert info.value.path == "line 3 column 1"


def test_non_json_tags_are_rejected_with_a_path() -> None:
    """An explicit !!binary value is not JSON-compatible: rejected with its path."""
    with pytest.raises(DocumentError) as info:
        load_data("outer:\n  inner: [1, !!binary aGVsbG8=]\n")
    assert info.value.path == "outer.inner[1]"


def test_python_tags_are_refused() -> None:
    """The loader is a SafeLoader: python object tags are a YAML error, never constructed."""
    with pytest.raises(DocumentError, match="invalid YAML"):
        load_data("a: !!python/object/apply:os.system ['true']\n")


def test_version_number_in_info_is_reported(tmp_path: Path) -> None:
    """DOC-03: `version: 1.0` (a YAML number) is rejected with a clear message and its path."""
    path = tmp_path / "doc.arazzo.yaml"
    path.write_text(
        "arazzo: 1.0.1\n"
        "info: {title: t, version: 1.0}\n"
        "sourceDescriptions: [{name: api, url: api.openapi.json}]\n"
        "workflows: [{workflowId: w, steps: [{stepId: s, operationId: listItems}]}]\n"
    )
    with pytest.raises(DocumentError, match=r"must be a string, not a number \(quote it"):
        load_document(path)


def test_seed_loads_and_resolves() -> None:
    """The bundled seed loads; its plain operationIds resolve across its two sources."""
    document = load_document(seed_path())
    workflow_id = "session-run-and-close"
    assert [s.step_id for s in document.workflow(workflow_id).steps] == [
        "createSession",
        "runJobInSession",
        "closeSession",
    ]
    close = document.operation(workflow_id, "closeSession")
    assert (close.source, close.method, close.path) == (
        "sessionsApi",
        "DELETE",
        "/v1/sessions/{id}/close",
    )
    assert document.operation(workflow_id, "runJobInSession").source == "jobsApi"
    assert document.warnings == ()


def test_minimal_document_loads(tmp_path: Path) -> None:
    """DOC-01: a minimal valid document loads."""
    document = load_document(
        write_document(tmp_path, arazzo([workflow([step("s", successCriteria=ok())])]))
    )
    assert document.workflows[0].steps[0].step_id == "s"


@pytest.mark.parametrize("missing", ["info", "sourceDescriptions", "workflows"])
def test_missing_root_fields(tmp_path: Path, missing: str) -> None:
    """DOC-01: a missing info, sourceDescriptions or workflows is an error naming the field."""
    document = arazzo([workflow([step("s")])])
    del document[missing]
    with pytest.raises(DocumentError) as info:
        load_document(write_document(tmp_path, document))
    assert info.value.path == missing
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, errors.QRuntimeError)


@pytest.mark.parametrize("empty", ["sourceDescriptions", "workflows"])
def test_empty_lists(tmp_path: Path, empty: str) -> None:
    """DOC-01: an empty sourceDescriptions or workflows list is an error."""
    document = arazzo([workflow([step("s")])])
    document[empty] = []
    with pytest.raises(DocumentError, match="at least one") as info:
        load_document(write_document(tmp_path, document))
    assert info.value.path == empty


@pytest.mark.parametrize("version", ["1.0.0", "1.0.1", "1.0.7"])
def test_versions_accepted(tmp_path: Path, version: str) -> None:
    """DOC-02: every 1.0.x version is accepted."""
    document = load_document(
        write_document(tmp_path, arazzo([workflow([step("s")])], version=version))
    )
    assert document.arazzo == version


@pytest.mark.parametrize("version", ["1.1.0", "2.0.0", "1.0", "1.0.x"])
def test_versions_rejected(tmp_path: Path, version: str) -> None:
    """DOC-02: other versions are rejected (policy: this executor runs 1.0.x only)."""
    with pytest.raises(DocumentError, match="unsupported Arazzo version") as info:
        load_document(write_document(tmp_path, arazzo([workflow([step("s")])], version=version)))
    assert info.value.path == "arazzo"


def test_json_document_with_yaml_openapi(tmp_path: Path) -> None:
    """Sources are read relative to the document, YAML or JSON by extension."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "api.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
        "paths:\n  /x:\n    get: {operationId: getX, responses: {200: {description: ok}}}\n"
    )
    document = arazzo(
        [workflow([step("s", "getX")])], sources=[{"name": "api", "url": "sub/api.yaml"}]
    )
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    loaded = load_document(path)
    assert loaded.operation("w", "s").path == "/x"


def test_unreadable_source_is_a_document_error(tmp_path: Path) -> None:
    """A source file that does not exist is reported at the source's url."""
    document = arazzo([workflow([step("s")])], sources=[{"name": "api", "url": "nope.yaml"}])
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DocumentError, match="cannot load source 'api'") as info:
        load_document(path)
    assert info.value.path == "sourceDescriptions[0].url"


def test_remote_sources_are_not_fetched(tmp_path: Path) -> None:
    """An http(s) source is never fetched; the error says how to supply it."""
    document = arazzo(
        [workflow([step("s")])],
        sources=[{"name": "api", "url": "https://example.invalid/api.yaml"}],
    )
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DocumentError, match="not fetched"):
        load_document(path)


def test_sources_can_be_supplied(tmp_path: Path) -> None:
    """sources= supplies a source's content by name instead of reading a file."""
    from .support import openapi

    document = arazzo(
        [workflow([step("s")])],
        sources=[{"name": "api", "url": "https://example.invalid/api.yaml"}],
    )
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document))
    loaded = load_document(path, sources={"api": openapi()})
    assert loaded.operation("w", "s").operation_id == "listItems"

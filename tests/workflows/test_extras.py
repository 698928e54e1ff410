"""The optional libraries are imported lazily and their absence is a clear error."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qruntime_session.workflows import MissingExtraError, _inputs

from .support import ScriptedServer, arazzo, executor, load, step, workflow


@pytest.fixture
def fresh_import_cache() -> Iterator[None]:
    """Forget the cached jsonschema module before and after the test."""
    _inputs._jsonschema.cache_clear()
    yield
    _inputs._jsonschema.cache_clear()


async def test_missing_jsonschema(
    tmp_path: Path,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_import_cache: None,
) -> None:
    """Without jsonschema, a workflow with an input schema fails before sending, naming the extra."""
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    document = load(tmp_path, arazzo([workflow([step("s")], inputs={"type": "object"})]))
    with pytest.raises(MissingExtraError, match=r"qruntime-session\[workflows\]") as info:
        await executor(document, server).run({})
    assert info.value.library == "jsonschema"
    assert isinstance(info.value, ImportError)
    assert server.requests == []


async def test_missing_jsonpath(
    tmp_path: Path, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without python-jsonpath, a document with a jsonpath criterion fails before sending."""
    monkeypatch.setitem(sys.modules, "jsonpath", None)
    criterion = {"condition": "$.a", "context": "$response.body", "type": "jsonpath"}
    document = load(tmp_path, arazzo([workflow([step("s", successCriteria=[criterion])])]))
    with pytest.raises(MissingExtraError) as info:
        await executor(document, server).run()
    assert info.value.library == "python-jsonpath"
    assert server.requests == []


async def test_documents_without_extras_need_none(
    tmp_path: Path,
    server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
    fresh_import_cache: None,
) -> None:
    """A document with no input schema and no jsonpath criterion runs without either library."""
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    monkeypatch.setitem(sys.modules, "jsonpath", None)
    document = load(tmp_path, arazzo([workflow([step("s")])]))
    result = await executor(document, server).run()
    assert result.ok

"""Every public name (what the API reference shows) has a docstring of its own."""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import inspect
import re
from pathlib import Path
from typing import Any

import attrs
import griffe
import pytest
import yaml

from qruntime_session import errors

PUBLIC_MODULES = [
    "qruntime_session",
    "qruntime_session.errors",
    "qruntime_session.testing",
    "qruntime_session.emulator",
    "qruntime_session.workflows",
    "qruntime_session.pytest_plugin",
]


def _own_doc(obj: Any) -> str | None:
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__")
        return doc if isinstance(doc, str) else None
    return inspect.getdoc(obj)


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties defined by the class itself (not inherited)."""
    found = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property) or inspect.isfunction(value):
            found.append((name, value))
    return found


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = []
    if not inspect.getdoc(module):
        missing.append(module_name)
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants and submodules: described in the module docstring or docs
        if not _own_doc(obj):
            missing.append(f"{module_name}.{name}")
        if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            for member, value in _members(obj):
                doc = value.__doc__ if not isinstance(value, property) else value.fget.__doc__
                if not doc:
                    missing.append(f"{module_name}.{name}.{member}")
    return missing


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    assert _undocumented(module_name) == []


# --- The API reference as mkdocstrings renders it -------------------------------------------------
#
# The checks below read the package the way the reference does: griffe, with the docstring style,
# options and extensions of mkdocs.yml (attrs fields become the class's Parameters table).

ROOT = Path(__file__).resolve().parents[2]

# Public objects whose docstrings are not converted to the Google style yet, by where they are
# defined (a module, or one object in it). Other work was restructuring these files while the
# rest was converted. This list may only shrink: convert a file, then remove its entry.
NOT_YET_CONVERTED: tuple[str, ...] = ()

REFERENCE_MODULES = [*PUBLIC_MODULES, "qruntime_session.primitives"]

# Pages of docs/reference.md rendered with ``inherited_members: true``: a class there shows the
# public members of its private bases too (RuntimeClient: RuntimeApi's; Session: BaseSession's;
# BitArray: BitArrayOps's).
INHERITED_MEMBERS_SHOWN = {"qruntime_session", "qruntime_session.primitives"}

# Sphinx cross-reference roles, which Markdown shows as text (":class:`Session`").
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|exc|mod|data|obj|const|ref|term):`")

# A reST literal block ("for example::" then an indented block): Markdown shows the "::".
RST_LITERAL = re.compile(r"\S::\s*$", re.MULTILINE)

_RAISE = re.compile(r"\braise\s+(?:errors\.)?([A-Z]\w*Error)\b")


def _mkdocstrings_options() -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            options: dict[str, Any] = plugin["mkdocstrings"]["handlers"]["python"]["options"]
            return options
    raise AssertionError("mkdocs.yml configures no mkdocstrings plugin")


def _rooted(extension: Any) -> Any:
    """An extension given as a file path in mkdocs.yml, relative to the repository root."""
    if isinstance(extension, str) and extension.endswith(".py"):
        return str(ROOT / extension)
    return extension


@functools.cache
def _reference() -> dict[str, tuple[str, griffe.Object]]:
    """Every object the API reference shows, by canonical path, with the module showing it."""
    options = _mkdocstrings_options()
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(*map(_rooted, options.get("extensions", []))),
        docstring_parser=griffe.Parser(options["docstring_style"]),
        docstring_options=options.get("docstring_options", {}),
        search_paths=[str(ROOT)],
    )
    package = loader.load("qruntime_session")
    loader.resolve_aliases(implicit=False, external=False)
    shown: dict[str, tuple[str, griffe.Object]] = {}
    for module_name in REFERENCE_MODULES:
        module = (
            package if module_name == "qruntime_session" else package[module_name.partition(".")[2]]
        )
        assert isinstance(module, griffe.Module)
        shown[module.path] = (module_name, module)
        for name in importlib.import_module(module_name).__all__:
            entry = module[name]
            if isinstance(entry, griffe.Alias) and not entry.target_path.startswith(
                "qruntime_session"
            ):
                continue  # another package's object (numpy.ndarray as NDArray)
            target = entry.final_target if isinstance(entry, griffe.Alias) else entry
            if target.is_module or not target.path.startswith("qruntime_session"):
                continue
            shown.setdefault(target.path, (module_name, target))
            if target.is_class:  # own members without a leading underscore, as the reference
                for member_name, member in target.members.items():
                    if not member_name.startswith("_") and isinstance(member, griffe.Object):
                        shown.setdefault(member.path, (module_name, member))
            if target.is_class and module_name in INHERITED_MEMBERS_SHOWN:
                for member_name, member in target.inherited_members.items():
                    inherited = member.final_target
                    if not member_name.startswith("_") and isinstance(inherited, griffe.Object):
                        shown.setdefault(inherited.path, (module_name, inherited))
    return shown


def _converted(path: str) -> bool:
    return not any(path == entry or path.startswith(entry + ".") for entry in NOT_YET_CONVERTED)


def _sections(obj: griffe.Object) -> list[griffe.DocstringSection]:
    sections = list(obj.docstring.parsed) if obj.docstring else []
    init = obj.members.get("__init__") if obj.is_class else None
    if init is not None and not init.is_alias and init.docstring:  # merge_init_into_class
        sections += init.docstring.parsed
    return sections


def _documented_parameters(sections: list[griffe.DocstringSection]) -> dict[str, str]:
    named: dict[str, str] = {}
    for section in sections:
        if isinstance(
            section, griffe.DocstringSectionParameters | griffe.DocstringSectionOtherParameters
        ):
            for parameter in section.value:
                named[parameter.name.lstrip("*")] = parameter.description
    return named


def _parameters(obj: griffe.Object) -> list[str]:
    """The parameters a caller passes: a function's, or the constructor a class defines itself."""
    if obj.is_function:
        assert isinstance(obj, griffe.Function)
        return [p.name for p in obj.parameters if p.name not in ("self", "cls")]
    if not obj.is_class:
        return []
    runtime = griffe.dynamic_import(obj.path)
    if attrs.has(runtime):
        own = set(getattr(runtime, "__annotations__", {}))
        return [f.alias for f in attrs.fields(runtime) if f.init and f.name in own]
    if dataclasses.is_dataclass(runtime):
        own = set(getattr(runtime, "__annotations__", {}))
        return [f.name for f in dataclasses.fields(runtime) if f.init and f.name in own]
    init = obj.members.get("__init__")
    if init is None or init.is_alias:
        return []  # an inherited constructor is documented where it is defined
    assert isinstance(init, griffe.Function)
    return [p.name for p in init.parameters if p.name not in ("self", "cls")]


def _problems(path: str, obj: griffe.Object) -> list[str]:
    problems = []
    text = obj.docstring.value if obj.docstring else ""
    if not text.strip():
        problems.append("no description")
    if SPHINX_ROLE.search(text):
        problems.append("raw Sphinx role (use a [`Name`][qruntime_session.Name] cross-reference)")
    if RST_LITERAL.search(text):
        problems.append("reST literal block ('::'): use a fenced code block")
    sections = _sections(obj)
    init = obj.members.get("__init__") if obj.is_class else None
    if init is not None and init.docstring and SPHINX_ROLE.search(init.docstring.value):
        problems.append("raw Sphinx role in __init__")
    documented = _documented_parameters(sections)
    for name in _parameters(obj):
        if not documented.get(name, "").strip():
            problems.append(f"parameter {name!r} not described in Args")
    if obj.is_function:
        assert isinstance(obj, griffe.Function)
        kinds = {type(section) for section in sections}
        returns = str(obj.returns) if obj.returns is not None else "None"
        if returns not in ("None", "NoReturn", "Never") and not (
            kinds & {griffe.DocstringSectionReturns, griffe.DocstringSectionYields}
        ):
            problems.append(f"returns {returns} but has no Returns section")
        raised = set(_RAISE.findall(obj.source)) & set(errors.__all__)
        listed = {
            str(item.annotation).rpartition(".")[2]
            for section in sections
            if isinstance(section, griffe.DocstringSectionRaises)
            for item in section.value
        }
        problems.extend(
            f"raises {name} but has no Raises entry for it" for name in sorted(raised - listed)
        )
    return [f"{path}: {problem}" for problem in problems]


def test_the_reference_shows_what_the_package_exports() -> None:
    shown = _reference()
    assert "qruntime_session.RuntimeClient" not in shown  # shown where it is defined
    assert "qruntime_session._client.RuntimeClient.least_busy" in shown
    assert "qruntime_session._api.RuntimeApi.list_jobs" in shown  # inherited by RuntimeClient
    assert "qruntime_session._session.BaseSession.submit_job" in shown  # inherited by Session
    assert "qruntime_session.primitives._bitarray_ops.BitArrayOps.reshape" in shown  # BitArray's
    assert "qruntime_session._config.ClientConfig.load" in shown
    assert "qruntime_session.errors.APIStatusError" in shown


@pytest.mark.parametrize("module_name", REFERENCE_MODULES)
def test_reference_entries_are_described_in_google_style(module_name: str) -> None:
    """No raw role text; every entry described; Args naming each parameter; Returns; Raises."""
    found = []
    for path, (shown_by, obj) in _reference().items():
        if shown_by == module_name and _converted(path):
            found.extend(_problems(path, obj))
    assert found == []


def test_not_yet_converted_entries_still_name_public_objects() -> None:
    shown = _reference()
    stale = [
        entry
        for entry in NOT_YET_CONVERTED
        if not any(path == entry or path.startswith(entry + ".") for path in shown)
    ]
    assert stale == []


GUIDE_PAGES = sorted(
    path
    for path in (ROOT / "docs").glob("*.md")
    if path.name not in ("reference.md", "changelog.md")
)


def _search_tokens(text: str) -> set[str]:
    """Tokens as the site's search makes them: the search plugin's separator, then lunr's
    trimmer (non-word characters off both ends) and lower-casing."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    search = next(p["search"] for p in config["plugins"] if isinstance(p, dict) and "search" in p)
    separator = re.compile(search["separator"])
    return {re.sub(r"^\W+|\W+$", "", token).lower() for token in separator.split(text)}


@pytest.mark.parametrize("name", ["least_busy", "as_completed", "run_sampler", "wait_all"])
def test_search_finds_api_names_in_guide_pages(name: str) -> None:
    """``client.least_busy(min_qubits=2)`` in a guide's example indexes ``least_busy``, so the
    search finds the example and not only the reference entry."""
    hits = [p.name for p in GUIDE_PAGES if name in _search_tokens(p.read_text(encoding="utf-8"))]
    assert hits, f"no guide page is found by searching {name!r}"

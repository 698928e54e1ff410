"""Loading Arazzo and OpenAPI documents as plain JSON-compatible data.

PyYAML implements YAML 1.1, whose implicit typing surprises JSON-minded authors: ``on``,
``yes``, ``no`` and ``off`` become booleans, ``2024-01-01`` becomes a ``date``, ``0777`` is
octal, ``1_000`` and ``1:30`` are numbers. ``JSONSafeLoader`` replaces those resolvers
with the YAML 1.2 *core schema* ones, so:

* booleans are only ``true``/``false`` (``True``/``TRUE``/``False``/``FALSE``);
* ``null`` is ``null``/``Null``/``NULL``/``~`` or an empty value;
* integers are decimal (``0777`` is 777), ``0o17`` octal or ``0x1F`` hex; nothing else;
* floats are decimal with an optional exponent; ``.inf``/``.nan`` stay strings (JSON has none);
* timestamps and the rest stay strings;
* every mapping key is a string: the key's source text (``200:`` gives ``"200"``);
* a key repeated in one mapping is an error (PyYAML would silently keep the last one).

Anything that is not JSON-compatible after loading (an explicit ``!!binary`` or ``!!set``
tag, for instance) is rejected with the path of the offending value.

Scanning and parsing use libyaml (PyYAML's ``CSafeLoader``) when PyYAML was built with it —
several times faster than the pure-Python parser on the OpenAPI files a document names — and
the pure-Python ``SafeLoader`` otherwise; resolving and constructing are the same Python
code either way, so both read a document identically.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ._errors import DocumentError, Problem

__all__ = ["JSONSafeLoader", "check_json_compatible", "load_data", "load_file"]


if TYPE_CHECKING:
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class JSONSafeLoader(_BaseLoader):
    """A SafeLoader that reads YAML as JSON-compatible data with YAML 1.2 core-schema scalars."""


# Drop every implicit resolver inherited from SafeLoader, then install the core-schema ones.
JSONSafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:merge"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")

JSONSafeLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
JSONSafeLoader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])
JSONSafeLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
JSONSafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))


def _construct_bool(loader: JSONSafeLoader, node: yaml.Node) -> bool:
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return str(value).lower() == "true"


def _construct_int(loader: JSONSafeLoader, node: yaml.Node) -> int | str:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    if _INT.match(text):
        return int(text, 10)
    return text  # an explicit !!int tag on something the core schema does not read as one


def _construct_float(loader: JSONSafeLoader, node: yaml.Node) -> float | str:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if _FLOAT.match(text):
        return float(text)
    return text


def _construct_mapping(loader: JSONSafeLoader, node: yaml.Node) -> dict[str, Any]:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(None, None, "expected a mapping", node.start_mark)
    loader.flatten_mapping(node)
    result: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            key = str(key_node.value)
        else:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "a mapping key must be a plain string, not a collection",
                key_node.start_mark,
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"duplicate key {key!r}",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


JSONSafeLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
JSONSafeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
JSONSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
JSONSafeLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _key_path(base: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", key):
        return f"{base}.{key}" if base else key
    return f"{base}[{json.dumps(key)}]"


def check_json_compatible(data: Any, path: str = "") -> list[Problem]:
    """Problems for every value in ``data`` that JSON cannot represent."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str]] = [(data, path)]
    while stack:
        value, where = stack.pop()
        if value is None or isinstance(value, bool | int | str):
            continue
        if isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                problems.append(Problem(where, "NaN and infinity are not JSON values"))
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(Problem(where, f"mapping key {key!r} is not a string"))
                    continue
                stack.append((item, _key_path(where, key)))
            continue
        if isinstance(value, list):
            stack.extend((item, f"{where}[{index}]") for index, item in enumerate(value))
            continue
        problems.append(
            Problem(where, f"a {type(value).__name__} value is not JSON-compatible (quote it)")
        )
    problems.reverse()
    return problems


def load_data(text: str, *, source: str = "<string>", json_only: bool = False) -> Any:
    """Parse ``text`` (JSON, or YAML read through ``JSONSafeLoader``)."""
    try:
        # JSONSafeLoader is a SafeLoader subclass, hence the S506 exemption.
        data = json.loads(text) if json_only else yaml.load(text, Loader=JSONSafeLoader)  # noqa: S506
    except json.JSONDecodeError as exc:
        raise DocumentError.single(
            f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}", source=source
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError.single(where, f"invalid YAML: {problem}", source=source) from exc
    problems = check_json_compatible(data)
    if problems:
        raise DocumentError(problems, source=source)
    return data


def load_file(path: Path) -> Any:
    """Read and parse a JSON (``.json``) or YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError.single(
            "", f"cannot read {path}: {exc.strerror or exc}", source=str(path)
        ) from exc
    return load_data(text, source=str(path), json_only=path.suffix.lower() == ".json")

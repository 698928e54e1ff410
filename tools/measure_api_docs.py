"""Figures for the built API reference and search index (``python tools/measure_api_docs.py site``).

Reads ``<site>/reference/index.html`` and ``<site>/search/search_index.json`` of a built site
(``mkdocs build -d <site>``) and prints:

- raw Sphinx roles rendered as text (``:class:`` and friends, as Markdown turns them into
  ``:class:<code>X</code>``);
- reference entries (one per documented object), how many have no description of their own,
  how many have a parameters section, and the longest signature line;
- rows of the docstring section tables (Parameters, Returns, Raises; attrs fields appear as
  Parameters rows of their class rather than as entries), and how many have no description;
- for each name given with ``--term`` (default ``least_busy`` and ``as_completed``), the pages
  whose search tokens contain it, split with the index's own ``separator`` as the site's search
  does (tags dropped, then ``lunr``'s trimmer and lower-casing).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|exc|mod|data|obj|const|ref|term)::?(?:<code>|`)"
)
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "source", "area", "base"}


class _Node:
    def __init__(self, tag: str, classes: list[str], parent: _Node | None) -> None:
        self.tag = tag
        self.classes = classes
        self.parent = parent
        self.children: list[_Node | str] = []

    def text(self, skip: set[str]) -> str:
        parts: list[str] = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif not skip.intersection(child.classes):
                parts.append(child.text(skip))
        return "".join(parts)

    def find(self, cls: str) -> list[_Node]:
        found = []
        for child in self.children:
            if isinstance(child, _Node):
                if cls in child.classes:
                    found.append(child)
                found.extend(child.find(cls))
        return found


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root", [], None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        node = _Node(tag, classes, self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_endtag(self, tag: str) -> None:
        node: _Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def reference_figures(page: Path) -> dict[str, object]:
    source = page.read_text(encoding="utf-8")
    tree = _Tree()
    tree.feed(source)
    entries = tree.root.find("doc-object")
    undescribed = []
    with_params = 0
    for entry in entries:
        contents = _child(entry, "doc-contents")
        heading = _child(entry, "doc-heading")
        words = heading.text(set()).split() if heading is not None else []
        name = words[0] if words else "?"
        if contents is None:
            undescribed.append(name)
            continue
        own = contents.text({"doc-children", "doc-object"})
        if not own.strip():
            undescribed.append(name)
        titles = [
            t.text(set()) for t in contents.find("doc-section-title") if not _inside(t, contents)
        ]
        if any(t.strip().startswith("Parameters") for t in titles):
            with_params += 1
    signature_lines = [
        len(line)
        for sig in tree.root.find("doc-signature")
        for line in sig.text(set()).splitlines()
    ]
    rows = tree.root.find("doc-section-item")
    bare_rows = [
        row
        for row in rows
        if not "".join(d.text(set()) for d in row.find("doc-md-description")).strip()
    ]
    return {
        "raw_roles": len(ROLE.findall(source)),
        "entries": len(entries),
        "entries_without_description": len(undescribed),
        "entries_with_parameters_section": with_params,
        "longest_signature_line": max(signature_lines, default=0),
        "section_table_rows": len(rows),
        "section_table_rows_without_description": len(bare_rows),
    }


def _child(node: _Node, cls: str) -> _Node | None:
    return next((c for c in node.children if isinstance(c, _Node) and cls in c.classes), None)


def _inside(node: _Node, contents: _Node) -> bool:
    """Whether ``node`` belongs to a nested entry of ``contents`` rather than to ``contents``."""
    parent = node.parent
    while parent is not None and parent is not contents:
        if "doc-object" in parent.classes:
            return True
        parent = parent.parent
    return False


def search_hits(index_file: Path, term: str) -> list[str]:
    index = json.loads(index_file.read_text(encoding="utf-8"))
    separator = re.compile(index["config"]["separator"])
    hits = []
    for doc in index["docs"]:
        text = html.unescape(re.sub(r"<[^>]+>", " ", doc["title"] + " " + doc["text"]))
        tokens = {re.sub(r"^\W+|\W+$", "", t).lower() for t in separator.split(text)}
        if term.lower() in tokens:
            hits.append(doc["location"])
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="a built site directory")
    parser.add_argument("--term", action="append", help="a name to look up in the search index")
    args = parser.parse_args(argv)
    figures = reference_figures(args.site / "reference" / "index.html")
    for key, value in figures.items():
        sys.stdout.write(f"{key}: {value}\n")
    for term in args.term or ["least_busy", "as_completed"]:
        hits = search_hits(args.site / "search" / "search_index.json", term)
        guide = [h for h in hits if not h.startswith(("reference/", "changelog/"))]
        pages = ", ".join(guide) or "-"
        sys.stdout.write(f"search {term!r}: {len(hits)} hits, {len(guide)} in guides: {pages}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

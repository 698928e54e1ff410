"""The README's table of extras names every extra pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_names_every_extra() -> None:
    """A user reading the README learns of every extra (and of none that does not exist)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    table = re.findall(r"^\| `([a-z]+)` \|", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    assert sorted(table) == sorted(extras)


#: ``pip install "qruntime-session[x]"`` with no ``@ git+…``: an install that needs PyPI.
_FROM_PYPI = re.compile(r"""pip install ["']?qruntime-session(\[[^\]]*\])?["']?(?!\S*\s*@)""")


def test_install_lines_work_without_pypi() -> None:
    """The package is not on PyPI: every install line the docs show names the repository
    (``"qruntime-session[x] @ git+…"``) or a clone (``pip install -e ".[x]"``), as the README
    does."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pages += sorted((ROOT / "docs").rglob("*.ipynb"))
    found = {
        f"{page.relative_to(ROOT)}: {match.group(0)}"
        for page in pages
        if page.name != "changelog.md"
        for match in _FROM_PYPI.finditer(page.read_text(encoding="utf-8").replace('\\"', '"'))
    }
    assert found == set()

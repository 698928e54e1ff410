"""mkdocs hooks for the documentation site.

Docs mark a deliberately incomplete Python block as ```` ```python fragment ```` so that the
executed-docs test (``tests/docs/test_docs_blocks.py``) skips it. Markdown renderers take only
the first word of the info string as the language, but Python-Markdown's fences do not: this
hook drops the marker before rendering, so a fragment is highlighted like any Python block.
"""

from __future__ import annotations

import re
from typing import Any

_FRAGMENT = re.compile(r"^(\s*(?:```|~~~)+\s*python)\s+fragment\s*$", re.MULTILINE)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Render ```` ```python fragment ```` fences as ```` ```python ````."""
    return _FRAGMENT.sub(r"\1", markdown)

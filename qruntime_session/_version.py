"""The package version, read once from the installed distribution's metadata."""

from __future__ import annotations

import functools
import platform
from importlib import metadata

__all__ = ["user_agent", "version"]


@functools.cache
def version() -> str:
    try:
        return metadata.version("qruntime-session")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


@functools.cache
def user_agent() -> str:
    import aiohttp

    python = platform.python_version()
    return f"qruntime-session/{version()} aiohttp/{aiohttp.__version__} python/{python}"

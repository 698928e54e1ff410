"""Heavy optional modules stay unimported until a feature needs them (start-up time)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import qruntime_session, qruntime_session.workflows
heavy = ("yaml", "jsonschema", "aiohttp.web", "qruntime_session.emulator")
before = {name: name in sys.modules for name in heavy}
from qruntime_session.workflows import load_document, seed_path
load_document(seed_path())
print(json.dumps({"before": before, "after_load": "yaml" in sys.modules}))
"""


def test_package_and_workflows_import_no_heavy_modules() -> None:
    """PyYAML, jsonschema, aiohttp.web and the emulator load only when used."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(done.stdout)
    assert result["before"] == {
        "yaml": False,
        "jsonschema": False,
        "aiohttp.web": False,
        "qruntime_session.emulator": False,
    }
    assert result["after_load"] is True

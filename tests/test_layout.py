"""The layout's import rules hold (pyproject.toml, [tool.importlinter]; docs/architecture.md).

Sending decides no verdict and reports read the result model, never the plugin: a layer imports only the ones
below it, and only contract_tests/bundled.py imports the bundled reference server.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("import-linter is not installed (pip install -e '.[test]')")
    result = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout

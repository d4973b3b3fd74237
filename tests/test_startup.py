"""Start-up: the installed suite's runs (contract_tests/suite.ini) keep pytest's assertion rewriting off and
load no pytest plugin they do not use, and that changes nothing in what the suite reports. No timing is asserted."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parents[1] / "contract_tests" / "suite"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGIN_", "PYTEST_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # as on CI containers: nothing cached between starts
    return env


def test_the_suite_asserts_nothing_itself():
    """Its verdicts and failure messages are Violations (judging/verdicts.py): with no ``assert`` statement in the
    contract tests, turning assertion rewriting off (--assert=plain) cannot change a message."""
    asserts = [f"{path.name}:{node.lineno}" for path in sorted(SUITE_DIR.glob("*.py"))
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(node, ast.Assert)]
    assert asserts == []


def _normalized(text: str) -> str:
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
    return re.sub(r"\d+(\.\d+)?", "<n>", text)  # ports, token times, durations


def test_failure_output_is_the_same_without_assertion_rewriting(tmp_path):
    outputs = {}
    for mode in ("rewrite", "plain"):
        done = subprocess.run(
            [sys.executable, "-m", "contract_tests", "--reference-fault=alg-none-token", "--fuzz-examples=0",
             "--requirement=TOKEN-01", "-p", "no:randomly", f"--assert={mode}"],
            cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
        assert "TOKEN-01 [MUST]" in done.stdout and "reproduce: curl" in done.stdout
        outputs[mode] = _normalized(done.stdout)
    assert outputs["plain"] == outputs["rewrite"]


PROBE = """
import json, sys
from contract_tests.__main__ import main
code = main(["--collect-only", "-q"])
rewritten = sorted(name for name, mod in list(sys.modules.items())
                   if type(getattr(mod, "__loader__", None)).__name__ == "AssertionRewritingHook")
loaded = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"code": code, "rewritten": rewritten, "loaded": loaded}))
"""


def test_the_installed_suite_starts_without_rewriting_or_unused_plugins(tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stdout[-2000:]
    assert result["rewritten"] == []  # no module recompiled by pytest's assertion rewriter at each start
    # collecting the suite loads neither schemathesis (its pytest plugin is off; the fuzzing tests import it when
    # they run), nor the bundled server's web stack (started when the first test needs the target), nor jsonschema
    # (the shipped catalog is validated by the self-tests; responses import it when the first is judged)
    unused = {"schemathesis", "starlette", "uvicorn", "argon2", "jwt", "jsonschema"}
    assert not unused & set(result["loaded"]), result["loaded"]


def test_the_current_directory_s_conftest_files_stay_out_of_the_run(tmp_path):
    """A deployment repository runs the tool from its own checkout: its conftest.py and tests/conftest.py (pytest
    loads test*/conftest.py of the invocation directory when no argument is a path) are not part of the run."""
    for where in (tmp_path, tmp_path / "tests"):
        where.mkdir(exist_ok=True)
        (where / "conftest.py").write_text("raise SystemExit('this repository's conftest was loaded')\n")
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert json.loads(done.stdout.strip().splitlines()[-1])["code"] == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "conftest was loaded" not in done.stdout + done.stderr

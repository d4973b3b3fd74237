"""Canned exchanges for unit tests of checks; the arguments that run the contract suite in the self-tests; a headless
browser and a stand-in `gh` for the report and CI-recipe tests."""

from __future__ import annotations

import json as _json
import sys
from pathlib import Path

import httpx

from contract_tests.sending.exchange import Exchange, LoginRequest
from contract_tests.sending.secrets import Redactor

# The contract suite as the self-tests run it: its plugin and package. --bundled-server: with no --base-url the
# target is the bundled reference server (its demo account gives the credentials); a --base-url given wins.
# --assert=plain, as the installed command runs it (contract_tests/suite.ini): no check asserts (tests/test_startup.py),
# and rewriting every imported module's asserts was about 40% of a suite run where no bytecode is cached.
SUITE = ("-p", "contract_tests.plugin", "--pyargs", "contract_tests.suite", "-p", "no:cacheprovider", "--assert=plain",
         "--bundled-server")


def exchange(status=401, body=None, headers=None, *, raw=None, request=None, redactor=None) -> Exchange:
    if raw is None:
        raw = b"" if body is None else _json.dumps(body).encode()
    hdrs = {"content-type": "application/json", "x-content-type-options": "nosniff"}
    hdrs.update(headers or {})
    return Exchange(
        request=request or LoginRequest(purpose="canned", expect="failure", json={"email": "a@example.com", "password": "x"}),
        base_url="http://target.test",
        redactor=redactor or Redactor(),
        status=status,
        headers=httpx.Headers(hdrs),
        body=raw,
    )


def jwt(header: dict, claims: dict, signature: str = "c2lnbmF0dXJl") -> str:
    import base64

    def b64(obj):
        return base64.urlsafe_b64encode(_json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64(header)}.{b64(claims)}.{signature}"


def headless_chromium(webdriver, browser: str, driver_path: str, profile):
    """Debian's Chromium driven headless by selenium, with no background network (this machine's network is closed:
    those connections would be refused at every start) and a profile of its own."""
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)


_GH_STUB = '''#!{python}
"""gh, as the CI recipes use it: `run list` prints the completed runs' ids (newest first), `run download` copies a
run's artifact ($FAKE_GH_ARTIFACTS/<run id>/<artifact name>/); every call is logged to $FAKE_GH_LOG if set."""
import os, shutil, sys
args, store = sys.argv[1:], os.environ["FAKE_GH_ARTIFACTS"]
if os.environ.get("FAKE_GH_LOG"):
    with open(os.environ["FAKE_GH_LOG"], "a") as log:
        log.write(" ".join(args) + "\\n")
if args[:2] == ["run", "list"]:
    print("\\n".join(sorted(os.listdir(store), key=int, reverse=True)))
elif args[:2] == ["run", "download"]:
    source = os.path.join(store, args[2], args[args.index("--name") + 1])
    if not os.path.isdir(source):
        sys.exit("no valid artifacts found to download")
    shutil.copytree(source, args[args.index("--dir") + 1], dirs_exist_ok=True)
else:
    sys.exit(f"unexpected gh call: {{args}}")
'''


def fake_gh(folder: Path) -> Path:
    """A stand-in `gh` in *folder* (put it first on PATH) that serves runs and artifacts from a directory."""
    path = folder / "gh"
    path.write_text(_GH_STUB.format(python=sys.executable))
    path.chmod(0o755)
    return path

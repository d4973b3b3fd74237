"""Canned exchanges for unit tests of checks; the arguments that run the contract suite in the self-tests."""

from __future__ import annotations

import json as _json

import httpx

from contract_tests.sending.exchange import Exchange, LoginRequest
from contract_tests.sending.secrets import Redactor

# The contract suite as the self-tests run it: its plugin and package. --bundled-server: with no --base-url the
# target is the bundled reference server (its demo account gives the credentials); a --base-url given wins.
SUITE = ("-p", "contract_tests.plugin", "--pyargs", "contract_tests.suite", "-p", "no:cacheprovider", "--bundled-server")


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

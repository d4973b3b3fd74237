"""Direct-HTTP detectors of the opt-in requirements, for tests/test_reference_server.py's PROBES table:
each takes that module's ``Api`` and says whether the server breaks the requirement. The suite's own probes
(contract_tests/probes/) are tested in tests/test_probes.py."""

from __future__ import annotations

import statistics
import time

import httpx

from contract_tests.reference import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    LOGIN_PATH,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    start_reference_server,
)


def broken_abuse_01(api) -> bool:
    """A fresh server of the same kind with its throttle on: an unknown and an existing account must both be
    throttled within 100 failures, alike, per account (another identifier still gets through), and the right
    password must stay refused."""
    with start_reference_server(fault=api.server.fault, variant=api.server.variant) as server:
        if server.service.throttle_after is None:
            server.service.throttle_after = 10
        with httpx.Client(base_url=server.url, timeout=10) as http:
            def hammer(email):
                for i in range(100):
                    r = http.post(LOGIN_PATH, json={"email": email, "password": f"Wrong-{i}"})
                    if r.status_code == 429:
                        return r
                return None

            unknown = hammer("nobody-throttle@hyper3d.test")
            if unknown is None:
                return True
            another = http.post(LOGIN_PATH, json={"email": "nobody-else@hyper3d.test", "password": "Wrong-0"})
            if another.status_code == 429:
                return True  # every identifier throttled alike: a limit on the address, not on the account
            known = hammer(OTHER_EMAIL)
            if known is None:
                return True
            right = http.post(LOGIN_PATH, json={"email": OTHER_EMAIL, "password": OTHER_PASSWORD})
            return right.status_code != 429 or not unknown.json() == known.json() == right.json()


def broken_sec_07(api, pairs: int = 8) -> bool:
    """Median wrong-password time vs unknown-account time: 20 ms or more apart."""
    times: dict[str, list[float]] = {"wrong": [], "unknown": []}
    for i in range(pairs + 1):
        for kind, email in (("wrong", DEMO_EMAIL), ("unknown", f"nobody-{i}@hyper3d.test")):
            started = time.perf_counter()
            api.post({"email": email, "password": "Wrong-Timing-1"})
            if i:  # the first pair warms up
                times[kind].append(time.perf_counter() - started)
    return abs(statistics.median(times["wrong"]) - statistics.median(times["unknown"])) >= 0.020


def broken_captcha_01(api) -> bool:
    """With the captcha on: no token, an invalid one and a spent one are each refused with a captcha error, and
    the same way for the right and a wrong password."""
    service = api.server.service
    if not service.captcha_required:
        return False

    def login(password, token):
        headers = {service.captcha_header: token} if token else {}
        return api.post({"email": DEMO_EMAIL, "password": password}, headers=headers)

    spent = service.captcha.issue()
    login("Wrong-Captcha-1", spent)
    for token in (None, "not-a-token", spent):
        right, wrong = login(DEMO_PASSWORD, token), login("Wrong-Captcha-1", token)
        if right.status_code != wrong.status_code or right.json() != wrong.json():
            return True
        if "CAPTCHA" not in str(right.json().get("error")):
            return True
    return False


OPT_IN_PROBES = {"ABUSE-01": broken_abuse_01, "SEC-07": broken_sec_07, "CAPTCHA-01": broken_captcha_01}

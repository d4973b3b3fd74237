"""Self-tests of the opt-in probes: statistics, throttle signals, the reference server's guards, each probe
against its conforming server and its matching fault, and the plugin (off by default: no request; --probe)."""

from __future__ import annotations

import json
import math
import random
import time

import pytest
from helpers import exchange

from contract_tests import bundled
from contract_tests.probes import captcha, outcome, throttling, timing

from contract_tests.probes import settings as probe_settings
from contract_tests.sending.client import Account, ClientLimits, ContractClient, NotSent
from contract_tests.reference import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    OTHER_EMAIL,
    OTHER_PASSWORD,
    LoginService,
    start_reference_server,
)
from contract_tests.reference.guards import CAPTCHA_TEST_TOKEN, CaptchaVerifier, Throttle
from contract_tests.sending.secrets import Redactor, Secret, password_secret
from contract_tests.probes.stats import compare_timings, mann_whitney_u, shift_interval
from contract_tests.sending.pause import with_margin

UNKNOWN = "conformance-unknown-7f3a9c@example.com"
MAIN = Account(DEMO_EMAIL, password_secret(DEMO_PASSWORD))
THROWAWAY = Account(OTHER_EMAIL, probe_settings.throwaway_secret(OTHER_PASSWORD))
from helpers import SUITE


# ---------------------------------------------------------------------------------------------- statistics
# Reference values: scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic",
# use_continuity=True), scipy 1.17.1 (what R's wilcox.test(exact=FALSE, correct=TRUE) reports too).
SCIPY = [
    ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.0, 0.012185780355344813),
    ([1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 4, 4, 5, 5, 6], 11.0, 0.04988443697992588),
    ([0.0121, 0.0130, 0.0118, 0.0125, 0.0140, 0.0119, 0.0122, 0.0131],
     [0.0120, 0.0128, 0.0117, 0.0126, 0.0135, 0.0124, 0.0129, 0.0116, 0.0121], 41.5, 0.6302178099392757),
]


@pytest.mark.parametrize("x, y, u, p", SCIPY)
def test_mann_whitney_u_matches_scipy(x, y, u, p):
    test = mann_whitney_u(x, y)
    assert test.u == u
    assert test.p == pytest.approx(p, rel=1e-12)
    assert mann_whitney_u(y, x).p == pytest.approx(p, rel=1e-12)  # two-sided: symmetric


def test_mann_whitney_u_all_tied_and_empty():
    assert mann_whitney_u([1.0, 1.0], [1.0, 1.0, 1.0]).p == 1.0
    with pytest.raises(ValueError):
        mann_whitney_u([], [1.0])


def test_shift_interval_recovers_a_pure_shift():
    rng = random.Random(3)
    x = [rng.lognormvariate(-5, 0.4) for _ in range(30)]
    y = [v - 0.025 for v in x]
    shift = shift_interval(x, y)
    assert shift.estimate == pytest.approx(0.025)
    assert shift.low <= 0.025 <= shift.high
    tiny = shift_interval([1.0, 2.0], [1.5, 2.5])  # too small for a 95% interval
    assert math.isinf(tiny.low) and math.isinf(tiny.high)


def _samples(rng, n, centre, spread):
    return [max(0.0, rng.gauss(centre, spread)) for _ in range(n)]


def test_verdict_rule():
    rng = random.Random(11)
    quiet = compare_timings(_samples(rng, 30, 0.010, 0.001), _samples(rng, 30, 0.010, 0.001), threshold=0.02)
    assert quiet.verdict == "passed" and "no significant difference" in quiet.why
    leak = compare_timings(_samples(rng, 30, 0.060, 0.003), _samples(rng, 30, 0.010, 0.003), threshold=0.02)
    assert leak.verdict == "failed" and leak.test.p < 1e-6 and leak.difference == pytest.approx(0.05, abs=0.005)
    reverse = compare_timings(_samples(rng, 30, 0.010, 0.003), _samples(rng, 30, 0.060, 0.003), threshold=0.02)
    assert reverse.verdict == "failed"  # unknown accounts slower leaks just the same
    small_real = compare_timings(_samples(rng, 30, 0.012, 0.0005), _samples(rng, 30, 0.010, 0.0005), threshold=0.02)
    assert small_real.verdict == "passed" and small_real.test.p < 0.01 and "irrelevant" in small_real.why
    noisy = compare_timings(_samples(rng, 30, 0.100, 0.080), _samples(rng, 30, 0.100, 0.080), threshold=0.02)
    assert noisy.verdict == "inconclusive" and noisy.shift.high - noisy.shift.low > 0.04
    few = compare_timings([0.05, 0.30, 0.06, 0.5, 0.07], [0.01, 0.011, 0.2, 0.012, 0.013], threshold=0.02)
    assert few.verdict == "inconclusive" and few.test.p >= 0.01  # a big difference that is not significant
    text = leak.describe("wrong password", "unknown account")
    for part in ("median wrong password", "unknown account", "difference +", "p < 0.0001", "threshold 20.0 ms"):
        assert part in text


def test_no_false_alarm_on_noisy_identical_samples():
    """Jittery but identical distributions (a noisy network): never failed, over many seeds."""
    verdicts = []
    for seed in range(200):
        rng = random.Random(seed)
        x = [rng.lognormvariate(-3.5, 0.8) for _ in range(30)]
        y = [rng.lognormvariate(-3.5, 0.8) for _ in range(30)]
        verdicts.append(compare_timings(x, y, threshold=0.02).verdict)
    assert "failed" not in verdicts


# ---------------------------------------------------------------------------------------------- throttle signals
@pytest.fixture(scope="module")
def offline_client():
    client = ContractClient("http://target.test", Redactor(), ClientLimits())
    yield client
    client.close()


@pytest.mark.parametrize("status, body, signal", [
    (429, {"error": "RATE_LIMITED"}, "429 'RATE_LIMITED'"),
    (429, {"error": "slow down"}, "429 'slow down'"),
    (201, {"error": "RATE_LIMITED"}, "201 'RATE_LIMITED'"),
    (423, {"error": "LOCKED"}, "423 Locked 'LOCKED'"),
    (403, {"error": "ACCOUNT_LOCKED"}, "lock (403 'ACCOUNT_LOCKED')"),
    (401, {"error": "TOO_MANY_ATTEMPTS"}, "lock (401 'TOO_MANY_ATTEMPTS')"),
    (400, {"error": "Turnstile verification required"}, "captcha demand (400 'Turnstile verification required')"),
    (401, {"error": "INVALID_CREDENTIALS"}, None),
    (401, {"error": "WRONG_PASSWORD"}, None),
    (404, {"error": "NO_SUCH_USER"}, None),
    (403, {"error": "USER_FORBIDDEN"}, None),
])
def test_throttle_signal(offline_client, status, body, signal):
    assert throttling.throttle_signal(exchange(status, body), offline_client) == signal


# ---------------------------------------------------------------------------------------------- reference guards
def test_throttle_counts_consecutive_failures_per_key():
    now = [0.0]
    throttle = Throttle(clock=lambda: now[0])
    for _ in range(2):
        throttle.failure("a", limit=3, lockout=10)
    throttle.success("a")  # a success clears the count
    for _ in range(3):
        assert throttle.locked_for("a") == 0
        throttle.failure("a", limit=3, lockout=10)
    assert throttle.locked_for("a") == 10 and throttle.locked_for("b") == 0 and throttle.locked_for(None) == 0
    now[0] = 9.5
    assert throttle.locked_for("a") == pytest.approx(0.5)
    now[0] = 10.0
    assert throttle.locked_for("a") == 0  # expired: the count starts again
    throttle.failure("a", limit=3, lockout=10)
    assert throttle.locked_for("a") == 0


def test_captcha_verifier_is_single_use_and_signed():
    verifier = CaptchaVerifier()
    token = verifier.issue()
    assert verifier.signed(token) and verifier.siteverify(token) and not verifier.siteverify(token)
    assert verifier.siteverify(CAPTCHA_TEST_TOKEN) and not verifier.siteverify(CAPTCHA_TEST_TOKEN)
    assert verifier.signed(CAPTCHA_TEST_TOKEN)  # signed forever, but spent
    for bad in ("", "x", "a.b", token + "0", CaptchaVerifier().issue()):
        assert not verifier.siteverify(bad)


# ---------------------------------------------------------------------------------------------- live servers
@pytest.fixture(scope="module")
def servers():
    """``get(fault=, variant=, service=, shared=False)``: a fresh server, unless ``shared`` (one per kind)."""
    running: list = []
    shared: dict = {}

    def get(fault=None, variant=None, service=None, shared_ok=False):
        key = (fault, variant)
        if shared_ok and key in shared:
            return shared[key]
        server = start_reference_server(fault=fault, variant=variant, service=service)
        running.append(server)
        if shared_ok:
            shared[key] = server
        return server

    yield get
    for server in running:
        server.stop(wait=False)
    for server in running:
        server.stop()


@pytest.fixture
def connect():
    opened: list[ContractClient] = []

    def _connect(server, captcha_token: str | None = None, account: Account | None = MAIN) -> ContractClient:
        client = ContractClient(
            server.url, Redactor(), ClientLimits(max_requests=100_000, failed_login_budget=100_000),
            captcha_token=Secret(captcha_token, "<LOGIN_CAPTCHA_TOKEN>", '"$LOGIN_CAPTCHA_TOKEN"')
            if captcha_token else None,
            account=account,
        )
        opened.append(client)
        return client

    yield _connect
    for client in opened:
        client.close()


def run(probe, *args, **kwargs) -> outcome.ProbeOutcome:
    """Run a probe directly; a blocked / inconclusive skip from the client is a test failure here."""
    try:
        return probe(*args, **kwargs)
    except (NotSent, pytest.skip.Exception) as exc:
        pytest.fail(f"the probe was cut short: {exc}")


def throttled(server, after: int = bundled.THROTTLE_AFTER):
    assert bundled.switch_on_throttle(server)
    assert server.service.throttle_after == after
    return server


# -- ABUSE-01
def test_throttling_passes_against_reference_with_its_throttle_on(servers, connect):
    server = throttled(servers())
    client = connect(server)
    out = run(throttling.throttling_probe, client, unknown_email=UNKNOWN)
    assert out.verdict == "passed", out.message
    assert out.details["runs"]["an unknown account"] == (11, "429 'RATE_LIMITED'")
    assert "not checked without a throwaway account" in out.message
    assert "per account: another identifier got through right after" in out.message
    assert client.requests_sent == 11 + 1  # + the control for another identifier

    server = throttled(servers())
    client = connect(server)
    out = run(throttling.throttling_probe, client, unknown_email=UNKNOWN, throwaway=THROWAWAY)
    assert out.verdict == "passed", out.message
    assert out.details["runs"]["the throwaway account"] == (11, "429 'RATE_LIMITED'")
    assert out.details["right_password"] == "429 'RATE_LIMITED' (Retry-After 30)"
    assert "look the same" in out.message and "refused alike" in out.message
    assert client.requests_sent == (11 + 1) + (11 + 1) + 1


def test_throttling_passes_against_rate_limit_variant(servers, connect):
    out = run(throttling.throttling_probe, connect(servers(variant="rate-limit-429")), unknown_email=UNKNOWN,
              throwaway=THROWAWAY)
    assert out.verdict == "passed", out.message
    assert out.details["runs"]["the throwaway account"][0] == 6


def test_throttling_fails_a_request_rate_limit_that_lets_guessing_go_on(servers, connect):
    """An address-wide limiter (50 requests, then 429 for 2 s): the control is throttled alike, the probe pauses as
    told and goes on; the account's failed logins reach 100. Not throttling the account: failed, saying which."""
    server = throttled(servers(fault="throttle-request-rate-only"))
    sleeps = []
    client = connect(server)
    client._sleep = lambda seconds: (sleeps.append(seconds), time.sleep(seconds))  # the server's cooldown is real
    out = run(throttling.throttling_probe, client, unknown_email=UNKNOWN)
    assert out.verdict == "failed" and len(out.failures) == 1, out.message
    expected, actual, exchanges = out.failures[0]
    assert "not only the request rate of the whole address" in expected
    assert actual.startswith("only a request-rate limit: every identifier was throttled alike at failed login 51 "
                             "(429 'RATE_LIMITED', paused 2 s)")
    assert "100 evaluated in" in actual and "a day; nothing limits the failed logins per account" in actual
    # the pause (its Retry-After and the client's margin: never early) is the run's back-off too
    assert sleeps == [pytest.approx(with_margin(2.0), abs=0.05)] and client.backoff_seconds == 2.0
    assert [ex.status for ex in exchanges][:2] == [429, 429]  # the throttled answer and the throttled control
    assert client.requests_sent == 100 + 2


def test_address_wide_throttle_kinds_are_told_apart():
    """The verdict of one account's run from what the probe saw (no server: the runs are built by hand)."""
    rate = throttling.Hammering("an unknown account", "u@example.com", attempts=100, seconds=4.0,
                                scope=throttling.ADDRESS_RATE, signal="429",
                                address_wide=[(51, "429", 2.0)])
    assert "about 2,160,000 a day" in throttling.request_rate_only(rate)
    slow = throttling.Hammering("an unknown account", "u@example.com", attempts=30, seconds=3600.0,
                                scope=throttling.ADDRESS_RATE, signal="429", address_wide=[(11, "429", 8.0)] * 8)
    assert throttling.request_rate_only(slow) is None  # 30 an hour: a slow limit does protect
    assert "about 30 an hour" in throttling.describe(slow)
    fast_but_short = throttling.Hammering("a", "u@example.com", attempts=20, seconds=10.0,
                                          scope=throttling.ADDRESS_RATE, signal="429", address_wide=[(11, "429", 1.0)])
    assert throttling.request_rate_only(fast_but_short)  # 7,200 an hour: the pauses ran out, the rate decides
    held = throttling.Hammering("a", "u@example.com", attempts=3, seconds=1.0, scope=throttling.ADDRESS_HELD,
                                signal="429", signal_at=4, address_wide=[(4, "429", 8.0)])
    assert throttling.request_rate_only(held) is None and "an address-wide lock" in throttling.describe(held)
    per_account = throttling.Hammering("a", "u@example.com", attempts=10, seconds=1.0, scope=throttling.PER_ACCOUNT,
                                       signal="429", signal_at=11)
    assert throttling.request_rate_only(per_account) is None and "per account" in throttling.describe(per_account)


def test_repeated_pauses_at_one_failed_login_are_said_once_with_a_count():
    """A request-rate limit that held for four pauses at failed login 21: one clause with a count, not four."""
    signal = "429 'RATE_LIMITED'"
    rate = throttling.Hammering("an unknown account", "u@example.com", attempts=100, seconds=10.0,
                                scope=throttling.ADDRESS_RATE, signal="429",
                                address_wide=[(21, signal, 1.0)] * 4 + [(61, signal, 1.0), (81, signal, 1.0),
                                                                        (81, signal, 2.0)])
    said = throttling.request_rate_only(rate)
    assert said.count("at failed login 21") == 1
    assert ("at failed login 21 (429 'RATE_LIMITED', 4 times, paused 1 s each); "
            "at failed login 61 (429 'RATE_LIMITED', paused 1 s); "
            "at failed login 81 (429 'RATE_LIMITED', 2 times, paused 1 + 2 s)") in said


def test_throttling_fails_without_a_throttle(servers, connect):
    client = connect(servers(shared_ok=True))
    out = run(throttling.throttling_probe, client, unknown_email=UNKNOWN)
    assert out.verdict == "failed"
    expected, actual, exchanges = out.failures[0]
    assert "no later than failed login 100" in expected
    assert actual.startswith("100 failed logins for an unknown account, none throttled")
    assert client.requests_sent == 100
    short = run(throttling.throttling_probe, client, unknown_email=UNKNOWN, attempts=5)
    assert short.verdict == "inconclusive" and "--throttle-attempts=5" in short.message


def test_throttling_fails_when_the_right_password_gets_through(servers, connect):
    server = throttled(servers(fault="throttle-bypass-right-password"))
    out = run(throttling.throttling_probe, connect(server), unknown_email=UNKNOWN, throwaway=THROWAWAY)
    assert out.verdict == "failed" and len(out.failures) == 1
    assert "the right password logged in (201)" in out.failures[0][1]
    # without a throwaway account this fault cannot be seen; the verdict says what was not checked
    server = throttled(servers(fault="throttle-bypass-right-password"))
    out = run(throttling.throttling_probe, connect(server), unknown_email=UNKNOWN)
    assert out.verdict == "passed" and "not checked without a throwaway account" in out.message


def test_throttling_fails_when_only_known_accounts_are_throttled(servers, connect):
    server = throttled(servers(fault="throttle-known-accounts-only"))
    out = run(throttling.throttling_probe, connect(server), unknown_email=UNKNOWN, throwaway=THROWAWAY)
    assert out.verdict == "failed"
    assert any("reveals which accounts exist" in actual for _, actual, _ in out.failures)
    server = throttled(servers(fault="throttle-known-accounts-only"))
    assert run(throttling.throttling_probe, connect(server), unknown_email=UNKNOWN).verdict == "failed"


class LockAfterFive(LoginService):
    """A lock (403 ACCOUNT_LOCKED) instead of a 429, for existing and unknown accounts alike."""

    def credential_failure(self, login, user):
        key = (self.account_key(login) or "").lower()
        self.failures = getattr(self, "failures", {})
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] > 5:
            return self.error_response(403, "ACCOUNT_LOCKED")
        return super().credential_failure(login, user)


def test_throttling_recognises_a_lock(servers, connect):
    out = run(throttling.throttling_probe, connect(servers(service=LockAfterFive())), unknown_email=UNKNOWN,
              throwaway=THROWAWAY)
    # the lock error is recognised at attempt 6; but this lock lets the right password in
    assert out.details["runs"]["an unknown account"] == (6, "lock (403 'ACCOUNT_LOCKED')")
    assert out.verdict == "failed" and "the right password logged in" in out.failures[0][1]


# -- SEC-07
def test_timing_no_false_alarm_in_20_runs_against_reference(servers, connect):
    """20 runs at the default sample size against the conforming server: never failed."""
    server = servers(shared_ok=True)
    outcomes, sent = [], 0
    for i in range(20):
        client = connect(server)  # a fresh client (and redactor) per run, like a fresh suite run
        outcomes.append(run(timing.timing_probe, client, account=THROWAWAY, unknown_email=UNKNOWN,
                            rng=random.Random(i)))
        sent += client.requests_sent
    verdicts = [o.verdict for o in outcomes]
    assert "failed" not in verdicts, [o.message for o in outcomes if o.verdict == "failed"]
    assert verdicts.count("passed") >= 15, verdicts  # loopback is quiet enough to decide, even on a busy machine
    assert sent == 20 * probe_settings.ProbeSettings().timing_requests()
    first = outcomes[0]
    assert len(first.details["wrong"]) == len(first.details["unknown"]) == 30
    assert "median wrong password" in first.message and "p =" in first.message


def test_timing_fails_against_timing_leak(servers, connect):
    client = connect(servers(fault="timing-leak-unknown-account", shared_ok=True))
    out = run(timing.timing_probe, client, account=MAIN, unknown_email=UNKNOWN, samples=10, rng=random.Random(1))
    assert out.verdict == "failed", out.message
    comparison = out.details["comparison"]
    assert comparison.difference >= 0.020 and comparison.test.p < 0.01
    assert out.failures[0][1] == out.message and "significant and at least the threshold" in out.message


class RealisticCost(LoginService):
    """The timing-leak fault's argon2 cost, with the dummy verification kept: conforming."""

    hash_time_cost = 2
    hash_memory_cost = 32 * 1024


def test_timing_passes_with_a_realistic_cost(servers, connect):
    client = connect(servers(service=RealisticCost()))
    out = run(timing.timing_probe, client, account=MAIN, unknown_email=UNKNOWN, samples=10, rng=random.Random(2))
    assert out.verdict != "failed", out.message
    assert min(out.details["unknown"]) > 0.005  # the dummy verification costs as much as a real one


# -- CAPTCHA-01
def test_captcha_not_applicable_without_a_captcha(servers, connect):
    out = run(captcha.captcha_probe, connect(servers(shared_ok=True)), account=MAIN, unknown_email=UNKNOWN)
    assert out.verdict == "not_applicable" and "does not enforce a captcha" in out.message


def test_captcha_passes_against_the_captcha_variant(servers, connect):
    client = connect(servers(variant="captcha-turnstile"), captcha_token=CAPTCHA_TEST_TOKEN)
    out = run(captcha.captcha_probe, client, account=MAIN, unknown_email=UNKNOWN)
    assert out.verdict == "passed", out.message
    assert client.captcha_token_accepted and client.requests_sent == probe_settings.CAPTCHA_PROBE_REQUESTS
    assert out.details["answers"] == {
        "no token, right password": "403 'CAPTCHA_REQUIRED'", "no token, wrong password": "403 'CAPTCHA_REQUIRED'",
        "an invalid token, right password": "403 'CAPTCHA_INVALID'",
        "an invalid token, wrong password": "403 'CAPTCHA_INVALID'",
        "a reused token, right password": "403 'CAPTCHA_INVALID'",
        "a reused token, wrong password": "403 'CAPTCHA_INVALID'",
    }


@pytest.mark.parametrize("token, account, why", [
    (None, MAIN, "a reused token (set LOGIN_CAPTCHA_TOKEN"),
    ("bogus.token", MAIN, "was refused every time"),
    (CAPTCHA_TEST_TOKEN, None, "does not depend on the password (needs credentials)"),
])
def test_captcha_inconclusive_when_a_leg_cannot_be_checked(servers, connect, token, account, why):
    out = run(captcha.captcha_probe, connect(servers(variant="captcha-turnstile"), captcha_token=token),
              account=account, unknown_email=UNKNOWN)
    assert out.verdict == "inconclusive" and why in out.message, out.message


def test_captcha_fails_when_checked_after_the_password(servers, connect):
    client = connect(servers(fault="captcha-after-password"), captcha_token=CAPTCHA_TEST_TOKEN)
    out = run(captcha.captcha_probe, client, account=MAIN, unknown_email=UNKNOWN)
    assert out.verdict == "failed"
    actual = [a for _, a, _ in out.failures]
    assert "wrong password with no token was answered 401 'INVALID_CREDENTIALS', not with a captcha error" in actual
    assert any(a.startswith("status: right password 403 vs wrong password 401") for a in actual)


def test_captcha_fails_when_a_spent_token_is_accepted(servers, connect):
    client = connect(servers(fault="captcha-token-reuse"), captcha_token=CAPTCHA_TEST_TOKEN)
    out = run(captcha.captcha_probe, client, account=MAIN, unknown_email=UNKNOWN)
    assert out.verdict == "failed"
    assert out.failures[0][1] == "right password with a reused token logged in (201)"


# ---------------------------------------------------------------------------------------------- the plugin
@pytest.fixture
def suite_run(pytester, monkeypatch):
    for name in ("LOGIN_EMAIL", "LOGIN_PASSWORD", "PYTEST_BASE_URL", "LOGIN_CAPTCHA_TOKEN",
                 probe_settings.ENV_THROWAWAY_EMAIL, probe_settings.ENV_THROWAWAY_PASSWORD):
        monkeypatch.delenv(name, raising=False)

    def _run(*args, env=None):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        result = pytester.runpytest_inprocess(*SUITE, "--report-dir=out", *args)
        report_file = pytester.path / "out" / "conformance.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else None
        return result, report

    return _run


def _verdicts(report) -> dict:
    return {r["id"]: r for r in report["requirements"]}


class Counting(LoginService):
    """Counts every request the server receives."""

    received = 0

    async def handle(self, request):
        self.received += 1
        return await super().handle(request)


def test_without_probe_option_no_probe_sends_a_request(suite_run, servers):
    env = {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD}
    everything = servers(service=Counting())
    result, report = suite_run(f"--base-url={everything.url}", "-rs", "-k", "not test_fuzz", env=env)
    assert result.ret == 0
    text = result.stdout.str()
    for rid, name in (("ABUSE-01", "throttling"), ("SEC-07", "timing"), ("CAPTCHA-01", "captcha")):
        verdict = _verdicts(report)[rid]
        assert verdict["verdict"] == "skipped" and verdict["reason"] == f"opt-in, not enabled (--probe={name})"
        assert f"opt-in, not enabled (--probe={name})" in text
    without = servers(service=Counting())
    result, report_without = suite_run(f"--base-url={without.url}", "-k", "not test_fuzz and not test_probes",
                                       env=env)
    assert result.ret == 0
    assert everything.service.received == without.service.received > 50  # counted by the server
    assert report["run"]["requests"] == report_without["run"]["requests"]  # counted by the client


def test_probes_enabled_against_the_bundled_server(suite_run):
    result, report = suite_run("--probe=all", "-v", "-k", "not test_fuzz")
    assert result.ret == 0, result.stdout.str()[-3000:]
    text = result.stdout.str()
    assert "hyper3d-login opt-in probes: captcha, timing, throttling (up to" in text
    verdicts = _verdicts(report)
    assert verdicts["ABUSE-01"]["verdict"] == "passed"
    assert "throttled at failed login 11 for an unknown account" in verdicts["ABUSE-01"]["reason"]
    assert verdicts["SEC-07"]["verdict"] == "passed" and "Mann-Whitney" in verdicts["SEC-07"]["reason"]
    assert verdicts["CAPTCHA-01"]["verdict"] == "skipped"
    assert verdicts["CAPTCHA-01"]["reason"].startswith("n/a: the target does not enforce a captcha")
    ran = [line.split("::")[1].split()[0] for line in text.splitlines() if "::test_" in line and "%]" in line]
    # the probes run last of the tests that send requests; only the cross-cutting requirements' items follow them
    sending = [name for name in ran if not name.startswith("test_invariant[")]
    assert ran[len(sending):] == [name for name in ran if name.startswith("test_invariant[")]
    assert sending[-3:] == ["test_captcha_is_checked_before_the_credentials",
                            "test_response_time_does_not_reveal_accounts", "test_repeated_failed_logins_are_throttled"]
    assert OTHER_PASSWORD not in text and OTHER_PASSWORD not in json.dumps(report)


@pytest.mark.parametrize("args, rid, verdict, level", [
    (("--probe=captcha", "--reference-variant=captcha-turnstile"), "CAPTCHA-01", "passed", None),
    (("--probe=captcha", "--reference-fault=captcha-after-password"), "CAPTCHA-01", "failed", "MUST"),
    (("--probe=captcha", "--reference-fault=captcha-token-reuse"), "CAPTCHA-01", "failed", "MUST"),
    (("--probe=throttling", "--reference-fault=throttle-bypass-right-password"), "ABUSE-01", "failed", "SHOULD"),
    (("--probe=throttling", "--reference-fault=throttle-known-accounts-only"), "ABUSE-01", "failed", "SHOULD"),
    (("--probe=throttling", "--reference-fault=throttle-request-rate-only"), "ABUSE-01", "failed", "SHOULD"),
    (("--probe=timing", "--reference-fault=timing-leak-unknown-account"), "SEC-07", "failed", "SHOULD"),
])
def test_each_probe_against_its_variant_or_fault(suite_run, args, rid, verdict, level):
    result, report = suite_run(*args, "--fail-on=should", "-k", "test_probes")
    assert _verdicts(report)[rid]["verdict"] == verdict, _verdicts(report)[rid]["reason"]
    assert result.ret == (0 if verdict == "passed" else 1)
    if level:
        assert f"{rid} [{level}]" in result.stdout.str()


def test_throwaway_account_on_a_real_target(suite_run, servers):
    server = throttled(servers())
    env = {"LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD,
           probe_settings.ENV_THROWAWAY_EMAIL: OTHER_EMAIL, probe_settings.ENV_THROWAWAY_PASSWORD: OTHER_PASSWORD}
    result, report = suite_run(f"--base-url={server.url}", "--probe=throttling", "-k", "test_probes", "-l", env=env)
    assert result.ret == 10  # only the probes selected: no MUST observed, so never CONFORMING
    assert "refused alike" in _verdicts(report)["ABUSE-01"]["reason"]
    evidence = json.dumps(report)
    assert OTHER_PASSWORD not in result.stdout.str() + evidence
    assert "<LOGIN_THROWAWAY_PASSWORD>" in evidence  # the right-password request is shown, redacted


@pytest.mark.parametrize("args, env, message", [
    (("--probe=bogus",), {}, "--probe: unknown probe 'bogus'"),
    (("--probe=timing", "--timing-samples=2"), {}, "--timing-samples must be a whole number at least 5"),
    (("--probe=timing", "--timing-alpha=1.5"), {}, "--timing-alpha must be a number greater than 0 and below 1"),
    (("--base-url=http://127.0.0.1:9",), {probe_settings.ENV_THROWAWAY_EMAIL: "x@example.com"},
     "throwaway account is incomplete"),
    (("--base-url=http://127.0.0.1:9",), {"LOGIN_EMAIL": "a@example.com", "LOGIN_PASSWORD": "p",
                                          probe_settings.ENV_THROWAWAY_EMAIL: "A@example.com",
                                          probe_settings.ENV_THROWAWAY_PASSWORD: "q"}, "must name a different account"),
])
def test_bad_probe_configuration_is_one_line_and_exit_4(suite_run, args, env, message):
    result, _ = suite_run(*args, env=env)
    assert result.ret == 4
    text = result.stdout.str() + result.stderr.str()
    assert message in text and "Traceback" not in text


def test_probe_settings():
    assert probe_settings.parse_probe_names(["timing", "captcha,THROTTLING"]) == {"timing", "captcha", "throttling"}
    assert probe_settings.parse_probe_names(["all"]) == set(probe_settings.PROBES) and probe_settings.parse_probe_names([]) == set()
    settings = probe_settings.ProbeSettings(enabled=frozenset(probe_settings.PROBES), throwaway=THROWAWAY)
    assert settings.timing_requests() == 2 + 60 + 11
    # per account: 100 failed logins + 9 throttled attempts and their controls; + the throwaway's right password
    assert settings.throttling_requests() == 118 + 118 + 1
    assert settings.request_allowance() == 7 + 73 + 237
    assert probe_settings.ProbeSettings().describe().startswith("none (enable with --probe=captcha,timing,throttling")
    assert bundled.captcha_token(None, "captcha-turnstile") == CAPTCHA_TEST_TOKEN
    assert bundled.captcha_token("captcha-token-reuse", None) == CAPTCHA_TEST_TOKEN
    assert bundled.captcha_token(None, None) is None and bundled.captcha_token("nope", None) is None
    from contract_tests.reference.registry import service_class

    assert service_class(None, None).captcha_required is False  # captcha_token(None, None) answers without asking

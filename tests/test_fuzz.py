"""Property-based fuzzing: strategies, classification, the hypothesis driver, and the fuzz tests as users
run them against the bundled reference server, its conforming variants and the faults they must catch."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from contract_tests.judging import verdicts as context
from contract_tests.sending.client import ClientLimits
from contract_tests.judging.verdicts import TestContext as Ctx  # (not a test class)
from contract_tests.judging.verdicts import record_failure
from contract_tests.sending.exchange import LoginRequest
from contract_tests.fuzz import DEFAULT_SEED, Fuzz, FuzzSession, FuzzSettings
from contract_tests.fuzz.passwords import near_miss_passwords
from contract_tests.fuzz.properties import Plan
from contract_tests.fuzz.responses import schema_findings
from contract_tests.fuzz.wire import MISSING, Wire, classify, unmistakably_not_an_email
from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server
from contract_tests.judging.results import Verdict
from contract_tests.sending.secrets import Redactor, password_secret
from helpers import exchange

ROOT = Path(__file__).resolve().parents[1]
from helpers import SUITE
QUICK = settings(max_examples=40, database=None, deadline=None, suppress_health_check=list(HealthCheck))


def _shell_env(password: str) -> dict:
    """A user's shell: LOGIN_PASSWORD exported, python3 on the PATH (this interpreter's)."""
    return {**os.environ, "LOGIN_PASSWORD": password,
            "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}


# ------------------------------------------------------------------------------------------- near-miss passwords
PASSWORDS = [DEMO_PASSWORD, "pässwörd Ünïcode 😀 \"q\" 'a' \\z", "ab"]


@pytest.mark.parametrize("password", PASSWORDS, ids=["demo", "unicode-and-quotes", "short"])
def test_near_misses_are_near_but_never_the_password(password):
    secret = password_secret(password)
    base = unicodedata.normalize("NFKC", password)

    @QUICK
    @seed(1)
    @given(near_miss_passwords(secret))
    def check(miss):
        assert miss.value != password
        assert unicodedata.normalize("NFKC", miss.value) != base  # NIST 800-63B lets verifiers normalize
        derived = miss.secret(secret)
        for shown in (repr(miss), derived.label, derived.shell, str(derived)):
            assert password not in shown and json.dumps(password)[1:-1] not in shown
        assert "LOGIN_PASSWORD" in derived.shell

    check()


def test_near_miss_kinds_cover_the_issue_list():
    kinds = set()

    @settings(max_examples=300, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @seed(2)
    @given(near_miss_passwords(password_secret(DEMO_PASSWORD)))
    def collect(miss):
        kinds.add(miss.kind)

    collect()
    assert kinds == {"surrounding-whitespace", "case-flip", "truncation", "deletion", "inner-whitespace",
                     "insertion", "lookalike", "normalization", "control-character"}


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_near_miss_shell_form_rebuilds_the_value_from_login_password():
    password = "pässwörd Ü 😀 \"q\" 'a' \\z"
    secret = password_secret(password)
    misses = []

    @settings(max_examples=25, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @seed(3)
    @given(near_miss_passwords(secret))
    def collect(miss):
        misses.append(miss)

    collect()
    script = "".join(f"printf '%s\\n' {m.secret(secret).shell}\n" for m in misses)
    out = subprocess.run(["bash", "-c", script], env=_shell_env(password), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    # the shell form prints the JSON-escaped value: it sits between the quotes of a JSON string in the curl
    assert [json.loads(f'"{line}"') for line in out] == [m.value for m in misses]


# ------------------------------------------------------------------------------------------- classification
@pytest.mark.parametrize("wire, requirement", [
    (Wire(json={"email": "a@example.com", "password": "x"}), "INPUT-09"),
    (Wire(json={"username": "a" * 80, "password": "x", "extra": [1]}), "INPUT-09"),
    (Wire(json={"email": "a@example.com"}), "INPUT-01"),
    (Wire(json={"password": "x"}), "INPUT-02"),
    (Wire(json={"email": "a@example.com", "password": ["x"]}), "INPUT-03"),
    (Wire(json={"email": 7, "password": "x"}), "INPUT-03"),
    (Wire(json={"username": "😀" * 81, "password": "x"}), "DEPR-03"),
    (Wire(json={"email": "not-an-email", "password": "x"}), "INPUT-05"),
    (Wire(json=["a"]), "INPUT-04"),
    (Wire(raw=b"\xff", content_type="application/json"), "INPUT-04"),
    (Wire(raw=b'{"email": "a@example.com", "password": "caf\xe9"}', content_type="application/json"), "INPUT-04"),
    # a surrogate encoded as bytes is the lone surrogate it encodes (as Python's json reads it): a string, INPUT-09's
    (Wire(raw=b'{"email": "a@example.com", "password": "\xed\xa0\x80"}', content_type="application/json"),
     "INPUT-09"),
    (Wire(raw=b'{"a": NaN}', content_type="application/json"), "INPUT-04"),
    (Wire(), "INPUT-04"),
    (Wire(json={"email": "a@example.com", "password": "x"}, content_type="text/plain"), "INPUT-07"),
    (Wire(json={"email": "a@example.com", "password": "x"}, content_type=""), "INPUT-07"),
    (Wire(form=(("email", "a@example.com"), ("password", "x"))), "INPUT-07"),
])
def test_classification_against_the_clarified_schema(wire, requirement):
    shape = classify(wire)
    assert shape.requirement == requirement
    assert shape.valid == (requirement == "INPUT-09")


def test_secret_passwords_are_classified_by_value():
    secret = password_secret("pw")
    assert classify(Wire(json={"email": "a@example.com", "password": secret})).valid
    assert classify(Wire(json={"email": "a@example.com", "password": [secret]})).requirement == "INPUT-03"
    assert Wire(json=MISSING).json is MISSING


@pytest.mark.parametrize("value, unmistakable", [
    ("plainaddress", True), ("a@@b.c", True), ("a b@c.d", True), ("a@b..c", True), ("a@b.c.", True),
    ("a@b.c", False), ("a@b", False), ('"a b"@c.d', False), (7, False),
])
def test_unmistakably_not_an_email(value, unmistakable):
    assert unmistakably_not_an_email(value) is unmistakable


# ------------------------------------------------------------------------------------------- schemathesis checks
@pytest.mark.parametrize("status, body, headers, expected", [
    (401, {"error": "INVALID_CREDENTIALS"}, {}, []),
    (201, {"error": "ALREADY_LOGGEDIN"}, {}, []),
    (201, {"token": "t", "user_uuid": "u"}, {}, []),
    (401, {"message": "invalid credentials"}, {}, ["RESP-05"]),
    (201, {"token": "t", "user_uuid": "u", "username": None}, {}, ["RESP-02"]),
    (401, None, {"content-type": "text/html"}, ["RESP-04"]),
    (500, {"error": "INTERNAL_ERROR"}, {}, ["INPUT-09"]),
    # the client decoded the body already: the rebuilt response must not decode it again (nor trust its length)
    (401, {"error": "INVALID_CREDENTIALS"}, {"content-encoding": "gzip", "content-length": "3"}, []),
    (401, {"error": "INVALID_CREDENTIALS"}, {"content-encoding": "br"}, []),
    (201, {"token": "t", "user_uuid": "u"}, {"content-encoding": "deflate", "transfer-encoding": "chunked"}, []),
    (401, {"message": "invalid credentials"}, {"content-encoding": "gzip"}, ["RESP-05"]),
    # RFC 9457 problem details and other +json media types are JSON content types (RESP-04's statement)
    (401, {"error": "INVALID_CREDENTIALS", "type": "about:blank"}, {"content-type": "application/problem+json"}, []),
    (400, {"error": "INVALID_REQUEST"}, {"content-type": "application/vnd.api+json"}, []),
    (401, {"error": "INVALID_CREDENTIALS"}, {"content-type": "text/plain"}, ["RESP-04"]),
])
def test_schemathesis_response_checks_map_onto_requirements(status, body, headers, expected):
    raw = b"<html>no</html>" if body is None else None
    ex = exchange(status, body, headers, raw=raw)
    assert [f.requirement for f in schema_findings(ex, owner="INPUT-09")] == expected


# ------------------------------------------------------------------------------------------- settings
def test_fuzz_settings_default_to_a_fixed_seed(pytester):
    config = pytester.parseconfig("-p", "contract_tests.plugin")
    s = FuzzSettings.from_config(config)
    assert (s.examples, s.seed, s.seed_given) == (20, DEFAULT_SEED, False)
    assert "hypothesis seed 0" in s.describe()
    given_seed = FuzzSettings.from_config(pytester.parseconfig("-p", "contract_tests.plugin", "--hypothesis-seed=42",
                                                               "--fuzz-examples=3"))
    assert (given_seed.examples, given_seed.seed, given_seed.seed_given) == (3, 42, True)


# ------------------------------------------------------------------------------------------- the driver
class _StubClient:
    """Answers every login 401, except bodies whose "n" is over 50: those get a 500."""

    def __init__(self):
        self.limits = ClientLimits()
        self.requests_sent = 0
        self.failed_logins = 0
        self.observer = None
        self.redactor = Redactor()
        self.ledger = context.Ledger()  # the run's judging ledger, stamped on every exchange as the client does
        self.sent: list[int] = []

    @property
    def run_requests(self):
        return self.requests_sent

    @property
    def run_failed_logins(self):
        return self.failed_logins

    def send(self, request: LoginRequest):
        self.requests_sent += 1
        self.sent.append(request.json["n"])
        status = 500 if request.json["n"] > 50 else 401
        answer = exchange(status, {"error": "X"}, request=request)
        answer.ledger = self.ledger
        return answer


def _run_stub(examples=30):
    client = _StubClient()
    session = FuzzSession(FuzzSettings(examples, 0, False), client, None, "u@example.com", ["t"], {})
    ctx = Ctx("t", ("INPUT-09",))
    client.ledger.begin(ctx)
    try:
        def example(n, trial):
            def judge(ex):
                if ex.status >= 500:
                    record_failure("INPUT-09", ex, "a status below 500")
                else:
                    trial.checked_for("INPUT-09", ex)

            return Plan(LoginRequest(purpose=f"n={n}", expect="failure", json={"n": n}), judge)

        run = Fuzz(session)
        run.run(st.integers(min_value=0, max_value=10_000), example)
    finally:
        client.ledger.begin(None)
    return client, ctx, run


def test_only_the_shrunk_example_is_reported():
    client, ctx, run = _run_stub()
    failures = ctx.failed()
    assert len(failures) == 1  # not one per falsifying example tried while shrinking
    assert '{"n": 51}' in failures[0].message  # the minimal failing input, not the first one found
    assert "shrunk example 51" in failures[0].message
    assert max(client.sent) > 51 and client.sent.count(51) == 1  # found bigger, shrank; 51 not re-sent on replay
    assert run.shrink_steps > 0


def test_driver_is_deterministic_and_bounded():
    first, _, _ = _run_stub()
    second, _, _ = _run_stub()
    assert first.sent == second.sent
    from contract_tests.fuzz.runner import SHRINK_ALLOWANCE
    assert len(first.sent) <= 30 + SHRINK_ALLOWANCE


def test_passing_examples_are_recorded_per_requirement():
    client = _StubClient()
    session = FuzzSession(FuzzSettings(10, 0, False), client, None, "u@example.com", ["t"], {})
    ctx = Ctx("t", ("INPUT-09",))
    client.ledger.begin(ctx)
    try:
        def example(n, trial):
            return Plan(LoginRequest(purpose="n", expect="failure", json={"n": n}),
                        lambda ex: trial.checked_for("INPUT-09", ex))

        Fuzz(session).run(st.integers(min_value=0, max_value=50), example)
    finally:
        client.ledger.begin(None)
    passed = [o for o in ctx.observations if o.verdict is Verdict.PASSED]
    assert [o.requirement for o in passed] == ["INPUT-09"]
    assert passed[0].message.startswith(f"fuzz: {len(client.sent)} generated request(s)")
    assert len(set(client.sent)) == len(client.sent)  # no request sent twice


def test_the_next_property_is_planned_while_one_naming_the_account_waits_at_the_gate():
    from test_client import ACCOUNT, _client

    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sent.append(body.get("kind"))
        return httpx.Response(401, json={"error": "INVALID_CREDENTIALS"})

    client = _client(handler, in_flight=4, interleave_every=99)
    client.ledger = context.Ledger()

    def on_account(n, trial):
        return Plan(LoginRequest(purpose="a", expect="failure", real_account=trial.real_account(),
                                 json={"kind": "account", "email": ACCOUNT.email, "password": f"x{n}"}),
                    lambda ex: None)

    def elsewhere(n, trial):
        return Plan(LoginRequest(purpose="b", expect="failure", json={"kind": "other", "n": n}), lambda ex: None)

    properties = {"a": lambda fixture: (st.integers(0, 10**6), on_account),
                  "b": lambda fixture: (st.integers(0, 10**6), elsewhere)}
    session = FuzzSession(FuzzSettings(5, 0, False), client, ACCOUNT, "u@example.com", ["a", "b"], {"a": 1},
                          properties=properties, requirements={"a": ("AUTH-03",), "b": ("INPUT-09",)},
                          fixture=lambda name: None)
    for nodeid, ahead_before in (("a", 0), ("b", 5)):
        ctx = Ctx(nodeid, ("AUTH-03",) if nodeid == "a" else ("INPUT-09",))
        client.ledger.begin(ctx)
        try:
            assert len(client.answered_ahead(nodeid, timeout=10)) == ahead_before  # b's requests went ahead while a ran
            client.plan_key = nodeid  # as the plugin sets it for the running test
            Fuzz(session).run_property()
            client.discard_ahead(nodeid)
        finally:
            client.plan_key = None
            client.ledger.begin(None)
    assert sorted(sent) == ["account"] * 5 + ["other"] * 5  # b sent nothing of its own
    assert client.unused_ahead == 0 and client.sent_ahead == 10
    client.close()


# ------------------------------------------------------------------------------------------- as users run it
@pytest.fixture
def run(pytester, monkeypatch):
    for name in ("LOGIN_EMAIL", "LOGIN_PASSWORD", "PYTEST_BASE_URL", "PYTEST_ADDOPTS", "HYPER3D_REFERENCE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def _run(*args):
        return pytester.runpytest_inprocess(*SUITE, *args)

    return _run


def _section(output: str, test: str) -> str:
    """The failure report of one test in pytest's output."""
    match = re.search(rf"_+ {re.escape(test)} _+\n(.*?)(?=\n_{{3,}} |\n={{3,}} )", output, re.S)
    assert match, f"no failure section for {test}"
    return match.group(1)


def test_default_run_includes_fuzzing_within_budget(run):
    result = run("-v", "-rs")
    out = result.stdout.str()
    assert result.ret == 0
    assert "hyper3d-login fuzz: 20 examples per property (--fuzz-examples), hypothesis seed 0" in out
    assert len(re.findall(r"test_fuzz\.py::\S+ (PASSED|SKIPPED)", out)) == 6
    requests = int(re.search(r"requests sent: (\d+)", out).group(1))
    assert requests <= 300, requests


VARIANTS = ["error-in-201", "validation-422", "reject-unknown-fields", "already-loggedin", "rate-limit-429", "slow",
            "extra-fields", "rs256-kid"]


@pytest.mark.parametrize("variant", [None, *VARIANTS])
def test_fuzzing_stays_green_on_the_reference_and_its_variants(run, variant):
    # 10 examples per property keeps this quick (the default 20 run against the reference in the test above);
    # the slow variant verifies each password for ~100 ms: fewer examples, same properties.
    args = ["-k", "fuzz", "--fuzz-examples=2" if variant == "slow" else "--fuzz-examples=10"]
    if variant:
        args.append(f"--reference-variant={variant}")
    result = run(*args)
    assert result.ret == 0, result.stdout.str()[-3000:]


@pytest.mark.parametrize("fault, selection, requirement, test", [
    # at the default seed the suite's own invalid requests send a non-UTF-8 body first (schemathesis's negative mode,
    # its cases spread over more kinds of invalid body since the Authorization header is drawn apart, sends others)
    ("non-utf8-body-crash", "fuzz", "INPUT-04", "test_fuzz_contract_invalid_requests"),
    # the right credentials, coerced: INPUT-03 is charged, RESP-06 and INPUT-06 are named as "also affects"
    ("single-item-list-unwrapped", "fuzz", "INPUT-03", "test_fuzz_right_credentials_in_invalid_requests_never_log_in"),
    ("strip-password", "fuzz_near_miss", "AUTH-03", "test_fuzz_near_miss_passwords_never_log_in"),
    ("case-insensitive-password", "fuzz_near_miss", "AUTH-03", "test_fuzz_near_miss_passwords_never_log_in"),
    ("password-prefix-8", "fuzz_near_miss", "AUTH-03", "test_fuzz_near_miss_passwords_never_log_in"),
])
def test_fault_is_caught_by_a_fuzz_test(run, fault, selection, requirement, test):
    result = run(f"--reference-fault={fault}", "-k", selection)
    out = result.stdout.str()
    assert result.ret == 1, out[-3000:]
    section = _section(out, test)
    assert section.startswith(f"{requirement} [MUST]")  # the test's own requirement first
    assert "  reproduce: curl " in section and "  fuzz:      shrunk example " in section
    assert DEMO_PASSWORD not in out
    if requirement == "AUTH-03":
        assert 'os.environ["LOGIN_PASSWORD"]' in section


def test_hand_written_structure_probes_also_catch_the_non_utf8_crash(run):
    """The fuzzing fault was first found by the fuzz tests alone; the hand-written structure probes (a leading byte
    order mark, decoder extensions) now reach the same crash, so it fails INPUT-04 without the fuzzing too."""
    result = run("--reference-fault=non-utf8-body-crash", "-m", "not fuzz")
    assert result.ret == 1
    assert "FAILED INPUT-04 [MUST]" in result.stdout.str()


@pytest.fixture
def recorded(monkeypatch):
    """Every request the suite sends (method, path, query, headers, body), in order."""
    sent: list[tuple] = []
    original = httpx.AsyncClient.send

    async def send(self, request, **kwargs):
        headers = tuple((k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length"))
        sent.append((request.method, request.url.raw_path, headers, request.content))
        return await original(self, request, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "send", send)
    return sent


def test_same_seed_same_requests(run, recorded):
    args = ("-k", "fuzz", "--fuzz-examples=6")
    assert run(*args).ret == 0
    first = list(recorded)
    recorded.clear()
    assert run(*args).ret == 0
    # the same requests; in flight together (--in-flight), not always in the same order on the wire
    assert sorted(first) == sorted(recorded) and len(first) > 30
    recorded.clear()
    assert run(*args, "--hypothesis-seed=12345").ret == 0
    assert sorted(recorded) != sorted(first)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("bash")), reason="needs curl and bash")
def test_reproduction_is_copy_pasteable_with_login_password(run, monkeypatch):
    """Against a deployment (--base-url, credentials from the environment), the shrunk curl replays the failure."""
    with start_reference_server(fault="strip-password") as server:
        monkeypatch.setenv("LOGIN_EMAIL", DEMO_EMAIL)
        monkeypatch.setenv("LOGIN_PASSWORD", DEMO_PASSWORD)
        result = run(f"--base-url={server.url}", "-k", "fuzz_near_miss")
        section = _section(result.stdout.str(), "test_fuzz_near_miss_passwords_never_log_in")
        curl = re.search(r"  reproduce: (curl .*)", section).group(1)
        replay = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, check=True,
                                env=_shell_env(DEMO_PASSWORD))
        assert "201" in replay.stdout.splitlines()[0] and '"token"' in replay.stdout


def test_fuzzing_can_be_switched_off(run):
    result = run("-k", "fuzz", "--fuzz-examples=0", "-rs")
    assert result.ret == 10  # nothing observed: never CONFORMING, even on a narrowed scope
    assert "no MUST requirement was observed to hold" in result.stdout.str()
    assert result.stdout.str().count("fuzzing is off (--fuzz-examples 0)") >= 1
    result.assert_outcomes(skipped=6)


def test_no_hypothesis_files_in_the_working_tree(run, pytester, monkeypatch):
    from hypothesis import configuration

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    assert run("-k", "fuzz_schema_valid", "--fuzz-examples=3").ret == 0
    assert not (pytester.path / ".hypothesis").exists()
    where = configuration.storage_directory("constants", intent_to_write=False).path
    assert pytester.path not in where.parents and ROOT not in where.parents


def test_hand_written_probe_also_catches_the_unwrapped_single_item_list(run):
    """The fault was found by the fuzzing property alone, whose real-account examples go only while the failed-login
    budget lasts; the hand-written one-element-array probe of the account fails INPUT-03 without the fuzzing too."""
    result = run("--reference-fault=single-item-list-unwrapped", "-m", "not fuzz")
    assert result.ret == 1
    assert "FAILED INPUT-03 [MUST]" in result.stdout.str()


def test_the_examples_do_not_depend_on_the_local_code_imported(tmp_path, monkeypatch):
    """The same seed gives the same examples whatever code outside site-packages is imported (a checkout's modules, a
    user's conftest, what the run imports while it waits): hypothesis's draws of constants from that code's source are
    off for the suite's properties, so no string of a user's module is ever sent to the target either."""
    from hypothesis import strategies as st
    from hypothesis.internal.conjecture import providers

    from contract_tests.fuzz.config import FuzzSettings
    from contract_tests.fuzz.seeded import seeded_property, without_local_constants

    settings = FuzzSettings(examples=300, seed=5, seed_given=True)

    def draw() -> list[str]:
        drawn: list[str] = []
        seeded_property(settings, st.text(max_size=12), shrink=False)(lambda value: drawn.append(value))()
        return drawn

    before = draw()
    folder = tmp_path / "localcode"
    folder.mkdir()
    # strings that sort first: every constant hypothesis picks by position in its sorted set would move
    (folder / "canary_constants.py").write_text('CANARY = "!!zq-canary"\nOTHER = "!#zq-other"\nBIG = 98172345\n')
    monkeypatch.syspath_prepend(str(folder))
    try:
        import canary_constants  # noqa: F401 - imported for hypothesis to see it

        assert "!!zq-canary" in providers._get_local_constants().strings  # hypothesis takes it for local code
        with without_local_constants():
            assert len(providers._get_local_constants()) == 0
        after = draw()
    finally:
        sys.modules.pop("canary_constants", None)
    assert after == before
    assert not [value for value in before + after if "zq-" in value]

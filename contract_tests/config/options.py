"""The suite's command-line options and environment variables: cheap to import (every pytest session adds them)."""

from __future__ import annotations

import pytest

ENV_EMAIL = "LOGIN_EMAIL"
ENV_PASSWORD = "LOGIN_PASSWORD"
ENV_CAPTCHA = "LOGIN_CAPTCHA_TOKEN"
# bundled reference server only: the demo account's password (self-tests grep outputs for a distinctive one)
ENV_REFERENCE_PASSWORD = "HYPER3D_REFERENCE_PASSWORD"

GROUP = "hyper3d-login"
GROUP_TITLE = "hyper3d-login conformance suite"  # the one name of the group, in --help and README

BASE_URL_HELP = (
    "server root of the deployment under test, e.g. https://staging.example.com: not .../api, the suite appends "
    "/api/user/login (pytest-base-url's option; default: $PYTEST_BASE_URL; with neither, the hyper3d-login suite "
    "stops with a usage error unless --bundled-server asks for its bundled reference server)."
)
FAIL_ON_CHOICES = ("must", "should")
# the longest wait any time option may ask for: larger values are refused like inf (a typo, never a plan)
MAX_SECONDS = 86400.0


def add_options(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager | None = None) -> None:
    group = parser.getgroup(GROUP, GROUP_TITLE)
    if any("--fail-on" in option.names() for option in group.options):
        return  # added already: by the entry point and again by an explicit -p contract_tests.plugin
    add = group.addoption
    if pluginmanager is not None and pluginmanager.is_blocked("hypothesispytest"):
        # hypothesis's plugin declares it; `python -m contract_tests` blocks that plugin (suite.ini), so here it is
        add("--hypothesis-seed", metavar="SEED", default=None,
            help="seed of the fuzzing properties' examples (default: a fixed seed, the same requests every run).")
    add("--login-email", metavar="EMAIL", default=None,
        help=f"email of the test account (default: ${ENV_EMAIL}); the password is read from ${ENV_PASSWORD} only.")
    # --fail-on is checked by the suite (settings.py), not by argparse: a bad value then gets the suite's own line,
    # exit 4 and a report, not pytest's usage message
    add("--fail-on", default="must", metavar="must|should",
        help="lowest requirement level whose failure fails the run: must or should (default: must).")
    add("--bundled-server", action="store_true", default=False,
        help="with no --base-url / $PYTEST_BASE_URL: test the bundled reference server (a demo, not a deployment; "
             "its demo account provides the credentials); a given --base-url wins (default: off, no target is a "
             "usage error).")
    add("--without-credentials", action="store_true", default=False,
        help=f"without ${ENV_EMAIL} and ${ENV_PASSWORD}: run the credential-free subset and judge only it, saying "
             "so in the verdict (default: off, a run without credentials is INCONCLUSIVE, exit 10).")
    add("--report-dir", metavar="DIR", default=None,
        help="write conformance.json, conformance.md and conformance.html into DIR (default: none, no files).")
    add("--fail-on-inconclusive", action="store_true", default=False,
        help="an undecided SHOULD requirement also makes the run inconclusive (exit 10); an undecided MUST always "
             "does (default: off).")
    add("--waivers", metavar="FILE", default=None,
        help="YAML file of waived requirements (id, reason, expires); a waived failure does not gate "
             "(default: none).")
    add("--requirement", action="append", default=[], metavar="PATTERNS",
        help="check only these requirements: IDs or glob patterns, comma-separated, repeatable "
             "(e.g. AUTH-0*,INPUT-04); the other tests are deselected and the summary and reports say the scope "
             "was narrowed (default: all).")
    add("--list-requirements", action="store_true", default=False,
        help="list the requirements (ID, level, credentials, opt-in, title; those --requirement selects) and exit "
             "(default: off).")
    # numbers are declared as text and parsed by the suite (option_values.py): a bad value then still gets a report
    add("--timeout", type=str, default=10.0, metavar="SECONDS",
        help="hard deadline of each request: connect, send and the whole answer; three requests in a row without a "
             "complete answer end the run as could-not-test; capped at --run-deadline (default: 10).")
    add("--run-deadline", type=str, default=1200.0, metavar="SECONDS",
        help="longest run, pre-flight included: past it no request is sent and the checks not reached are reported "
             "blocked (default: 1200; at most 86400).")
    add("--max-requests", type=str, default=400, metavar="N",
        help="hard cap on requests sent in one run (default: 400).")
    add("--max-failed-logins", type=str, default=25, metavar="N",
        help="budget of failed logins on the real account per run (default: 25).")
    add("--in-flight", type=str, default=8, metavar="N",
        help="requests in flight at once: the independent requests (no earlier answer needed) are sent ahead N at a "
             "time and judged in test order; those naming the account keep the failed-login budget and its "
             "interleaved logins in the target's order; 1 sends each when its test runs. A 429 or lockout pauses "
             "them all (default: 8).")
    add("--lockout-policy", default=None, metavar="FAILURES/WINDOW",
        help="the target's account-lockout policy, e.g. 10/120s or 6/5m: that many failed logins for one identifier "
             "within that time lock it. The suite then spreads its failed logins so none locks (waiting within "
             "--max-retry-wait, else not sending them) and treats a lock without Retry-After as lasting the window "
             "(default: none; learned from the target's first lock answer, then at most one lock answer per lock).")
    add("--request-interval", type=str, default=0.0, metavar="SECONDS",
        help="minimum pause between two requests (default: 0).")
    add("--max-retry-wait", type=str, default=30.0, metavar="SECONDS",
        help="longest total back-off on 429 / RATE_LIMITED before a check is reported blocked (default: 30).")
    add("--max-token-lifetime", type=str, default=30.0, metavar="DAYS",
        help="longest acceptable token lifetime for TOKEN-02's SHOULD clause (default: 30 days).")
    add("--judge-anyway", action="store_true", default=False,
        help="judge a target whose answers do not look like the login API (only HTML pages, redirects, 5xx or "
             "non-JSON successes) instead of stopping with could-not-test (default: off).")
    add("--captcha-header", default="cf-turnstile-response", metavar="NAME",
        help=f"header carrying the captcha token from ${ENV_CAPTCHA} (default: cf-turnstile-response).")
    add("--captcha-error", default=r"captcha|turnstile|recaptcha", metavar="REGEX",
        help="an error value matching REGEX means the target demands a captcha (default: captcha|turnstile|recaptcha).")
    add("--unknown-email", default="conformance-unknown-7f3a9c@example.com", metavar="EMAIL",
        help="an address with no account on the target (default: conformance-unknown-7f3a9c@example.com).")
    add("--insecure", action="store_true", default=False,
        help="do not verify the target's TLS certificate (default: off, certificates are verified).")
    add("--require-credentials", action="store_true", default=False,
        help=f"treat missing credentials (${ENV_EMAIL}, ${ENV_PASSWORD}) as a configuration error, exit 4, instead "
             "of skipping the credentialed requirements (default: off).")
    # run-to-run comparison and the exchange log (README, section Baseline, replay and the exchange log)
    add("--baseline", metavar="FILE", default=None,
        help="conformance.json of an earlier run (e.g. the last deployment's, kept as a CI artifact): every report "
             "says per requirement what is new, worse (SHOULD -> MUST), fixed or still failing (default: none).")
    add("--fail-on-new", action="store_true", default=False,
        help="with --baseline: only a failure that is new or worse than in the baseline fails the run; known "
             "failures are reported, not gated (default: off, every failure at --fail-on gates).")
    add("--har", metavar="FILE", default=None,
        help="write every exchange of the run to FILE as HAR 1.2 (secrets and issued tokens as labels, bodies cut "
             "at 16 KiB), loadable by browser devtools (default: none).")
    add("--reference-fault", default=None, metavar="NAME",
        help="bundled reference server only: switch on a named fault, or several comma-separated, for "
             "self-testing (python -m contract_tests.reference --list) (default: none).")
    add("--reference-variant", default=None, metavar="NAME",
        help="bundled reference server only: run one conforming variant (default: none).")
    # opt-in probes (docs/probes.md): off unless named, never part of a default run
    add("--probe", action="append", default=[], metavar="NAMES",
        help="run opt-in probes, comma-separated: throttling, timing, captcha (or all). They hammer or time the "
             "target: for staging, not a production gate (default: none).")
    add("--timing-samples", type=str, default=30, metavar="N",
        help="timing probe: requests per group, wrong password and unknown account (default: 30).")
    add("--timing-threshold", type=str, default=20.0, metavar="MS",
        help="timing probe: smallest difference that matters; failed needs at least this (default: 20 ms).")
    add("--timing-alpha", type=str, default=0.01, metavar="P",
        help="timing probe: significance level of the Mann-Whitney U test (default: 0.01).")
    add("--throttle-attempts", type=str, default=100, metavar="N",
        help="throttling probe: failed logins per account before giving up (default: 100, the NIST limit).")
    add("--fuzz-examples", type=str, default=20, metavar="N",
        help="examples per fuzzing property (default: 20; 0 switches fuzzing off). Runs are repeatable: "
             "the seed is fixed unless --hypothesis-seed is given. See docs/fuzzing.md.")


def explain_base_url(config: pytest.Config) -> None:
    """pytest-base-url owns --base-url; give its --help entry what this suite needs said (the server root)."""
    parser = getattr(config, "_parser", None)
    for action in getattr(getattr(parser, "optparser", None), "_actions", ()):
        if "--base-url" in getattr(action, "option_strings", ()):
            action.help = BASE_URL_HELP

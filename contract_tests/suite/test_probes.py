"""Opt-in probes (ABUSE-01, SEC-07, CAPTCHA-01): they run only when --probe names them.

Otherwise the plugin marks them skipped ("opt-in, not enabled") at collection, before any fixture runs, so they
send nothing. Enabled, they run after every other test: captcha, then timing, then throttling (which may get
the suite's address throttled or the throwaway account locked). The logic is in contract_tests/abuse.py;
README, section Opt-in probes explains each probe and its request cost.
"""

import pytest

from contract_tests import abuse
from contract_tests.results import NO_CREDENTIALS
from contract_tests.settings import ENV_EMAIL, ENV_PASSWORD

requirement = pytest.mark.requirement


def _existing_account(suite):
    """The throwaway account when one is configured (that is what it is for), else the main one."""
    return suite.settings.probes.throwaway or suite.settings.account


@requirement("CAPTCHA-01")
def test_captcha_is_checked_before_the_credentials(suite, client):
    abuse.conclude(abuse.captcha_probe(client, account=_existing_account(suite),
                                       unknown_email=suite.settings.unknown_email))


@requirement("SEC-07")
def test_response_time_does_not_reveal_accounts(suite, client):
    account = _existing_account(suite)
    if account is None:
        pytest.skip(f"{NO_CREDENTIALS}: set {ENV_EMAIL} and {ENV_PASSWORD} (or a throwaway account) to time "
                    "wrong-password failures of an existing account")
    probes = suite.settings.probes
    abuse.conclude(abuse.timing_probe(client, account=account, unknown_email=suite.settings.unknown_email,
                                      samples=probes.timing_samples, threshold=probes.timing_threshold,
                                      alpha=probes.timing_alpha))


@requirement("ABUSE-01")
def test_repeated_failed_logins_are_throttled(suite, client):
    if suite.server is not None:
        abuse.switch_on_reference_throttle(suite.server.service)
    probes = suite.settings.probes
    abuse.conclude(abuse.throttling_probe(client, unknown_email=suite.settings.unknown_email,
                                          throwaway=probes.throwaway, attempts=probes.throttle_attempts))

"""Opt-in probes (ABUSE-01, SEC-07, CAPTCHA-01): they run only when --probe names them.

Otherwise the plugin marks them skipped ("opt-in, not enabled") at collection, before any fixture runs, so they
send nothing. Enabled, they run after every other test: captcha, then timing, then throttling (which may get
the suite's address throttled or the throwaway account locked). The logic is in contract_tests/probes/;
README, section Opt-in probes explains each probe and its request cost.
"""

import pytest

from contract_tests import bundled
from contract_tests.probes.captcha import captcha_probe
from contract_tests.probes.outcome import conclude
from contract_tests.probes.throttling import throttling_probe
from contract_tests.probes.timing import timing_probe
from contract_tests.judging.results import NO_CREDENTIALS
from contract_tests.config.settings import ENV_EMAIL, ENV_PASSWORD

requirement = pytest.mark.requirement


def _existing_account(suite):
    """The throwaway account when one is configured (that is what it is for), else the main one."""
    return suite.settings.probes.throwaway or suite.settings.account


@requirement("CAPTCHA-01")
def test_captcha_is_checked_before_the_credentials(suite, client):
    conclude(captcha_probe(client, account=_existing_account(suite),
                                       unknown_email=suite.settings.unknown_email))


@requirement("SEC-07")
def test_response_time_does_not_reveal_accounts(suite, client):
    account = _existing_account(suite)
    if account is None:
        pytest.skip(f"{NO_CREDENTIALS}: set {ENV_EMAIL} and {ENV_PASSWORD} (or a throwaway account) to time "
                    "wrong-password failures of an existing account")
    probes = suite.settings.probes
    conclude(timing_probe(client, account=account, unknown_email=suite.settings.unknown_email,
                                      samples=probes.timing_samples, threshold=probes.timing_threshold,
                                      alpha=probes.timing_alpha))


@requirement("ABUSE-01")
def test_repeated_failed_logins_are_throttled(suite, client):
    if suite.server is not None:
        bundled.switch_on_throttle(suite.server)
    probes = suite.settings.probes
    conclude(throttling_probe(client, unknown_email=suite.settings.unknown_email,
                                          throwaway=probes.throwaway, attempts=probes.throttle_attempts))

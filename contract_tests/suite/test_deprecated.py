"""The deprecated `username` field (DEPR-01 .. DEPR-03)."""

import pytest

from contract_tests.judging import checks
from contract_tests.judging.verdicts import expect, fail, inconclusive

requirement = pytest.mark.requirement


@requirement("DEPR-01")
def test_username_holding_email_logs_in_same_account(send, account, user_uuid):
    ex = send(
        "deprecated username field holding the account's email, no email field",
        "success",
        json={"username": account.email, "password": account.password},
        real_account=True,
    )
    expect("DEPR-01", ex, checks.same_account, user_uuid)


@requirement("DEPR-02")
def test_email_decides_when_both_present(send, account, user_uuid):
    ex = send(
        "right email, a different (unknown) username",
        "success",
        json={"email": account.email, "username": "conformance-other-user@example.com", "password": account.password},
        real_account=True,
    )
    expect("DEPR-02", ex, checks.same_account, user_uuid)


_DOMAIN = "@example.com"
USERNAMES = {
    # name: (username, is it within maxLength 80?)
    "80-ascii": ("u" * (80 - len(_DOMAIN)) + _DOMAIN, True),
    "80-emoji": ("\U0001f600" * (80 - len(_DOMAIN)) + _DOMAIN, True),
    "81-ascii": ("u" * (81 - len(_DOMAIN)) + _DOMAIN, False),
    "81-emoji": ("\U0001f600" * (81 - len(_DOMAIN)) + _DOMAIN, False),
}


@requirement("DEPR-03")
@pytest.mark.parametrize("name", USERNAMES)
def test_username_max_length_counts_code_points(send, signatures, name):
    """maxLength 80 counts Unicode code points: 80 is a credential failure, 81 a validation failure."""
    username, within = USERNAMES[name]
    ex = send(
        f"username of {len(username)} code points ({name})",
        "failure" if within else "invalid",
        json={"username": username, "password": "Unknown-Acc0unt-Passw0rd!"},
    )
    expect("DEPR-03", ex, checks.not_5xx)
    if not signatures.distinguishable:
        inconclusive(f"validation and credential failures look alike ({signatures.describe()})")
    kind = signatures.classify(ex)
    wanted = "credential" if within else "validation"
    if kind == wanted:
        return
    if kind == "unknown":
        inconclusive(f"answer matches neither learned signature ({signatures.describe()})")
    fail(
        "DEPR-03",
        ex,
        f"a {wanted} failure ({signatures.describe()})",
        f"a {kind} response: " + ex.describe_response(200),
        level=None if within else "SHOULD",  # accepting 81 code points breaks no client
    )

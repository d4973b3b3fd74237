"""Property-based fuzzing, driven by the clarified OpenAPI document (contract_tests/fuzz, README, section Property-based fuzzing).

Each test runs one hypothesis property through the suite's client: ``--fuzz-examples`` examples (default 20)
with a fixed seed unless ``--hypothesis-seed`` is given.  A violation is reported for the shrunk example,
under the requirement it breaks, with a curl reproduction.  These tests run after the hand-written ones
(conftest.py) and spend only what those leave of the request cap and of the failed-login budget.
"""

import pytest

# hypothesis and schemathesis (about a second to import, more where no bytecode is cached) load when a fuzzing test
# runs, not when the suite is collected: each test imports what it generates and judges
from contract_tests.fuzz import fuzz_settings
from contract_tests.fuzz.config import keep_hypothesis_out_of_the_working_tree

requirement = pytest.mark.requirement
fuzz = pytest.mark.fuzz


@pytest.fixture(scope="session")
def fuzzing(request: pytest.FixtureRequest, suite, hand_written_checks_done):  # xdist: those of the whole run
    from contract_tests.fuzz import FuzzSession

    keep_hypothesis_out_of_the_working_tree()  # before hypothesis generates anything
    selected = [item for item in request.session.items if item.get_closest_marker("fuzz")]
    session = FuzzSession(
        fuzz_settings(request.config),
        suite.client,
        suite.settings.account,
        suite.settings.unknown_email,
        nodeids=[item.nodeid for item in selected],
        spenders={item.nodeid: int(item.get_closest_marker("fuzz").kwargs.get("spends_budget", 0)) for item in selected},
        # each property as (strategy, example), built from session fixtures: with requests in flight, every
        # property is planned at the first one, so that the requests of all of them are in flight while the
        # examples of the next are generated (those naming the account wait at the account gate meanwhile)
        properties={item.nodeid: item.get_closest_marker("fuzz").kwargs["prop"] for item in selected},
        requirements={item.nodeid: tuple(rid for mark in item.iter_markers("requirement") for rid in mark.args)
                      for item in selected},
        fixture=request.getfixturevalue,
    )
    # whenever a test waits for an answer (the account's requests pass the account gate one group at a time), the
    # properties that do not name the account are generated and their requests sent meanwhile
    suite.warm_up.repeat("fuzzing ahead", session.plan_next)
    return session


# -- the properties: (strategy, example) from the session fixtures they need ---------------------------------------
def schema_valid(fixture):
    from contract_tests.fuzz import properties, strategies

    return strategies.schema_valid_requests(), properties.schema_valid_example


def schema_invalid(fixture):
    from contract_tests.fuzz import properties, strategies

    return strategies.schema_invalid_requests(), properties.schema_invalid_example(fixture("signatures"))


def contract_invalid(fixture):
    from contract_tests.fuzz import properties, strategies

    return strategies.contract_mutations(), properties.schema_invalid_example(fixture("signatures"))


def extra_properties(fixture):
    from contract_tests.fuzz import properties, strategies

    return strategies.extra_properties(), properties.extra_properties_example(fixture("account"), fixture("user_uuid"))


def credential_misuse(fixture):
    from contract_tests.fuzz import properties, strategies

    return strategies.credential_misuses(), properties.credential_misuse_example(fixture("account"))


def near_miss(fixture):
    from contract_tests.fuzz import passwords, properties

    account = fixture("account")
    return passwords.near_miss_passwords(account.password), properties.near_miss_example(account)


# -- the tests ---------------------------------------------------------------------------------------------------------
# Those naming the account first: their requests pass the account gate a few at a time, and with requests in flight
# the properties after them are generated meanwhile (FuzzSession.plan_next).
@fuzz(prop=extra_properties, spends_budget=True)
@requirement("INPUT-10")
def test_fuzz_extra_properties_keep_the_account(fuzzing, account, user_uuid):
    """The right credentials plus arbitrary unknown properties log in the same account or get a 4xx."""
    from contract_tests.fuzz import Fuzz

    run = Fuzz(fuzzing)
    run.run_property()
    run.require_real_account("INPUT-10 fuzzing")


@fuzz(prop=credential_misuse, spends_budget=True)
@requirement("RESP-06", "INPUT-03")
def test_fuzz_right_credentials_in_invalid_requests_never_log_in(fuzzing, account):
    """The right credentials in schema-invalid requests (wrapped in arrays or operator objects, under renamed
    fields, next to an invalid username, in non-JSON bodies) never log in and never cause a 5xx."""
    from contract_tests.fuzz import Fuzz

    run = Fuzz(fuzzing)
    run.run_property()
    run.require_real_account("credential-misuse fuzzing")


@fuzz(prop=near_miss, spends_budget=2)  # twice the share of the others: the property that needs failed logins most
@requirement("AUTH-03")
def test_fuzz_near_miss_passwords_never_log_in(fuzzing, account):
    """Near-misses derived from the real password (case, insertions, deletions, truncations, whitespace,
    look-alikes, combining marks, NUL and control characters) never log in."""
    from contract_tests.fuzz import Fuzz

    run = Fuzz(fuzzing)
    run.run_property()
    run.require_real_account("AUTH-03 fuzzing")


@fuzz(prop=schema_valid)
@requirement("RESP-04", "RESP-05", "RESP-06", "INPUT-09")
def test_fuzz_schema_valid_requests(fuzzing):
    """Schemathesis positive mode (random credentials): never 5xx, never a token; documented answers."""
    from contract_tests.fuzz import Fuzz

    Fuzz(fuzzing).run_property()


@fuzz(prop=schema_invalid)
@requirement("INPUT-01", "INPUT-02", "INPUT-03", "INPUT-04", "INPUT-06", "RESP-04", "RESP-05", "RESP-06")
def test_fuzz_schema_invalid_requests(fuzzing, signatures):
    """Schemathesis negative mode: never 5xx, never a token, and the answer the requirement of the request's
    kind asks for (each case judged under that requirement: missing fields, wrong types, malformed bodies...)."""
    from contract_tests.fuzz import Fuzz

    Fuzz(fuzzing).run_property()


@fuzz(prop=contract_invalid)
@requirement("INPUT-04", "INPUT-06", "INPUT-07", "RESP-04", "RESP-05", "RESP-06")
def test_fuzz_contract_invalid_requests(fuzzing, signatures):
    """The invalid requests the OpenAPI document cannot express: non-UTF-8 and malformed JSON, non-object bodies,
    non-JSON content types, over-long usernames, unmistakably malformed emails, wrong types, missing fields."""
    from contract_tests.fuzz import Fuzz

    Fuzz(fuzzing).run_property()

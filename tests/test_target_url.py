"""The --base-url a run is pointed at: which values can be a server root, and its password never shown."""

from __future__ import annotations

import pytest

from contract_tests.sending.target_url import base_url_problem, shown_url, url_password


@pytest.mark.parametrize("url", [
    "https://staging.example.com", "http://127.0.0.1:8080/", "https://example.com/hyper3d", "http://[::1]:3000",
    "https://ci:secret@example.com", "https://example.com/api/user",
])
def test_a_server_root_has_no_problem(url):
    assert base_url_problem(url) is None


@pytest.mark.parametrize("url, problem", [
    ("ftp://example.com", "not an http(s) URL with a host"),
    ("http://", "not an http(s) URL with a host"),
    ("http://[::1", "not a valid URL (Invalid IPv6 URL)"),
    ("http://127.0.0.1:99999", "not a valid URL (Port out of range 0-65535)"),
    ("http://example.com:port", "not a valid URL"),
    ("http://exa mple.com", "it contains whitespace"),
    ("https://example.com/?x=1", "a server root has no query or fragment"),
    ("https://example.com/#top", "a server root has no query or fragment"),
    ("https://example.com/api/user/login", "it names the login operation itself"),
    ("https://example.com/prefix/api/user/login/", "it names the login operation itself"),
])
def test_what_cannot_be_a_server_root_is_said(url, problem):
    assert base_url_problem(url).startswith(problem)


@pytest.mark.parametrize("url, password, shown", [
    ("https://ci:s3cret@example.com/x", "s3cret", "https://ci:<url-password>@example.com/x"),
    ("https://ci:p@ss@example.com", "p@ss", "https://ci:<url-password>@example.com"),  # up to the host's @
    ("https://ci:s3cret@[::1", "s3cret", "https://ci:<url-password>@[::1"),  # found though the URL does not parse
    ("https://ci@example.com", None, "https://ci@example.com"),
    ("https://example.com/a:b@c", None, "https://example.com/a:b@c"),  # a path is no user part
])
def test_the_password_is_found_and_hidden_even_in_a_url_that_does_not_parse(url, password, shown):
    assert url_password(url) == password
    assert shown_url(url) == shown

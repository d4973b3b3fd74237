"""The server root a run is pointed at (--base-url): whether it can be one, said in a line, never echoing its password."""

from __future__ import annotations

import re
import urllib.parse

from .exchange import LOGIN_PATH

# scheme, user name and password of a URL's user part (up to the last @ before the path), found without parsing it
_USER_PART = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/?#@:]*)(?::(?P<password>[^/?#]*))?@")


def base_url_problem(url: str) -> str | None:
    """Why *url* cannot be the server root of a deployment (None: it can). The suite appends the login path itself."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL with a host"
    if any(ch.isspace() for ch in url):
        return "it contains whitespace"
    if parts.query or parts.fragment:
        return "a server root has no query or fragment"
    if parts.path.rstrip("/").endswith(LOGIN_PATH):
        return f"it names the login operation itself: give the server root, the suite appends {LOGIN_PATH}"
    return None


def url_password(url: str) -> str | None:
    """The password *url* carries (``https://user:password@host``), found even when the rest does not parse."""
    match = _USER_PART.match(url)
    return (match["password"] or None) if match else None


def shown_url(url: str) -> str:
    """*url* for a message: a password in it (``https://user:password@host``) replaced by a label, even when the rest
    does not parse."""
    match = _USER_PART.match(url)
    if match is None or match["password"] is None:
        return url
    return f"{match['scheme']}{match['user']}:<url-password>@{url[match.end():]}"


def without_user_part(url: str) -> str:
    """*url* without ``user:password@``, found even when the rest does not parse."""
    return _USER_PART.sub(lambda match: match["scheme"], url, count=1)

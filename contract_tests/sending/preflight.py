"""Pre-flight: before any check runs or any failed login is spent, is this target testable at all?

Three questions, each answered with one line and could-not-test (exit 4) when the answer is no:
the target answers (reachable, TLS, HTTP); the endpoint looks like the login API (not only HTML pages,
redirects or 5xx, unless ``--judge-anyway``); the configured credentials log in.
The pre-flight counts against ``--run-deadline``: past it, no further pre-flight request is sent (``--timeout`` is
capped at the run deadline, so one request cannot outlast it either).
"""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

from .client import Account, ContractClient, NotSent, TargetError
from .exchange import LOGIN_PATH, NOT_JSON, Exchange, LoginRequest, visible

NO_SUCH_PATH = "/api/user/login-conformance-no-such-path"


class CannotTest(Exception):
    """The target cannot be tested; the message is the one line the user sees."""


def check_target(client: ContractClient, account: Account | None, *, judge_anyway: bool = False) -> Exchange | None:
    """Run the pre-flight; returns the login with the configured credentials (RESP-01 judges it later)."""
    url = client.base_url
    _within_deadline(client)
    try:
        probe = client.probe()
    except TargetError as exc:
        raise CannotTest(unreachable(url, exc)) from None
    login = None
    if probe.status == 404 and _endpoint_missing(client, probe):
        # a 404 to an unknown account can be the API's own answer (a user-not-found exception mapped to 404, in an
        # error shape that also says "Not Found" for a missing route): the configured account's login tells
        if account is not None:
            _within_deadline(client)
            login = _login(client, account)
        if login is None or not login.token:
            hint = (" --base-url is the server root: drop the trailing /api (the suite appends /api/user/login)."
                    if url.rstrip("/").endswith("/api") else
                    " --base-url must be the server root; the suite appends /api/user/login.")
            raise CannotTest(f"{url}/api/user/login answered 404 Not Found.{hint}")
    answers = [probe]
    _within_deadline(client)
    if account is not None:
        login = login or _login(client, account)
        answers.append(login)
    else:
        answers.append(_send_probe(client, LoginRequest(
            purpose="pre-flight: an empty JSON object", expect="invalid", json={})))
    if not judge_anyway and not any(looks_like_the_api(ex) for ex in answers):
        said = "; ".join(f"{ex.request.purpose.removeprefix('pre-flight: ')}: {describe(ex)}" for ex in answers)
        moved = moved_to(answers)
        advice = (f"It redirects the login to {moved}{LOGIN_PATH} (a redirected POST loses its body, and the "
                  f"documented client follows it as a GET): use --base-url={moved}" if moved else
                  "Check --base-url; --judge-anyway judges it nonetheless")
        raise CannotTest(
            f"{url}/api/user/login does not look like the login API (it answers only with HTML pages, redirects, "
            "server errors or non-JSON successes): "
            f"{said}. {advice}")
    if login is not None and not login.token and _credentials_refused(client, login):
        raise CannotTest(
            f"the configured credentials do not log in ({account.email}): {describe(login)}. "
            "Check LOGIN_EMAIL / LOGIN_PASSWORD (a locked or disabled account answers this way too). That one "
            "login reached the server, and a lockout policy counts it as a failed login; nothing else was sent to "
            "the account")
    return login


def moved_to(answers: list[Exchange]) -> str | None:
    """The server root every answer redirects the login endpoint to (an http:// URL moved to https://, a host
    name behind another one), when they all agree; None otherwise."""
    roots = set()
    for ex in answers:
        location = ex.headers.get("location") if ex.status and 300 <= ex.status < 400 else None
        if not location:
            return None
        target = urlsplit(urljoin(ex.base_url.rstrip("/") + ex.request.path, location.strip()))
        if not target.path.endswith(LOGIN_PATH) or target.scheme not in ("http", "https"):
            return None
        roots.add(f"{target.scheme}://{target.netloc}{target.path.removesuffix(LOGIN_PATH)}")
    return roots.pop() if len(roots) == 1 else None


def _within_deadline(client: ContractClient) -> None:
    deadline = client.limits.run_deadline
    if deadline is not None and time.monotonic() >= deadline:
        raise CannotTest("the run deadline was reached during the pre-flight (--run-deadline): the target answers "
                         "too slowly to be tested in that time; nothing was judged")


def looks_like_the_api(ex: Exchange) -> bool:
    """Any answer an API could give: not a redirect, not a 5xx, not an HTML page, not a non-JSON 2xx."""
    if ex.status is None or ex.status >= 500 or 300 <= ex.status < 400 or is_html(ex):
        return False
    return ex.json is not NOT_JSON or ex.status >= 400


def is_html(ex: Exchange) -> bool:
    media = ex.content_type.split(";")[0].strip().lower()
    head = ex.body[:200].lstrip().lower()
    return media in ("text/html", "application/xhtml+xml") or head.startswith((b"<!doctype html", b"<html"))


def describe(ex: Exchange, limit: int = 80) -> str:
    """``302 text/html 'hello'``: status, media type and the start of the body, on one line."""
    if ex.transport_error:
        return f"no answer ({ex.transport_error})"
    media = ex.content_type.split(";")[0].strip() or "no content type"
    text = " ".join(ex.text.split())
    body = repr(text[:limit] + ("…" if len(text) > limit else "")) if text else "empty body"
    if ex.truncated:
        body += f" (body cut at {len(ex.body)} bytes: the rest was not read)"
    where = f" to {ex.headers['location']}" if ex.status and 300 <= ex.status < 400 and "location" in ex.headers else ""
    return ex.redactor(visible(f"status {ex.status}{where}, {media}, {body}"))


def _credentials_refused(client: ContractClient, login: Exchange) -> bool:
    if client.demands_captcha(login):
        return False  # the credentialed checks will say "blocked: captcha"; not a configuration error
    return login.error not in (None, "") or login.status in (401, 403)


def _login(client: ContractClient, account: Account) -> Exchange:
    request = LoginRequest(purpose="pre-flight: login with the configured credentials", expect="success",
                           json=account.body(), real_account=True, requirement="RESP-01", allow_captcha_error=True)
    try:
        return client.send(request, observe=False)
    except NotSent as exc:  # rate limited past --max-retry-wait, no answer, request cap
        raise CannotTest(f"the login with the configured credentials could not be made: {exc.reason}") from None


def _send_probe(client: ContractClient, request: LoginRequest) -> Exchange:
    _within_deadline(client)
    try:
        return client.probe(request)
    except TargetError as exc:
        raise CannotTest(unreachable(client.base_url, exc)) from None


def unreachable(url: str, exc: TargetError) -> str:
    """The one line for a target that cannot be talked to: "cannot reach" only when no connection was made."""
    return f"{url} was reached, but {exc}" if exc.reached else f"cannot reach {url}: {exc}"


def _endpoint_missing(client: ContractClient, probe: Exchange) -> bool:
    """A 404 that looks like the answer to a path that surely does not exist (not NO_SUCH_USER)."""
    other = _send_probe(client, LoginRequest(purpose="pre-flight: 404 comparison", expect="any", json={},
                                             path=NO_SUCH_PATH))
    return other.status == 404 and (other.body == probe.body or probe.error in (None, other.error))

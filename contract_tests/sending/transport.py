"""What happened on the wire when a request got no complete answer: a kind the checks branch on, and one line a
framework team understands.

The kind is decided from types and from the request's :class:`~.wire_log.WireLog` (how much was written, whether a
write failed, whether anything came back and whether it looked like TLS), never from an exception's wording; the
line says what happened in the target's terms ("reset the connection while the body was being sent, 1.2 MiB of 3
MiB written"), with the likely fix where the evidence points to one ("is it https://?"). Nothing here is a verdict:
the judging side decides what a kind means for a requirement.
"""

from __future__ import annotations

import enum
import errno
import os
import re
import socket
import ssl
from dataclasses import dataclass

import httpx

from .wire_log import WireLog


class Failure(enum.Enum):
    """Kinds of transport outcome without a complete answer."""

    TIMEOUT = "timeout"  # no complete answer within --timeout (connect, upload, wait or a trickling body)
    TLS_HANDSHAKE_TIMEOUT = "TLS handshake timeout"  # connected, the TLS handshake got no answer
    RESET_WHILE_UPLOADING = "reset while uploading"  # the connection broke before the body was written, no answer
    RESET = "reset"  # the target reset the connection after the request was written, before an answer
    CLOSED = "closed before a response"  # the target closed the connection without a word
    REFUSED = "connection refused"
    DNS = "DNS lookup failed"
    CONNECT = "connection failed"  # unreachable network or host, other connect errors
    TLS = "TLS error"  # certificate or handshake failure
    TLS_TO_PLAIN_PORT = "TLS to a plain HTTP port"  # https:// to a port that speaks plain HTTP
    PLAIN_TO_TLS_PORT = "plain HTTP to a TLS port"  # http:// to a port that speaks TLS
    PROTOCOL = "protocol error"  # bytes came back, but not HTTP
    NOT_SENDABLE = "not sendable"  # HTTP cannot carry the request (the suite's side, nothing reached the target)

    @property
    def ended_without_answer(self) -> bool:
        """The target ended the connection after the request (or part of it) reached it, without an answer."""
        return self in (Failure.RESET_WHILE_UPLOADING, Failure.RESET, Failure.CLOSED)


@dataclass(frozen=True)
class TransportFailure:
    kind: Failure
    message: str
    reached: bool = True  # the target answered something (a TLS or HTTP problem, a partial answer): not "cannot reach"

    @property
    def left(self) -> bool:
        """The request went to the target (False: HTTP could not carry it; nothing is said about the target)."""
        return self.kind is not Failure.NOT_SENDABLE

    def __str__(self) -> str:
        return self.message


def size_text(n: int) -> str:
    """``3 MiB (3,145,728 bytes)``, ``712 bytes``: a size a reader takes in at a glance, exact when it matters."""
    if n < 1024:
        return f"{n} bytes"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            value = n / scale
            shown = f"{value:.0f}" if value == int(value) else f"{value:.1f}"
            return f"{shown} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"  # pragma: no cover


def _chain(exc: BaseException):
    """*exc* and the exceptions it was raised from or during (those of an exception group included: anyio's
    "All connection attempts failed" holds the attempts' errors)."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        exc = todo.pop(0)
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo += [exc.__cause__ or exc.__context__, *getattr(exc, "exceptions", ())]


def _find(exc: BaseException, kind: type) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _errno_in(exc: BaseException, *codes: int) -> bool:
    return any(isinstance(e, OSError) and e.errno in codes for e in _chain(exc))


IS_IT_HTTPS = "if that port serves HTTPS, use https:// in --base-url"
HINT_MAX_BODY = 16 * 1024


def classify(exc: BaseException, *, scheme: str, timeout: float, size: int, wire: WireLog | None) -> TransportFailure:
    """The kind of *exc* (raised sending a request of *size* body bytes to a *scheme* URL) and its one line."""
    if isinstance(exc, httpx.LocalProtocolError):
        return TransportFailure(Failure.NOT_SENDABLE, "the suite could not send this request as HTTP (not the "
                                f"target's doing): {_text(exc)}", reached=False)
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return _timeout(timeout, size, wire)
    if isinstance(exc, httpx.DecodingError):  # status and headers came, the body is not what they say it is
        return TransportFailure(Failure.PROTOCOL, "the answer's body could not be decoded as its Content-Encoding "
                                f"says ({_text(exc)}): a Content-Encoding header on a body that is not so encoded, "
                                "or one compressed twice (a proxy and the application both compressing)")
    if isinstance(exc, httpx.ConnectError) and not (wire is not None and wire.tls_done):
        return _connect_failure(exc, wire)
    return _no_answer(exc, scheme, size, wire)


def _timeout(timeout: float, size: int, wire: WireLog | None) -> TransportFailure:
    within = f"no complete answer within {timeout:g} s (--timeout bounds the whole request)"
    if wire is not None and wire.tls and not wire.tls_done:
        return TransportFailure(Failure.TLS_HANDSHAKE_TIMEOUT, tls_handshake_timeout(timeout))
    if wire is None:
        return TransportFailure(Failure.TIMEOUT, within, reached=False)
    if not wire.connected:
        return TransportFailure(Failure.TIMEOUT, f"{within}: no connection could be made", reached=False)
    if wire.answered:
        return TransportFailure(Failure.TIMEOUT, f"{within}: {wire.answered:,} bytes of an answer came in that time")
    if size and wire.head_size is not None and wire.body_written < size:
        return TransportFailure(Failure.TIMEOUT, f"{within}: the target stopped taking the body after "
                                f"{size_text(wire.body_written)} of {size_text(size)}, and said nothing")
    sent = f" (body: {size_text(size)})" if size else ""
    interim = " but 100 Continue" if wire.interim else ""
    return TransportFailure(Failure.TIMEOUT, f"{within}: the request was sent in full{sent}, and nothing{interim} "
                            "came back")


def _connect_failure(exc: BaseException, wire: WireLog | None) -> TransportFailure:
    failed_ssl = _find(exc, ssl.SSLError)
    text = _text(exc)
    if failed_ssl is not None or _SSL_TEXT.search(text):
        description, kind = describe_tls_error(str(failed_ssl) if failed_ssl is not None else text)
        return TransportFailure(kind, description)
    if wire is not None and wire.tls:
        return TransportFailure(Failure.TLS, "the target closed the connection during the TLS handshake: is that "
                                "port serving HTTPS? (use http:// for a plain HTTP port)")
    if _find(exc, ConnectionResetError) is not None:
        return TransportFailure(Failure.RESET, "the target reset the connection as soon as it was made (a listener "
                                "that turns connections away, a proxy without a backend)", reached=False)
    if _find(exc, socket.gaierror) is not None or _DNS_TEXT.search(text):
        return TransportFailure(Failure.DNS, f"DNS lookup failed: {text}", reached=False)
    if _find(exc, ConnectionRefusedError) is not None or _errno_in(exc, errno.ECONNREFUSED) \
            or _REFUSED_TEXT.search(text):
        return TransportFailure(Failure.REFUSED, f"connection refused ({text}): nothing listens on that port; is the "
                                "server running, and is it the right port?", reached=False)
    return TransportFailure(Failure.CONNECT, f"connection failed: {text}", reached=False)


def _no_answer(exc: BaseException, scheme: str, size: int, wire: WireLog | None) -> TransportFailure:
    reset = _find(exc, ConnectionResetError) is not None or _errno_in(exc, errno.ECONNRESET, errno.EPIPE)
    received = wire.answered if wire is not None else None
    if wire is not None and scheme == "http" and wire.looks_like_tls:
        return TransportFailure(Failure.PLAIN_TO_TLS_PORT, "the target answered plain HTTP with TLS bytes: that "
                                "port speaks TLS; use https:// in --base-url")
    if isinstance(exc, httpx.RemoteProtocolError) and (wire is None or received):  # bytes came back, not HTTP
        return TransportFailure(Failure.PROTOCOL, f"the target did not answer with valid HTTP: {_text(exc)}")
    # a TLS port given plain HTTP ends the connection at once: said for a small request that got no answer at all
    hint = f"; {IS_IT_HTTPS}" if scheme == "http" and not received and size <= HINT_MAX_BODY else ""
    reached = bool(received)  # nothing came back: all that is known is that the target could not be talked to
    early = "an edge refusing an oversized body from its headers does this, and so does a crash"
    if wire is not None and wire.write_error is not None and size and wire.body_written < size:
        return TransportFailure(Failure.RESET_WHILE_UPLOADING, (
            f"the target {'reset' if reset or not isinstance(exc, httpx.RemoteProtocolError) else 'closed'} the "
            f"connection while the body was still being sent (about {size_text(wire.body_written)} of "
            f"{size_text(size)} written), and no answer could be read: {early}"), reached)
    if reset and size > HINT_MAX_BODY:
        # a reset, not an orderly close: the target's side closed with body bytes it had not read
        return TransportFailure(Failure.RESET_WHILE_UPLOADING, (
            f"the target reset the connection before taking the whole {size_text(size)} body (a reset, not an "
            f"orderly close: bytes it had not read were pending), and no answer could be read: {early}"), reached)
    body = (f" (the {size_text(size)} body was handed over; the target may have refused it before reading it all)"
            if size > HINT_MAX_BODY else "")
    if reset:
        return TransportFailure(Failure.RESET, f"the target reset the connection before answering{body}{hint}",
                                reached)
    return TransportFailure(Failure.CLOSED, f"the target closed the connection without answering{body}{hint}",
                            reached)


def _text(exc: BaseException) -> str:
    """The exception's own words, or its type's name when it has none (never ``ReadError: ReadError``)."""
    for e in _chain(exc):
        if str(e):
            return str(e)
    return type(exc).__name__


# Library words used only where no type says it (the exception was built without its cause, as a mock transport
# does): the kind is still decided by the type first.
_SSL_TEXT = re.compile(r"\[SSL|certificate verify failed", re.I)
_DNS_TEXT = re.compile(r"name or service not known|nodename nor servname|getaddrinfo|temporary failure in name "
                       r"resolution", re.I)
_REFUSED_TEXT = re.compile(r"\[Errno (111|61|10061)\]|connection refused", re.I)
_SSL_ERROR = re.compile(r"\[SSL(?:: (?P<code>[A-Z0-9_]+))?\]\s*(?P<text>.*?)\s*(?:\(_ssl\.c:\d+\))?$", re.S)
TRUST_A_PRIVATE_CA = ("to trust a private CA, export SSL_CERT_FILE=/path/to/ca-bundle.pem (or SSL_CERT_DIR; httpx "
                      "honours both)")
INSECURE = "--insecure skips certificate verification altogether (only for a staging server you trust)"


def describe_tls_error(text: str) -> tuple[str, Failure]:
    """Which TLS failure it was (certificate not trusted, host name mismatch, expired, plain HTTP on that port,
    handshake failure), said once, with the fix that fits it: SSL_CERT_FILE and --insecure only for a certificate."""
    match = _SSL_ERROR.search(text)
    code = (match.group("code") or "") if match else ""
    detail = (match.group("text") if match else text).strip() or code.lower().replace("_", " ")
    lowered = f"{code} {detail}".lower()
    if code == "CERTIFICATE_VERIFY_FAILED" or "certificate verify failed" in lowered:
        reason = detail.split("certificate verify failed", 1)[-1].lstrip(": ").rstrip(".") or "no reason given"
        if "mismatch" in lowered:
            return (f"TLS certificate verify failed: host name mismatch ({reason}); put a host name the certificate "
                    f"names in --base-url. {INSECURE}"), Failure.TLS
        if "expired" in lowered or "not yet valid" in lowered:
            return (f"TLS certificate verify failed: {reason}; the server needs a valid certificate. {INSECURE}",
                    Failure.TLS)
        return (f"TLS certificate verify failed: the certificate is not trusted ({reason}); {TRUST_A_PRIVATE_CA}. "
                f"{INSECURE}"), Failure.TLS
    if code in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE") or "wrong version number" in lowered \
            or "http request" in lowered or "record layer failure" in lowered:
        return (f"TLS handshake failed ({detail}): that port answers in plain HTTP, not TLS; use http:// for it, or "
                "the port that serves HTTPS, in --base-url"), Failure.TLS_TO_PLAIN_PORT
    return (f"TLS handshake failure ({detail}): the server refused the handshake, or it and this Python's OpenSSL "
            "share no TLS version or cipher suite"), Failure.TLS


def tls_handshake_timeout(timeout: float) -> str:
    return (f"TLS handshake did not complete within {timeout:g} s: the port accepted the connection but did not "
            "answer the handshake; is it a TLS port (https://)?")


def trust_store_problem(exc: OSError | ssl.SSLError, environ: dict[str, str] | None = None) -> str:
    """Why the TLS context could not be made: httpx loads the CA certificates of SSL_CERT_FILE when it makes one,
    before the first request, for http:// targets too (a missing SSL_CERT_DIR is not an error)."""
    env = os.environ if environ is None else environ
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if env.get("SSL_CERT_FILE"):
        return (f"cannot load the CA certificates in SSL_CERT_FILE={env['SSL_CERT_FILE']} ({reason}): correct it, or "
                "unset it to use the defaults")
    return f"cannot set up TLS ({reason})"

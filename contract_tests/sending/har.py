"""--har FILE: every exchange of the run as an HTTP Archive (HAR 1.2), written with ``harfile``.

Entries are rendered when the file is written, not when the exchange happens, so a token the server issued
later in the run is still replaced by its label.  Secrets appear as their labels (``<LOGIN_PASSWORD>``), the
captcha token the client adds as ``<LOGIN_CAPTCHA_TOKEN>``; bodies are cut at :data:`BODY_CAP` characters.

Under xdist each worker writes ``FILE.part-<worker>``; the controller merges the parts into FILE.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from pathlib import Path

import harfile

from .. import __version__
from .exchange import Exchange, visible
from .secrets import Secret

BODY_CAP = 16 * 1024  # characters of a request or response body kept in the HAR
HTTP_VERSION = "HTTP/1.1"
_PART = ".part-"


class HarRecorder:
    """Collects the exchanges of one process (the client calls it once per attempt)."""

    def __init__(self, client_headers: dict[str, str] | None = None, captcha_header: str | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: list[tuple[float, Exchange, bool]] = []
        self.client_headers = dict(client_headers or {})
        self.captcha_header = captcha_header

    def __call__(self, exchange: Exchange, started: float, with_captcha: bool) -> None:
        with self._lock:
            self._entries.append((started, exchange, with_captcha))

    def __len__(self) -> int:
        return len(self._entries)

    def write(self, path: Path, comment: str | None = None) -> None:
        with self._lock:
            entries = sorted(self._entries, key=lambda e: e[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        creator = harfile.Creator(name="hyper3d-login-conformance", version=__version__)
        with harfile.HarFile.open(path, creator=creator, comment=comment) as har:
            for started, exchange, with_captcha in entries:
                self._add(har, started, exchange, with_captcha)

    def _add(self, har: harfile.HarFile, started: float, ex: Exchange, with_captcha: bool) -> None:
        redact = ex.redactor
        req = ex.request
        url = ex.base_url.rstrip("/") + req.path
        headers = [harfile.Record(k, v) for k, v in self.client_headers.items()]
        headers += [harfile.Record(k, redact(_label(v))) for k, v in req.headers.items()]
        if req.effective_content_type and req.multipart is None:
            headers.append(harfile.Record("Content-Type", req.effective_content_type))
        if with_captcha and self.captcha_header:
            headers.append(harfile.Record(self.captcha_header, "<LOGIN_CAPTCHA_TOKEN>"))
        query = [harfile.Record(k, redact(_label(v))) for k, v in req.params]
        if query:
            url += "?" + "&".join(f"{q.name}={q.value}" for q in query)
        request = harfile.Request(
            method=req.method, url=_text(redact(url)), httpVersion=HTTP_VERSION, headers=_clean(headers),
            queryString=_clean(query), postData=_post_data(ex), bodySize=req.size,
            comment=_text(redact(req.purpose)) or None,
        )
        if ex.status is None:
            response = harfile.Response(status=0, statusText="", httpVersion="", comment=_text(
                redact(f"no response: {ex.transport_error}")))
        else:
            body = redact(ex.text)
            text, cut = _cap(body)
            comment = None
            if cut or ex.truncated:
                comment = f"body cut: {len(ex.body)} bytes read" + (", the rest discarded by the client"
                                                                    if ex.truncated else "")
            response = harfile.Response(
                status=ex.status, statusText=_reason(ex.status), httpVersion=HTTP_VERSION,
                headers=_clean([harfile.Record(k, redact(v)) for k, v in ex.headers.items()]),
                content=harfile.Content(size=len(ex.body), mimeType=ex.content_type, text=_text(text),
                                        comment=comment),
                redirectURL=redact(ex.headers.get("location", "")), bodySize=len(ex.body),
            )
        ms = round(ex.elapsed * 1000, 3)
        har.add_entry(
            startedDateTime=dt.datetime.fromtimestamp(started, dt.timezone.utc).isoformat(timespec="milliseconds"),
            time=ms, request=request, response=response, timings=harfile.Timings(send=0, wait=ms, receive=0),
        )


def _label(value) -> str:
    return value.label if isinstance(value, Secret) else str(value)


def _text(value: str) -> str:
    """No raw control characters, no lone surrogates: the HAR is UTF-8 JSON a browser must load."""
    return visible(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _clean(records: list[harfile.Record]) -> list[harfile.Record]:
    return [harfile.Record(_text(r.name), _text(r.value)) for r in records]


def _cap(text: str) -> tuple[str, bool]:
    return (text, False) if len(text) <= BODY_CAP else (text[:BODY_CAP], True)


def _post_data(ex: Exchange) -> harfile.PostData | None:
    req = ex.request
    if req.multipart is not None:
        params = [harfile.PostParameter(_text(k), _text(ex.redactor(_label(v)))) for k, v in req.multipart]
        return harfile.PostData(mimeType="multipart/form-data", params=params, text="")
    if req.raw is not None:
        text = req.raw.decode("utf-8", "replace")
    elif req.has_json:
        text = req.json_text("label")
    elif req.form is not None:
        import urllib.parse

        text = urllib.parse.urlencode([(k, _label(v)) for k, v in req.form])
    else:
        return None
    text, cut = _cap(ex.redactor(text))
    return harfile.PostData(mimeType=req.effective_content_type or "", text=_text(text),
                            comment=f"body cut at {BODY_CAP} characters of {req.size} bytes" if cut else None)


def _reason(status: int) -> str:
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# -- xdist: one part per worker, merged by the controller --------------------------------------------------------
def part_path(path: Path, worker: str) -> Path:
    return path.with_name(f"{path.name}{_PART}{worker}")


def remove_parts(path: Path) -> None:
    for part in path.parent.glob(f"{path.name}{_PART}*"):
        part.unlink(missing_ok=True)


def merge_parts(path: Path) -> int:
    """Fold every worker's part (and FILE itself, when the controller wrote one) into FILE; number of entries."""
    parts = sorted(path.parent.glob(f"{path.name}{_PART}*"))
    sources = ([path] if path.exists() else []) + parts
    if not sources:
        return 0
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sources]
    merged = documents[0]
    entries = [e for d in documents for e in d["log"]["entries"]]
    entries.sort(key=lambda e: e["startedDateTime"])
    merged["log"]["entries"] = entries
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps(merged, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    for part in parts:
        part.unlink(missing_ok=True)
    return len(entries)

"""A request in the forms a reader uses: one line for a report (:func:`describe`) and a command that sends it again
(:func:`curl`), secrets as their labels or shell expressions, never as values."""

from __future__ import annotations

import json
import re
import shlex
from typing import TYPE_CHECKING, Any

from .secrets import Secret

if TYPE_CHECKING:
    from .exchange import LoginRequest

SENTINEL = "__h3d_secret_{}__"  # a secret's place in a body's JSON text (survives JSON encoding unchanged)
_CURL_INLINE_LIMIT = 2000


def describe(request: LoginRequest, base_url: str, limit: int = 400) -> str:
    """One line: method, URL, headers and the body, secrets as their labels, long runs of a character counted."""
    url = base_url.rstrip("/") + request.path
    if request.params:
        url += "?" + "&".join(f"{k}={_label(v)}" for k, v in request.params)
    parts = [f"{request.method} {url}"]
    shown = {k: _label(v) for k, v in request.headers.items()}
    if request.effective_content_type:
        shown["Content-Type"] = request.effective_content_type
    if shown:
        parts.append(" ".join(f"[{k}: {v}]" for k, v in shown.items()))
    if request.raw is not None:
        parts.append(clip(request.raw.decode("utf-8", "replace"), limit) + f" ({len(request.raw)} bytes)")
    elif request.has_json:
        text = request.json_text("label")
        parts.append(clip(_compact_runs(text), limit) + (f" ({request.size:,} bytes)" if len(text) > limit else ""))
    elif request.form is not None:
        parts.append("form: " + "&".join(f"{k}={_label(v)}" for k, v in request.form))
    elif request.multipart is not None:
        parts.append("multipart: " + ", ".join(f"{k}={_label(v)}" for k, v in request.multipart))
    else:
        parts.append("(no body)")
    return "  ".join(parts)


def curl(request: LoginRequest, base_url: str) -> str:
    """A copy-pasteable command; secrets appear as shell expressions, never as values."""
    url = base_url.rstrip("/") + request.path
    args = ["curl -sS -i", "-X", request.method]
    if request.params:
        args += ["-G" if request.method == "GET" else ""]
    args.append(shlex.quote(url))
    for key, value in request.params:
        args += ["--url-query", _shell_pair(key, value)]
    for name, value in request.headers.items():
        args += ["-H", _shell_header(name, value)]
    if not any(name.lower() == "accept" for name in request.headers):
        args += ["-H", "'Accept:'"]  # curl's default Accept: */* removed: the suite, as the documented client, sends none
    ctype = request.effective_content_type
    if request.multipart is not None:
        for key, value in request.multipart:
            args += ["-F", _shell_pair(key, value)]
    elif request.form is not None:
        args += ["-H", shlex.quote(f"Content-Type: {ctype}")]
        for key, value in request.form:
            args += ["--data-urlencode", _shell_pair(key, value)]
    else:
        if ctype:
            args += ["-H", shlex.quote(f"Content-Type: {ctype}")]
        elif request.raw is not None or request.has_json:
            args += ["-H", "'Content-Type:'"]
        if request.raw is not None:
            args += ["--data-binary", _ansi_c(request.raw)]
        elif request.has_json:
            text, sentinels = request.json_text_and_secrets("sentinel")
            if len(text) > _CURL_INLINE_LIMIT and not sentinels:
                # too long to paste: a short python line writes the exact body to a file, curl sends the file
                args += ["--data-binary", f"@{_BODY_FILE}"]
                return f"{_body_file_command(request.json)} && " + " ".join(a for a in args if a)
            args += ["--data-binary", _splice(text, sentinels)]
    return " ".join(a for a in args if a)


_EXPORTED = re.compile(r"\$\{?(LOGIN_[A-Z0-9_]+)")  # "$LOGIN_PASSWORD", "${LOGIN_PASSWORD}x", "${LOGIN_PASSWORD%?}"


def exports_needed(command: str) -> list[str]:
    """The suite's environment variables a reproduction reads (the secrets it names by their shell expressions), in
    the order they first appear: what the reader exports before running it."""
    return list(dict.fromkeys(_EXPORTED.findall(command)))


def export_hint(command: str | None) -> str:
    """`` (export LOGIN_PASSWORD first)`` for a reproduction that reads it; empty for one that reads nothing."""
    names = exports_needed(command or "")
    return f" (export {' and '.join(names)} first)" if names else ""


def _label(v: Any) -> str:
    return v.label if isinstance(v, Secret) else str(v)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


_RUN_START = re.compile(r"(.)\1{16}", re.S)  # one character 17 times


def _runs(text: str, shortest: int = 17):
    """(start, end) of each run of one character at least *shortest* long."""
    start_re = _RUN_START if shortest == 17 else re.compile(r"(.)\1{%d}" % (shortest - 1), re.S)
    i = 0
    while run := start_re.search(text, i):
        # the run's end by a one-character repeat: a backreference repeated (``\1{16,}``) is matched a character at
        # a time, 0.4 s for a 1 MiB padding
        rest = re.compile(re.escape(run.group(1)) + "*", re.S).match(text, run.end())
        end = rest.end() if rest else run.end()  # ("x*" always matches, if only the empty string)
        yield run.start(), end
        i = end


def _compact_runs(text: str) -> str:
    """Long runs of one character as a reader takes them in: ``aaaaaaaa…(3,145,617 × "a" in all)`` (the eight
    shown are counted in the run)."""
    parts, i = [], 0
    for start, end in _runs(text, 64):
        if text[start] == "\\":  # a run of backslashes is part of escapes: shown as is
            continue
        parts.append(text[i:start] + text[start] * 8 + f"…({end - start:,} × {json.dumps(text[start])} in all)")
        i = end
    return "".join(parts) + text[i:]


_BODY_FILE = "body.json"


def _body_file_command(obj: Any) -> str:
    """``python3 -c '...' > body.json``: writes exactly the body the suite sent (its JSON encoding: UTF-8, no ASCII
    escaping), long runs of one character written as ``"a" * n``."""
    try:
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
        ascii_only = ""
    except UnicodeEncodeError:  # lone surrogates travel as \u escapes (LoginRequest.json_text)
        ascii_only = "=True"
    script = (f"import json, sys; sys.stdout.buffer.write(json.dumps({_py_expr(obj)}, "
              f"ensure_ascii{ascii_only or '=False'}).encode())")
    return f"python3 -c {shlex.quote(script)} > {_BODY_FILE}"


def _py_expr(obj: Any) -> str:
    """A short Python expression for a JSON value, strings in double quotes (they sit in a single-quoted shell
    word): long runs of one character become "a" * n."""
    if isinstance(obj, str):
        parts, i = [], 0
        for start, end in _runs(obj):
            if start > i:
                parts.append(_py_str(obj[i:start]))
            parts.append(f"{_py_str(obj[start])} * {end - start}")
            i = end
        if i < len(obj):
            parts.append(_py_str(obj[i:]))
        return " + ".join(parts) or '""'
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{_py_expr(k)}: {_py_expr(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(_py_expr(v) for v in obj) + "]"
    if obj is None or isinstance(obj, bool):
        return repr(obj)
    return json.dumps(obj) if isinstance(obj, float) and obj == obj and obj not in (float("inf"), float("-inf")) \
        else repr(obj)


def _py_str(text: str) -> str:
    """A double-quoted Python literal of *text* (JSON's string escapes are Python's; a lone surrogate included)."""
    return json.dumps(text)


def _ansi_c(data: bytes) -> str:
    if all(32 <= b < 127 and b not in (39, 92) for b in data):
        return f"'{data.decode()}'"
    # printf writes NUL bytes that no shell string can hold
    escaped = "".join(chr(b) if 32 <= b < 127 and b not in (37, 39, 92) else f"\\x{b:02x}" for b in data)
    return f"@<(printf '{escaped}')"


def _splice(text: str, sentinels: list[Secret]) -> str:
    """Single-quoted text with each secret spliced in as its shell expression."""
    out = []
    for i, secret in enumerate(sentinels):
        head, _, text = text.partition(SENTINEL.format(i))
        out.append(shlex.quote(head) if head else "")
        out.append(secret.shell)
    out.append(shlex.quote(text) if text else "")
    return "".join(out) or "''"


def _shell_pair(key: str, value: Any) -> str:
    if isinstance(value, Secret):
        return shlex.quote(f"{key}=") + value.shell
    return shlex.quote(f"{key}={value}")


def _shell_header(name: str, value: Any) -> str:
    if isinstance(value, Secret):
        return shlex.quote(f"{name}: ") + value.shell
    return shlex.quote(f"{name}: {value}")

"""Internal error details in a response body (SEC-08; OWASP ASVS 4.0.3 V7.4.1, API Security Top 10 API8:2023).

Each family is a set of patterns that only internals produce: stack frames with source files, exception class names
of language runtimes and drivers, SQL/ORM error text, framework debug pages. Application error vocabularies
(``{"error": "WRONG_PASSWORD"}``, NestJS message arrays, FastAPI's 422 ``detail``, a JSON parser's "Unexpected
token" message, Spring's default ``{"error": "Internal Server Error"}``) match none of them.
"""

from __future__ import annotations

import html
import re

from ...sending.exchange import Exchange
from .core import Mismatch, short

_SOURCE = r"(?:py|js|mjs|cjs|ts|java|kt|scala|cs|vb|php|go|rb|ex|exs)"
FAMILIES: dict[str, re.Pattern[str]] = {
    "a stack trace": re.compile(
        r"Traceback \(most recent call last\)"                                   # Python
        r"|File \"[^\"\n]+\", line \d+, in "                                      # Python frame
        r"|\bat (?:async )?[\w$.<>\[\] ]+ \((?:/|[A-Za-z]:\\|node:|file://)[^)\n]*:\d+:\d+\)"  # Node frame
        r"|\bat (?:/|node:internal/)[^\s:]+:\d+:\d+"                             # Node anonymous frame
        r"|\bat [\w$]+(?:\.[\w$<>]+)+\((?:[\w$]+\.(?:java|kt|scala)(?::\d+)?|Native Method|Unknown Source)\)"  # JVM
        r"|\bat [\w.`<>]+\([^)\n]*\) in [^\n]+:line \d+"                          # .NET
        r"|--- End of (?:inner exception )?stack trace"                          # .NET
        r"|^#\d+ (?:\S+\.php\(\d+\)|\{main\})"                                    # PHP
        r"|\bStack trace:\s*(?:<br\s*/?>\s*)?#0 "                                 # PHP
        r"|^goroutine \d+ \[[\w ,]+\]:|\bpanic: (?:runtime error: )?"             # Go
        r"|\.rb:\d+:in [`']",                                                     # Ruby
        re.M,
    ),
    "a source file path with a line number": re.compile(
        r"(?:(?<![\w.])/|\b[A-Za-z]:\\)[\w.@~+-]+(?:[/\\][\w.@~+-]+)*\." + _SOURCE
        + r"\b(?::\d+|\(\d+\)|\", line \d+|:line \d+| on line \d+)"
    ),
    "a runtime exception": re.compile(
        r"\b(?:TypeError|ValueError|KeyError|AttributeError|IndexError|NameError|ZeroDivisionError|RecursionError"
        r"|UnboundLocalError|AssertionError|UnicodeDecodeError|UnicodeEncodeError|ReferenceError|RangeError"
        r"|NullPointerException|ClassCastException|IllegalStateException|ArrayIndexOutOfBoundsException"
        r"|NumberFormatException|NullReferenceException|InvalidOperationException|InvalidCastException"
        r"|ArgumentNullException|DivisionByZeroError|ArgumentCountError|ErrorException):\s"
        r"|\b(?:java|javax|jakarta)\.[a-z]+(?:\.[\w$]+)*\.\w*(?:Exception|Error)\b"
        r"|\bSystem\.(?:\w+\.)*\w*Exception\b"
        r"|Cannot read propert(?:y|ies) (?:of|'\w+' of) (?:undefined|null)"
        r"|Object reference not set to an instance of an object"
        r"|Call to a member function \w+\(\) on (?:null|bool|string|array|int)"
        r"|\bUndefined (?:index|array key|offset|variable)\b"
        r"|invalid memory address or nil pointer dereference"
        r"|\bNoMethodError\b|undefined method `",
    ),
    "SQL or ORM error text": re.compile(
        r"\bsqlite3?\.\w+|\bOperationalError\b|\bIntegrityError\b|\bProgrammingError\b|\bSQLSTATE\b"
        r"|syntax error at or near|unrecognized token|near \"[^\"]*\": syntax error|no such (?:table|column): "
        r"|You have an error in your SQL syntax|\bER_[A-Z_]{4,}\b|\bORA-\d{5}\b|\bPG::|psycopg2?\b|\bpymysql\b"
        r"|\bMySQLdb\b|\bODBC\b|\bSQLException\b|unterminated quoted string|relation \"[^\"]+\" does not exist"
        r"|column \"[^\"]+\" (?:of relation \"[^\"]+\" )?does not exist|invalid input syntax for (?:type|integer)"
        r"|duplicate key value violates unique constraint|\bsqlalchemy\.(?:exc|orm)\b|sqlalche\.me/e/"
        r"|\bPrismaClient\w*Error\b|Invalid `(?:prisma|tx)\.\w+\.\w+\(\)` invocation|\bQueryFailedError\b"
        r"|\bEntityNotFound(?:Error)?\b|\bSequelize\w*Error\b|\bMongo(?:Server|Network)?Error\b|\bE11000 duplicate key"
        r"|\bCastError\b|\bBSONTypeError\b|unknown (?:top level )?operator: \$|org\.hibernate\.|\bHibernateException\b",
    ),
    "a framework debug page": re.compile(
        r"You're seeing this error because you have <code>DEBUG = True</code>|\bDjango Version:"
        r"|Werkzeug Debugger|The debugger caught an exception in your WSGI application|__debugger__"
        r"|Whitelabel Error Page|This application has no explicit mapping for /error"
        r"|Whoops, looks like something went wrong|\bIlluminate\\\\?[A-Z]\w+|vendor[/\\]laravel[/\\]framework"
        r"|Server Error in '[^']*' Application|An unhandled exception occurred while processing the request"
        r"|Action Controller: Exception caught",
    ),
}


HEAD, TAIL = 32 * 1024, 8 * 1024  # debug pages and traces show themselves at the start (Django's note: at the end)


def internal_details(text: str) -> tuple[str, str] | None:
    """(family, excerpt) of the first internal error detail in *text*, or None. Only the first 32 KiB and the last
    8 KiB are scanned: the patterns cost about a microsecond per character on a busy machine."""
    if not text:
        return None
    if len(text) > HEAD + TAIL:
        text = text[:HEAD] + "\n" + text[-TAIL:]
    plain = html.unescape(text.replace("\\/", "/").replace("\\n", "\n"))  # JSON-escaped or HTML-escaped traces
    for family, pattern in FAMILIES.items():
        match = pattern.search(plain)
        if match:
            return family, match.group(0)
    return None


def no_internal_error_details(ex: Exchange) -> None:
    found = internal_details(ex.text)
    if found:
        family, excerpt = found
        raise Mismatch("a body without internal error details (stack traces, exception names, source paths, "
                       "SQL/ORM error text, framework debug pages)", f"{family}: {short(excerpt, 100)!r}")

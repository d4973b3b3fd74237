"""Building blocks the contract tests share: near-miss passwords and failure signatures."""

from __future__ import annotations

from dataclasses import dataclass, field

from .exchange import Exchange
from .secrets import Secret, derived

WRONG_PASSWORD = "Wrong-Passw0rd-Conformance-41!"


def wrong_password_for(password: Secret) -> str:
    return WRONG_PASSWORD if password.value != WRONG_PASSWORD else WRONG_PASSWORD + "x"


def near_misses(password: Secret) -> dict[str, Secret | str]:
    """AUTH-03's near-miss passwords, each with a shell expression that rebuilds it."""
    pw = password.value
    prefix_len = 8 if len(pw) > 8 else max(1, len(pw) // 2)
    candidates: dict[str, Secret | str] = {
        "case-flipped": derived(
            password, pw.swapcase(), "LOGIN_PASSWORD with letter case flipped",
            '"$(printf %s "$LOGIN_PASSWORD" | tr a-zA-Z A-Za-z)"',
        ),
        "char-appended": derived(password, pw + "x", "LOGIN_PASSWORD + 'x'", '"${LOGIN_PASSWORD}x"'),
        "last-char-dropped": derived(
            password, pw[:-1], "LOGIN_PASSWORD without its last character", '"${LOGIN_PASSWORD%?}"'
        ),
        "surrounding-whitespace": derived(
            password, f" {pw} ", "LOGIN_PASSWORD with a space on each side", '" $LOGIN_PASSWORD "'
        ),
        "empty": "",
        f"prefix-{prefix_len}": derived(
            password, pw[:prefix_len], f"first {prefix_len} characters of LOGIN_PASSWORD",
            f'"$(printf %s "$LOGIN_PASSWORD" | cut -c1-{prefix_len})"',
        ),
        # a comparison of C strings stops at the NUL (PHP's bcrypt, C bindings)
        "nul-suffixed": derived(password, pw + "\x00anything", "LOGIN_PASSWORD + NUL + 'anything'",
                                '"${LOGIN_PASSWORD}\\u0000anything"'),
    }
    candidates.update(bcrypt_limit_misses(password))
    return candidates


BCRYPT_LIMIT = 72  # bytes: bcrypt ignores everything after them


def bcrypt_limit_misses(password: Secret) -> dict[str, Secret]:
    """For a password of 72 bytes or more: its first 72 bytes alone, and with a different tail (bcrypt's limit)."""
    pw = password.value
    raw = pw.encode("utf-8", "surrogatepass")
    if len(raw) < BCRYPT_LIMIT:
        return {}
    head = raw[:BCRYPT_LIMIT].decode("utf-8", "ignore")  # never cut inside a character
    rest = pw[len(head):]
    tail = "~" * max(1, len(rest)) if set(rest) != {"~"} else "!" * len(rest)
    head_expr = 'p.encode()[:72].decode("utf-8","ignore")'

    def shell(expr: str) -> str:
        return ("\"$(python3 -c 'import json,os;p=os.environ[\"LOGIN_PASSWORD\"];"
                f"print(json.dumps({expr})[1:-1],end=\"\")')\"")

    misses = {"bcrypt-72-tail-changed": derived(
        password, head + tail, "the first 72 bytes of LOGIN_PASSWORD with a different tail",
        shell(f'{head_expr}+"{tail[:1]}"*max(1,len(p)-len({head_expr}))'))}
    if len(raw) > BCRYPT_LIMIT:
        misses["bcrypt-72-truncated"] = derived(password, head, "the first 72 bytes of LOGIN_PASSWORD",
                                                shell(head_expr))
    return misses


def _signature(ex: Exchange) -> tuple[int | None, str | None]:
    error = ex.error
    return ex.status, error if isinstance(error, str) else None


@dataclass
class Signatures:
    """How the target answers a validation failure and a credential failure (DEPR-03, INPUT-05).

    Learned from unmistakably invalid probes (missing password, non-object body, numeric
    password) and from a well-formed login to an unknown account.
    """

    validation_probes: list[Exchange]
    credential_probe: Exchange
    validation: set[tuple[int | None, str | None]] = field(init=False)
    credential: tuple[int | None, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.validation = {
            _signature(ex) for ex in self.validation_probes if not ex.token and (ex.status or 500) < 500
        }
        self.credential = _signature(self.credential_probe)

    @property
    def distinguishable(self) -> bool:
        return bool(self.validation) and self.credential not in self.validation

    def describe(self) -> str:
        def fmt(sig):
            return f"{sig[0]} {sig[1]!r}" if sig[1] else f"{sig[0]} (no error)"

        return (
            "validation failure = " + " | ".join(sorted(fmt(s) for s in self.validation))
            + "; credential failure = " + fmt(self.credential)
        )

    def classify(self, ex: Exchange) -> str:
        """``success``, ``validation``, ``credential`` or ``unknown``."""
        if ex.token:
            return "success"
        sig = _signature(ex)
        if sig in self.validation and sig != self.credential:
            return "validation"
        if sig == self.credential and sig not in self.validation:
            return "credential"
        return "unknown"

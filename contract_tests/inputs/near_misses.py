"""Near-miss passwords: the real password changed in one way a careless verifier might ignore (AUTH-03)."""

from __future__ import annotations

from ..sending.secrets import Secret, derived

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

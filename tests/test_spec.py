"""Self-tests of contract_tests.contract.spec: vendor document, clarifications overlay, schemas, digest."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pytest
import schemathesis
import yaml

from contract_tests.contract import spec

pytestmark = pytest.mark.unit  # the fast lane: python -m pytest tests -m unit

MARK = "x-clarification"
GO_CLIENT_BODY = {"password": "<your password>", "email": "example@example.com"}


def _walk(node: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _get(doc: Any, path: tuple) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _has(doc: Any, path: tuple) -> bool:
    try:
        _get(doc, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _errors(schema: dict, instance: Any) -> list[str]:
    return [e.message for e in spec.validator(schema).iter_errors(instance)]


# ----------------------------------------------------------------------------------- documents


@pytest.mark.parametrize("loader", [spec.vendor_document, spec.clarified_document], ids=["vendor", "clarified"])
def test_documents_are_valid_openapi_30(loader):
    doc = loader()
    assert doc["openapi"].startswith("3.0.")
    schema = schemathesis.openapi.from_dict(doc)
    schema.validate()  # raises on an invalid OpenAPI 3.0 document
    operations = [result.ok() for result in schema.get_all_operations()]
    assert [(op.method.upper(), op.path) for op in operations] == [("POST", spec.LOGIN_PATH)]


def test_vendor_document_contains_nothing_of_ours():
    raw = (spec.SPEC_DIR / "login.openapi.json").read_text(encoding="utf-8")
    assert MARK not in raw
    doc = spec.vendor_document()
    for _path, node in _walk(doc):
        if isinstance(node, dict):
            assert not any(str(k).startswith("x-") for k in node), _path
    assert doc == json.loads(raw)


def test_vendor_document_says_what_the_page_says():
    doc = spec.vendor_document()
    assert doc["servers"] == [{"url": "https://hyperhuman.deemos.com"}]
    op = doc["paths"][spec.LOGIN_PATH]["post"]
    assert op["summary"] == "Login"
    assert op["description"] == "Maybe Recaptcha required. Return session token if success."
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["password"]
    assert body["properties"]["username"] == {"type": "string", "maxLength": 80, "deprecated": True}
    assert body["properties"]["email"] == {"type": "string", "format": "email"}
    assert list(op["responses"]) == ["201"]
    media = op["responses"]["201"]["content"]["application/json"]
    assert set(media["schema"]["properties"]) == {"error", "token", "username", "user_uuid", "avatar_url"}
    assert media["example"]["error"] == "ALREADY_LOGGEDIN"
    scheme_name = next(iter(op["security"][0]))
    assert doc["components"]["securitySchemes"][scheme_name] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_clarified_document_marks_every_added_node():
    vendor, clarified = spec.vendor_document(), spec.clarified_document()
    ids = {c["id"] for c in spec.clarifications()}
    added = [(path, node) for path, node in _walk(clarified) if not _has(vendor, path)]
    assert added, "the overlay added nothing"

    def marked(path: tuple) -> bool:
        # A scalar the overlay added is named in its parent's x-clarified; else some ancestor-or-self that the
        # overlay added is an object carrying a known clarification id.
        parent = _get(clarified, path[:-1])
        if path[-1] == "x-clarified" or (path[-2:-1] == ("x-clarified",)):
            return all(v in ids for v in (parent if path[-1] != "x-clarified" else _get(clarified, path)).values())
        if isinstance(parent, dict) and parent.get("x-clarified", {}).get(path[-1]) in ids:
            return True
        for cut in range(len(path), 0, -1):
            prefix = path[:cut]
            if _has(vendor, prefix):
                return False
            node = _get(clarified, prefix)
            if isinstance(node, dict) and node.get(MARK) in ids:
                return True
        return False

    for path, node in added:
        if marked(path) or (path[-1] == MARK and marked(path[:-1])):
            continue
        # An added list cannot carry a key; then each of its objects must.
        assert isinstance(node, list), f"unmarked added node {path}"
        assert all(isinstance(item, dict) and item.get(MARK) in ids for item in node), f"unmarked items in {path}"
    # Every clarification shows up in the merged document, and vendor values are unchanged.
    used = {node for path, node in _walk(clarified) if path and (path[-1] == MARK or path[-2:-1] == ("x-clarified",))}
    assert used == ids
    for path, node in _walk(vendor):
        if not isinstance(node, (dict, list)):
            assert _get(clarified, path) == node, path


def test_clarifications_file_is_visibly_ours():
    text = (spec.SPEC_DIR / "clarifications.yaml").read_text(encoding="utf-8")
    head = text[:600].lower()
    assert "not statements of the vendor" in head
    data = yaml.safe_load(text)
    assert "not vendor statements" in data["notice"]
    for item in spec.clarifications():
        assert item["reason"].strip(), item["id"]
        assert item["source"]["kind"] in {"seed", "go-client", "web-client"}, item["id"]
        assert item["target"].startswith("/"), item["id"]


def test_public_functions_return_copies():
    spec.clarified_document()["paths"].clear()
    spec.request_schema()["required"].append("nonsense")
    spec.error_values().append("NONSENSE")
    spec.vendor_document()["paths"].clear()
    assert spec.request_schema()["required"] == ["password"]
    assert "NONSENSE" not in spec.error_values()
    assert spec.LOGIN_PATH in spec.clarified_document()["paths"]
    assert spec.LOGIN_PATH in spec.vendor_document()["paths"]


# ------------------------------------------------------------------------------------- schemas


def test_request_schema_needs_an_identifier():
    schema = spec.request_schema()
    assert _errors(schema, GO_CLIENT_BODY) == []
    assert _errors(schema, {"username": "example@example.com", "password": "x"}) == []
    assert _errors(schema, {"email": "a@b.example", "username": "u", "password": "x"}) == []
    assert _errors(schema, {"password": "x"})  # neither email nor username
    assert _errors(schema, {"email": "a@b.example"})  # no password
    assert _errors(schema, {"username": "u" * 81, "password": "x"})
    assert _errors(schema, {"username": "😀" * 80, "password": "x"}) == []  # code points, not bytes
    assert _errors(schema, {"email": "a@b.example", "password": 12345})
    assert _errors(schema, ["email", "password"])


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@b.example", "a b@c.example", "a@b@c.example", "a@b..example"])
def test_request_schema_checks_email_format(email):
    assert _errors(spec.request_schema(), {"email": email, "password": "x"})


GOOD_SUCCESS = [
    {"token": "a.b.c", "user_uuid": "u-1"},
    {"token": "a.b.c", "user_uuid": "u-1", "username": "n", "avatar_url": "https://x/a.png", "email": "a@b.example"},
    {"token": "a.b.c", "user_uuid": "u-1", "error": None},
    {"token": "a.b.c", "user_uuid": "u-1", "extra": {"any": [1, 2]}, "username": ""},
]
BAD_SUCCESS = {
    "null username": {"token": "a.b.c", "user_uuid": "u-1", "username": None},
    "null avatar_url": {"token": "a.b.c", "user_uuid": "u-1", "avatar_url": None},
    "error OK": {"token": "a.b.c", "user_uuid": "u-1", "error": "OK"},
    "empty error": {"token": "a.b.c", "user_uuid": "u-1", "error": ""},
    "empty token": {"token": "", "user_uuid": "u-1"},
    "no token": {"user_uuid": "u-1"},
    "null token": {"token": None, "user_uuid": "u-1"},
    "empty user_uuid": {"token": "a.b.c", "user_uuid": ""},
    "numeric user_uuid": {"token": "a.b.c", "user_uuid": 7},
    "not an object": ["token", "user_uuid"],
}
GOOD_FAILURE = [
    {"error": "WRONG_PASSWORD"},
    {"error": "SOMETHING_NEW", "detail": "extra fields are fine"},
    {"error": "ALREADY_LOGGEDIN", "token": "text", "username": "text", "user_uuid": "text", "avatar_url": "text"},
]
BAD_FAILURE = {
    "empty error": {"error": ""},
    "no error": {"message": "nope"},
    "null error": {"error": None},
    "numeric error": {"error": 401},
    "not an object": "WRONG_PASSWORD",
}


@pytest.mark.parametrize("body", GOOD_SUCCESS)
def test_success_schema_accepts(body):
    assert _errors(spec.success_schema(), body) == []


@pytest.mark.parametrize("body", BAD_SUCCESS.values(), ids=BAD_SUCCESS.keys())
def test_success_schema_rejects(body):
    assert _errors(spec.success_schema(), body)


@pytest.mark.parametrize("body", GOOD_FAILURE)
def test_failure_schema_accepts(body):
    assert _errors(spec.failure_schema(), body) == []


@pytest.mark.parametrize("body", BAD_FAILURE.values(), ids=BAD_FAILURE.keys())
def test_failure_schema_rejects(body):
    assert _errors(spec.failure_schema(), body)


def test_vendor_example_is_a_legal_201_in_the_clarified_document():
    media = spec.clarified_document()["paths"][spec.LOGIN_PATH]["post"]["responses"]["201"]["content"]["application/json"]
    assert _errors(media["schema"], media["example"]) == []
    assert _errors(media["schema"], {"token": "t", "user_uuid": "u", "username": None})
    assert _errors(media["schema"], {"username": "only"})  # neither a success nor a failure


def test_clarified_operation_documents_failures():
    responses = spec.clarified_document()["paths"][spec.LOGIN_PATH]["post"]["responses"]
    assert responses["default"][MARK] == "failure-body"
    assert responses["default"]["content"]["application/json"]["schema"] == spec.failure_schema()


def test_error_values_and_captcha():
    assert spec.error_values() == [
        "NO_SUCH_USER", "WRONG_PASSWORD", "ALREADY_LOGGEDIN", "RATE_LIMITED", "INVALID_REQUEST", "USER_FORBIDDEN",
    ]
    settings = spec.captcha_settings()
    assert settings["header"] == "cf-turnstile-response"
    pattern = re.compile(settings["error_regex"])
    for error in ("CAPTCHA_REQUIRED", "turnstile failed", "Recaptcha required"):
        assert pattern.search(error), error
    for error in spec.error_values():
        assert not pattern.search(error), error


def test_validator_checks_formats():
    v = spec.validator({"type": "string", "format": "email"})
    assert v.is_valid("someone@example.com")
    assert not v.is_valid("someone.example.com")


# -------------------------------------------------------------------------------------- digest


def test_spec_digest_is_stable():
    first = spec.spec_digest()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", first)
    assert spec.spec_digest() == first
    spec.clarified_document()  # loading changes nothing
    assert spec.spec_digest() == first


def test_body_required_is_ours_and_named_where_it_was_added():
    vendor = spec.vendor_document()["paths"][spec.LOGIN_PATH]["post"]["requestBody"]
    clarified = spec.clarified_document()["paths"][spec.LOGIN_PATH]["post"]["requestBody"]
    assert "required" not in vendor  # OpenAPI's default (false): the vendor page does not say
    assert clarified["required"] is True
    assert clarified["x-clarified"] == {"required": "body-required"}

"""Login service on Falcon 4 (WSGI), written the way the Falcon docs teach it: a resource class with `on_post`
(Tutorial: "Creating Resources"), the body read with `req.get_media()` through Falcon's default media handlers
(Reference: "Media": application/json by json.loads, and -- also on by default -- application/x-www-form-urlencoded
and multipart/form-data; a request without a Content-Type is read as `default_media_type`, JSON), the body checked
with the schema validator Falcon ships (Reference: "Media Validation": `@jsonschema.validate(req_schema)`, the
jsonschema package's FormatChecker on), and Falcon's own defaults everywhere else: HTTPError answers serialized as
{"title", "description"} (a malformed body is MediaMalformedError, 400 "Malformed JSON"; an empty one
MediaNotFoundError, 400 "Invalid JSON"; a body the schema refuses MediaValidationError, 400 "Request data failed
validation"), 405 with Allow for a method the resource has no responder for, an unhandled exception a 500
{"title": "500 Internal Server Error"}, no body-size limit. Served by gunicorn (Deployment guide) with its defaults.
The password hash is the standard library's hashlib.scrypt, the token PyJWT's HS256 with a random 256-bit key. A
wrong credential is the contract's 401 {"error": "INVALID_CREDENTIALS"}, written by the responder.

Run: DEMO_EMAIL=... DEMO_PASSWORD=... gunicorn --bind 127.0.0.1:$PORT app:app
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import falcon
import jwt
from falcon.media.validators import jsonschema

SECRET_KEY = os.environ.get("JWT_SECRET") or secrets.token_urlsafe(32)
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 60
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 64}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    return f"{salt.hex()}:{hashlib.scrypt(password.encode(), salt=salt, **SCRYPT).hex()}"


def verify_password(password: str, stored: str) -> bool:
    salt, key = (bytes.fromhex(part) for part in stored.split(":"))
    return hmac.compare_digest(hashlib.scrypt(password.encode(), salt=salt, **SCRYPT), key)


USERS = {
    os.environ["DEMO_EMAIL"].lower(): {
        "user_uuid": str(uuid.uuid4()), "username": "demo", "email": os.environ["DEMO_EMAIL"],
        "avatar_url": "https://example.com/avatars/demo.png", "password_hash": hash_password(os.environ["DEMO_PASSWORD"]),
    },
}

# The request body of the contract's OpenAPI document, as JSON Schema.
LOGIN_SCHEMA = {
    "type": "object",
    "properties": {
        "email": {"type": "string", "format": "email"},
        "username": {"type": "string", "maxLength": 80},
        "password": {"type": "string", "minLength": 1},
    },
    "required": ["password"],
    "anyOf": [{"required": ["email"]}, {"required": ["username"]}],
}


def create_access_token(user: dict) -> str:
    now = datetime.now(timezone.utc)
    claims = {"sub": user["user_uuid"], "iat": now, "exp": now + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES),
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM)


class LoginResource:
    @jsonschema.validate(LOGIN_SCHEMA)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = req.get_media()
        user = USERS.get((body.get("email") or body.get("username")).lower())
        if user is None or not verify_password(body["password"], user["password_hash"]):
            resp.status = falcon.HTTP_401
            resp.media = {"error": "INVALID_CREDENTIALS"}
            return
        resp.status = falcon.HTTP_201
        resp.media = {"token": create_access_token(user), "user_uuid": user["user_uuid"],
                      "username": user["username"], "email": user["email"], "avatar_url": user["avatar_url"]}


app = falcon.App()
app.add_route("/api/user/login", LoginResource())

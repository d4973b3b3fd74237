"""Login service on Litestar 2, written the way the Litestar docs ("Requests" -> "Request body", "Exceptions") and
the msgspec docs ("Constraints") teach it: the body is a msgspec Struct received as `data`, its constraints declared
with msgspec.Meta (the contract's username maxLength 80; an email pattern), Litestar's own defaults everywhere else:
`@post` answers 201, a body that does not decode into the Struct is Litestar's ValidationException answered by its
default handler as 400 {"status_code", "detail", "extra"}, `request_max_body_size` 10 MB, no debug tracebacks. The
password hash is the standard library's hashlib.scrypt, the token PyJWT's HS256 with a random 256-bit key. A wrong
credential is the contract's 401 {"error": "INVALID_CREDENTIALS"}, written by the handler.

Run: DEMO_EMAIL=... DEMO_PASSWORD=... uvicorn app:app --host 127.0.0.1 --port $PORT
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated

import jwt
import msgspec
from litestar import Litestar, Response, post

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


class User(msgspec.Struct):
    user_uuid: str
    username: str
    email: str
    avatar_url: str
    password_hash: str


USERS = {
    os.environ["DEMO_EMAIL"].lower(): User(
        user_uuid=str(uuid.uuid4()), username="demo", email=os.environ["DEMO_EMAIL"],
        avatar_url="https://example.com/avatars/demo.png", password_hash=hash_password(os.environ["DEMO_PASSWORD"])),
}

Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
Username = Annotated[str, msgspec.Meta(max_length=80)]


class LoginRequest(msgspec.Struct):
    password: str
    email: Email | None = None
    username: Username | None = None

    def __post_init__(self) -> None:
        if self.email is None and self.username is None:
            raise ValueError("email or username is required")


class LoginResponse(msgspec.Struct):
    token: str
    user_uuid: str
    username: str
    email: str
    avatar_url: str


def authenticate(identifier: str, password: str) -> User | None:
    user = USERS.get(identifier.lower())
    if user is None or not verify_password(password, user.password_hash):
        return None
    return user


def create_access_token(user: User) -> str:
    now = datetime.now(timezone.utc)
    claims = {"sub": user.user_uuid, "iat": now, "exp": now + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES),
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM)


@post("/api/user/login")
async def login(data: LoginRequest) -> LoginResponse | Response[dict[str, str]]:
    user = authenticate(data.email or data.username or "", data.password)
    if user is None:
        return Response({"error": "INVALID_CREDENTIALS"}, status_code=401)
    return LoginResponse(token=create_access_token(user), user_uuid=user.user_uuid, username=user.username,
                         email=user.email, avatar_url=user.avatar_url)


app = Litestar(route_handlers=[login])

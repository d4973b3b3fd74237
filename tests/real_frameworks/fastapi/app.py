"""Login service on FastAPI + Pydantic v2, written the way the FastAPI tutorial ("OAuth2 with Password (and
hashing), Bearer with JWT tokens") and the Pydantic docs teach it: a Pydantic request model, argon2-cffi with its
default parameters for password hashing, PyJWT for an HS256 token with a random 256-bit key. The one deviation from
FastAPI's defaults is the contract's: every failure is a JSON object with an `error` string, so the validation
handler (FastAPI docs, "Handling Errors" -> "Override request validation exceptions") answers 400 with the field
errors of `exc.errors()` -- without `input`, which would echo the password.

Run: DEMO_EMAIL=... DEMO_PASSWORD=... uvicorn app:app --host 127.0.0.1 --port $PORT
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, EmailStr, Field, model_validator

SECRET_KEY = os.environ.get("JWT_SECRET") or secrets.token_urlsafe(32)
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 60

password_hasher = PasswordHasher()


class User(BaseModel):
    user_uuid: str
    username: str
    email: str
    avatar_url: str
    password_hash: str


USERS = {
    os.environ["DEMO_EMAIL"].lower(): User(
        user_uuid=str(uuid.uuid4()), username="demo", email=os.environ["DEMO_EMAIL"],
        avatar_url="https://example.com/avatars/demo.png",
        password_hash=password_hasher.hash(os.environ["DEMO_PASSWORD"])),
}


class LoginRequest(BaseModel):
    username: str | None = Field(default=None, max_length=80, deprecated=True)
    email: EmailStr | None = None
    password: str

    @model_validator(mode="after")
    def identifier_present(self) -> "LoginRequest":
        if self.email is None and self.username is None:
            raise ValueError("email or username is required")
        return self


class LoginResponse(BaseModel):
    token: str
    user_uuid: str
    username: str
    email: str
    avatar_url: str


app = FastAPI(title="login")


@app.exception_handler(RequestValidationError)
async def validation_exception_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return JSONResponse(status_code=400, content={"error": "INVALID_REQUEST", "detail": fields})


def invalid_credentials() -> JSONResponse:
    return JSONResponse(status_code=401, content={"error": "INVALID_CREDENTIALS"},
                        headers={"WWW-Authenticate": "Bearer"})


def authenticate(identifier: str, password: str) -> User | None:
    user = USERS.get(identifier.lower())
    if user is None:
        return None
    try:
        password_hasher.verify(user.password_hash, password)
    except VerificationError:
        return None
    return user


def create_access_token(user: User) -> str:
    now = datetime.now(timezone.utc)
    claims = {"sub": user.user_uuid, "iat": now, "exp": now + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES),
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM)


@app.post("/api/user/login", status_code=201, response_model=LoginResponse)
async def login(body: LoginRequest):
    user = authenticate(body.email or body.username, body.password)
    if user is None:
        return invalid_credentials()
    return LoginResponse(token=create_access_token(user), **user.model_dump(exclude={"password_hash"}))

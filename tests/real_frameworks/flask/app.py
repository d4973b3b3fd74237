"""Login service on Flask + marshmallow, served by gunicorn (sync worker), written the way their docs teach it:
`request.get_json()`, a marshmallow Schema whose `ValidationError.messages` is the field-keyed error map,
Werkzeug's `generate_password_hash` / `check_password_hash` (scrypt by default), PyJWT for an HS256 token with a
random 256-bit key, and the Flask docs' "Returning API Errors as JSON" handler for HTTPException so that every
failure is a JSON object with an `error` string (the contract).

Run: DEMO_EMAIL=... DEMO_PASSWORD=... gunicorn --bind 127.0.0.1:$PORT app:app
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from flask import Flask, jsonify, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("JWT_SECRET") or secrets.token_urlsafe(32)
TOKEN_LIFETIME = timedelta(hours=1)

DEMO = {
    "user_uuid": str(uuid.uuid4()),
    "username": "demo",
    "email": os.environ["DEMO_EMAIL"],
    "avatar_url": "https://example.com/avatars/demo.png",
    "password_hash": generate_password_hash(os.environ["DEMO_PASSWORD"]),
}
USERS = {DEMO["email"].lower(): DEMO}


class LoginSchema(Schema):
    username = fields.String(validate=validate.Length(max=80))
    email = fields.Email()
    password = fields.String(required=True, validate=validate.Length(min=1))

    @validates_schema
    def identifier_present(self, data, **kwargs):
        if "email" not in data and "username" not in data:
            raise ValidationError("email or username is required.")


login_schema = LoginSchema()


@app.errorhandler(HTTPException)
def handle_http_exception(e: HTTPException):
    response = e.get_response()
    response.data = app.json.dumps({"error": e.name.upper().replace(" ", "_"), "message": e.description})
    response.content_type = "application/json"
    return response


@app.post("/api/user/login")
def login():
    try:
        data = login_schema.load(request.get_json())
    except ValidationError as err:
        return jsonify(error="INVALID_REQUEST", fields=err.messages), 400
    user = USERS.get((data.get("email") or data["username"]).lower())
    if user is None or not check_password_hash(user["password_hash"], data["password"]):
        return jsonify(error="INVALID_CREDENTIALS"), 401
    now = datetime.now(timezone.utc)
    token = jwt.encode({"sub": user["user_uuid"], "iat": now, "exp": now + TOKEN_LIFETIME, "jti": uuid.uuid4().hex},
                       app.config["SECRET_KEY"], algorithm="HS256")
    return jsonify(token=token, user_uuid=user["user_uuid"], username=user["username"], email=user["email"],
                   avatar_url=user["avatar_url"]), 201

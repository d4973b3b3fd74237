"""Login service on Django + Django REST framework, served by gunicorn, written the way their docs teach it: a
``Serializer`` for the body, an ``APIView`` open to anyone (no authentication classes, ``AllowAny``), Django's
``make_password`` / ``check_password`` (PBKDF2-SHA256 at Django's default iteration count), PyJWT for an HS256 token
with a random 256-bit key, and DRF's documented custom exception handler ("Custom exception handling") that adds
the contract's `error` string to every failure DRF answers. DRF's defaults are left as they are: its parsers (JSON,
form, multipart), ``CharField``'s ``trim_whitespace=True``, ``EmailField`` (Django's EmailValidator), Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) and the 401-becomes-403 rule for views without an authenticator.

One module is the whole project (settings, URLconf, WSGI application), as Django's "single file" examples do.

Run: DEMO_EMAIL=... DEMO_PASSWORD=... gunicorn --bind 127.0.0.1:$PORT app:application
"""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=secrets.token_urlsafe(32),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    MIDDLEWARE=["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"],
    DATABASES={},
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
        "UNAUTHENTICATED_USER": None,
        "EXCEPTION_HANDLER": f"{__name__}.exception_handler",
    },
)
django.setup()

import jwt  # noqa: E402
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework import serializers, status  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402
from rest_framework.views import exception_handler as drf_exception_handler  # noqa: E402

JWT_KEY = secrets.token_bytes(32)
DEMO = {
    "user_uuid": str(uuid.uuid4()),
    "username": "demo",
    "email": os.environ["DEMO_EMAIL"],
    "avatar_url": "https://example.com/avatars/demo.png",
    "password_hash": make_password(os.environ["DEMO_PASSWORD"]),
}
USERS = {DEMO["email"].lower(): DEMO}


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False)
    username = serializers.CharField(required=False, max_length=80)
    password = serializers.CharField()

    def validate(self, attrs):
        if "email" not in attrs and "username" not in attrs:
            raise serializers.ValidationError("email or username is required")
        return attrs


def exception_handler(exc, context):
    """DRF's handler, then the contract's `error` string beside DRF's own detail (field errors kept)."""
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = response.data if isinstance(response.data, dict) else {"detail": response.data}
        code = "INVALID_REQUEST" if response.status_code == 400 else str(getattr(exc, "default_code", "error")).upper()
        response.data = {"error": code, **detail}
    return response


class LoginView(APIView):
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = USERS.get((data.get("email") or data.get("username")).lower())
        if user is None or not check_password(data["password"], user["password_hash"]):
            return Response({"error": "INVALID_CREDENTIALS"}, status=status.HTTP_401_UNAUTHORIZED)
        now = datetime.now(timezone.utc)
        token = jwt.encode({"sub": user["user_uuid"], "iat": now, "exp": now + timedelta(hours=1),
                            "jti": str(uuid.uuid4())}, JWT_KEY, algorithm="HS256")
        return Response({"token": token, "user_uuid": user["user_uuid"], "username": user["username"],
                         "email": user["email"], "avatar_url": user["avatar_url"]}, status=status.HTTP_201_CREATED)


urlpatterns = [path("api/user/login", LoginView.as_view())]
application = get_wsgi_application()

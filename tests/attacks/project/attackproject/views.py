"""Test-only views: log a user in (creating it), log out, send to a user, a plain page."""

from __future__ import annotations

import json
import os

from django.contrib.auth import login, logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse

import clientsignal


def login_view(request: HttpRequest, name: str) -> JsonResponse:
    user, _ = User.objects.get_or_create(username=name)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return JsonResponse({"user": name, "pk": user.pk, "pid": os.getpid()})


def logout_view(request: HttpRequest) -> JsonResponse:
    user = str(request.user)
    logout(request)
    return JsonResponse({"logged_out": user, "pid": os.getpid()})


def touch_view(request: HttpRequest) -> JsonResponse:
    """Write to the session (as many apps do on ordinary pages)."""
    request.session["touched"] = request.session.get("touched", 0) + 1
    return JsonResponse({"touched": request.session["touched"], "pid": os.getpid()})


def dm_view(request: HttpRequest, name: str) -> JsonResponse:
    user = User.objects.get(username=name)
    clientsignal.send_to_user(user, "dm", {"text": request.GET.get("text", "")})
    return JsonResponse({"sent": True, "pid": os.getpid()})


def page_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(json.dumps({"page": "ok", "pid": os.getpid()}))

"""Test-only views: log a user in (creating it), log out, send to a user, a plain page, a
page of SignalSockets, and what revokes a login elsewhere: a password change from another
device, deactivation, deleting a user's sessions."""

from __future__ import annotations

import json
import os

from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines

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


def to_connection_view(request: HttpRequest, connection_id: str) -> JsonResponse:
    clientsignal.send_to_connection(connection_id, "dm", {"text": request.GET.get("text", "")})
    return JsonResponse({"sent": True, "pid": os.getpid()})


HISTORY_PAGE = """{% load clientsignal %}<!DOCTYPE html>
<html>
  <head>
    {% clientsignal_js %}
    <script>
      // What the page heard of /history, in order, each with the time it came (ms):
      // ["n", number, t], ["gap", ["<kind> <name>" of each stream], t], ["dm", text, t],
      // ["open", null, t],
      // ["close", code, t]; the worker and connection of its last open.
      window.heard = [];
      function hear(kind, value) { heard.push([kind, value, Date.now()]); }
      window.sock = new SignalSocket('/history', {
        transports: [{{ transport_json|safe }}], multiplex: null, minDelay: 200, maxDelay: 1000
      });
      sock.on('hello', function (data) { window.hello = data; });
      sock.on('numbered', function (data) { hear('n', data.n); });
      sock.on('dm', function (data) { hear('dm', data.text); });
      sock.on('gap', function (data) {
        hear('gap', data.streams.map(function (s) { return s.kind + ' ' + s.name; }));
      });
      sock.on('open', function () { hear('open', null); });
      sock.on('close', function (info) { hear('close', info.code); });
    </script>
  </head>
  <body></body>
</html>
"""


def history_page(request: HttpRequest) -> HttpResponse:
    """A page whose SignalSocket listens to /history over ``?transport=`` (its own SockJS
    session, not multiplexed)."""
    transport = request.GET.get("transport", "websocket")
    template = engines["django"].from_string(HISTORY_PAGE)
    context = {"transport_json": json.dumps(transport)}
    return HttpResponse(template.render(context, request))


def sockets_view(request: HttpRequest) -> HttpResponse:
    """A page whose script opens SignalSockets on demand (see the template)."""
    return render(request, "attackproject/sockets.html")


def password_view(request: HttpRequest) -> JsonResponse:
    """The logged-in user changes their password here, as Django's password change view
    does: the other sessions' hash no longer matches; this one's is updated."""
    user = request.user
    user.set_password(request.GET.get("password", "new-password"))  # type: ignore[union-attr]
    user.save()  # type: ignore[union-attr]
    update_session_auth_hash(request, user)  # type: ignore[arg-type]
    return JsonResponse({"changed": str(user), "pid": os.getpid()})


def deactivate_view(request: HttpRequest, name: str) -> JsonResponse:
    """An administrator deactivates ``name`` (as the admin's change form saves it)."""
    user = User.objects.get(username=name)
    user.is_active = False
    user.save()
    return JsonResponse({"deactivated": name, "pid": os.getpid()})


def delete_sessions_view(request: HttpRequest, name: str) -> JsonResponse:
    """ "Log out everywhere" as sites write it: delete every session row of ``name``, in one
    query (no model signal per row)."""
    pk = str(User.objects.get(username=name).pk)
    keys = [
        s.session_key for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == pk
    ]
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    return JsonResponse({"deleted": deleted, "pid": os.getpid()})

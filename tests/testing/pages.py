"""A room page for the live server's browser test: ``/room/<room_id>/``, whose socket opens
``/rooms/<room_id>``; and the same page under a strict Content Security Policy
(``/strict/<room_id>/``), its scripts allowed by nonce only, the tag's given the nonce as an
argument or (``?from=request``) taken from ``request.csp_nonce`` as CSP middlewares set it."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

ROOM = """{% load clientsignal %}<!DOCTYPE html>
<html>
  <head>
    {% clientsignal_js %}
    <script>
      document.addEventListener('DOMContentLoaded', function () {
        window.sock = new SignalSocket('/rooms/{{ room_id }}');
        sock.on('open', function () { document.body.dataset.state = 'open'; });
        sock.on('said', function (data) {
          var li = document.createElement('li');
          li.textContent = data.by + ': ' + data.text;
          document.getElementById('log').appendChild(li);
        });
      });
    </script>
  </head>
  <body><h1>Room {{ room_id }}</h1><ul id="log"></ul></body>
</html>
"""


def room(request: HttpRequest, room_id: int) -> HttpResponse:
    template = engines["django"].from_string(ROOM)
    return HttpResponse(template.render({"room_id": room_id}, request))


def strict_room(request: HttpRequest, room_id: int) -> HttpResponse:
    nonce = secrets.token_urlsafe(16)
    page = ROOM.replace("<script>", '<script nonce="{{ nonce }}">')
    if request.GET.get("from") == "request":
        request.csp_nonce = nonce  # type: ignore[attr-defined]
    else:
        page = page.replace("{% clientsignal_js %}", "{% clientsignal_js nonce=nonce %}")
    template = engines["django"].from_string(page)
    response = HttpResponse(template.render({"room_id": room_id, "nonce": nonce}, request))
    response["Content-Security-Policy"] = (
        "script-src 'nonce-%s'; object-src 'none'; base-uri 'none'" % nonce
    )
    return response


urlpatterns = [path("room/<int:room_id>/", room), path("strict/<int:room_id>/", strict_room)]

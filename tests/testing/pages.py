"""A room page for the live server's browser test: ``/room/<room_id>/``, whose socket opens
``/rooms/<room_id>``."""

from __future__ import annotations

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


urlpatterns = [path("room/<int:room_id>/", room)]

"""A connection whose receivers query the database: ``nap`` runs one query that takes
``seconds`` on the server (answered with ``sock.call``), ``ping`` touches no database."""

from django.db import connection
from django.dispatch import receiver

import clientsignal
from clientsignal import Signal

SLEEP = {"postgresql": "SELECT pg_sleep(%s)", "mysql": "SELECT SLEEP(%s)"}


class DatabaseConnection(clientsignal.SignalConnection):
    pass


class CheckedConnection(DatabaseConnection):
    """Authenticates with a query of its own (say, a token looked up), which takes a while."""

    def get_user(self, request):
        with connection.cursor() as cursor:
            cursor.execute(SLEEP[connection.vendor], [0.05])
        return super().get_user(request)


nap = Signal(providing_args=["seconds"])
ping = Signal()
DatabaseConnection.listen("nap", nap)
DatabaseConnection.listen("ping", ping)


@receiver(nap)
def napping(sender, seconds, **kwargs):
    with connection.cursor() as cursor:
        cursor.execute(SLEEP[connection.vendor], [float(seconds)])
    return seconds


@receiver(ping)
def pinging(sender, **kwargs):
    return "pong"

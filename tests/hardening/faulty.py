"""A WSGI app whose connection fails on demand, for isolation tests."""

from clientsignal.echo import static_app
from clientsignal.sockjs_protocol import SockJSConnection
from clientsignal.wsgi import ClientSignalMiddleware


class FaultyConnection(SockJSConnection):
    """Echoes, except that "boom" raises in on_message."""

    def on_message(self, message):
        if message == "boom":
            raise RuntimeError("boom from a client")
        self.send(message)


application = ClientSignalMiddleware(
    static_app,
    {"/faulty": FaultyConnection},
    options={"max_message_size": 1000, "max_sessions": 3},
)

"""ASGI entry point of the Channels peer:

    PYTHONPATH=bench/peers BENCH_REDIS_URL=redis://127.0.0.1:P/0 \\
        bench/.venvs/channels/bin/daphne -b 127.0.0.1 -p PORT channels_peer.asgi:application

Websockets on /chat/<int:room_id> go to the chat consumer (the dbchat scenario), on any other
path to the bench consumer; plain HTTP goes to Django (200 "ok").
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channels_peer.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()  # sets Django up before the consumer is imported

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels_peer.consumers import BenchConsumer, ChatConsumer  # noqa: E402
from django.urls import path, re_path  # noqa: E402

websockets = URLRouter(
    [path("chat/<int:room_id>", ChatConsumer.as_asgi()), re_path(r"", BenchConsumer.as_asgi())]
)
application = ProtocolTypeRouter({"http": django_application, "websocket": websockets})

"""The floor of our stack: bare gevent-websocket, no SockJS, no Django.

A client's message "broadcast" is encoded once and written to every socket; "echo" is
written back to its sender. Run with gunicorn's GeventWebSocketWorker, like clientsignal.
"""

import json

from geventwebsocket.exceptions import WebSocketError

clients = set()


def application(environ, start_response):
    ws = environ.get("wsgi.websocket")
    if ws is None:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    clients.add(ws)
    try:
        while True:
            message = ws.receive()
            if message is None:
                break
            request = json.loads(message)
            frame = json.dumps({"event": request["event"], "data": request["data"]})
            if request["event"] == "broadcast":
                for client in list(clients):
                    try:
                        client.send(frame)
                    except WebSocketError:
                        clients.discard(client)
            else:
                ws.send(frame)
    except WebSocketError:
        pass
    finally:
        clients.discard(ws)
    return []

"""The I/O layer around the sans-I/O core: the only place with sockets and greenlets.

- :mod:`.http`: WSGI requests in and responses out, the streaming loop, disconnect watching;
- :mod:`.websocket`: one websocket session's reading and writing;
- :mod:`.forwarding`: HTTP sessions shared by several workers through Redis;
- :mod:`.gunicorn_worker`: the gunicorn worker's pool, header timeout and start-up checks.
"""

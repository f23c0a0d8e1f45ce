"""gunicorn settings for a Django project served with clientsignal::

    gunicorn -c python:clientsignal.gunicorn_conf -w 1 myproject.wsgi:application

The gevent-websocket worker, a pool of 11,000 connections per worker (a service's default
``max_sessions`` and room for more), the open files limit raised to match, at most a tenth of
it from one client address (``CLIENTSIGNAL_MAX_CONNECTIONS_PER_ADDRESS``), a time limit on
request heads (slowloris), a log line when a worker's pool is full, and the start-up checks
logged once. With a configuration file of your own, start it with
``from clientsignal.gunicorn_conf import *``; command-line flags (``--worker-connections``)
override these values. See :mod:`clientsignal.gevent_io.gunicorn_worker`.
"""

from clientsignal.gevent_io.gunicorn_worker import DEFAULT_CONNECTIONS, post_worker_init

worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
worker_connections = DEFAULT_CONNECTIONS

__all__ = ["post_worker_init", "worker_class", "worker_connections"]

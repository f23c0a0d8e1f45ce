"""``-c python:clientsignal.gunicorn_conf`` is imported by gunicorn's master, before its gevent
workers patch the standard library: Django's database layer imported there would give every
greenlet of a worker the same database connection ("DatabaseWrapper objects created in a
thread can only be used in that same thread")."""

from __future__ import annotations

import subprocess
import sys


def test_the_config_module_imports_neither_django_nor_gevent():
    code = (
        "import sys, clientsignal.gunicorn_conf as conf\n"
        "print(conf.worker_class, conf.worker_connections)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'gevent', 'geventwebsocket', 'redis')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout.splitlines()
    assert out == ["geventwebsocket.gunicorn.workers.GeventWebSocketWorker 11000", "[]"]


def test_the_package_imports_its_public_names_on_first_use():
    import clientsignal

    assert clientsignal.SignalConnection.__module__.startswith("clientsignal.connection")
    assert set(clientsignal.__all__) >= {"Signal", "SignalConnection", "send_to_user"}

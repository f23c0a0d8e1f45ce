"""Run by test_patched.py as ``python -m tests.testing.patched_process``: a test process that
gevent has monkey-patched first thing, with communicators on both backends."""

if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()

import django  # noqa: E402


def main() -> None:
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import override_settings

    from clientsignal.backends import reset_backends
    from clientsignal.testing import SignalCommunicator
    from tests.support.servers import RedisServer
    from tests.testing import rooms

    call_command("migrate", run_syncdb=True, verbosity=0)
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    expected = ("said", {"room_id": 7, "text": "hi", "by": "alice", "sender": None})
    with RedisServer() as redis:
        for backend in (None, redis.url):
            with (
                override_settings(
                    CLIENTSIGNAL_CONNECTIONS=rooms.CONNECTIONS, CLIENTSIGNAL_BACKEND=backend
                ),
                SignalCommunicator("/rooms/7", user=alice) as a,
                SignalCommunicator("/rooms/7", user=bob) as b,
            ):
                a.send("say", {"text": "hi"})
                assert b.receive(timeout=5) == expected and a.receive(timeout=5) == expected
                assert a.receive_nothing() and b.receive_nothing()
            reset_backends()
            print("ok", backend is not None)


if __name__ == "__main__":
    main()

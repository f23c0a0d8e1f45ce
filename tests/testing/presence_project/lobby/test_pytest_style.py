import os

import pytest
from django.contrib.auth.models import User

from lobby.connections import LobbyConnection


@pytest.fixture
def on_redis(settings):
    settings.CLIENTSIGNAL_BACKEND = os.environ["LOBBY_REDIS_URL"]


@pytest.fixture
def users(db):
    return User.objects.create_user("alice"), User.objects.create_user("bob")


def test_bob_hears_alice_arrive(on_redis, users, signal_communicator):
    alice, bob = users
    bob_tab = signal_communicator("/lobby/1", user=bob)
    assert bob_tab.connect().connected
    assert signal_communicator("/lobby/1", user=alice).connect().connected
    event, data = bob_tab.receive()
    assert (event, data["user"]) == ("join", {"id": alice.pk, "username": "alice"})
    assert bob_tab.receive_nothing()


def test_alice_is_alone_in_the_room(on_redis, users, signal_communicator):
    alice, _bob = users
    tab = signal_communicator("/lobby/1", user=alice)
    assert tab.connect().connected
    assert tab.receive_nothing()
    assert LobbyConnection.present(room_id=1) == [
        {"user": {"id": alice.pk, "username": "alice"}, "connections": 1}
    ]

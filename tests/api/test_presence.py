"""Presence through the real core and the in-process backend: who is where, with their
connection counts, and join/leave events to the others."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client as DjangoClient

import clientsignal
from clientsignal import SignalConnection

_made: list[User] = []


@pytest.fixture(autouse=True)
def users():
    """Users of this test only: the database outlives it (other modules make their own)."""
    yield
    for user in _made:
        user.delete()
    _made.clear()


def as_user(client_for, cls, name, **kwargs):
    user, created = User.objects.get_or_create(username=name)
    if created:
        _made.append(user)
    browser = DjangoClient()
    browser.force_login(user)
    return client_for(cls, cookies={"sessionid": browser.cookies["sessionid"].value}, **kwargs)


def fresh(events=True):
    class Room(SignalConnection):
        presence = True
        presence_events = events

        def on_open(self, request):
            super().on_open(request)
            if not self.is_closed:
                self.join("lobby-" + request.query.get("lobby", "x"))

    return Room


def names(present):
    return [(p["user"] and p["user"]["username"], p["connections"]) for p in present]


def test_who_is_connected_with_their_connection_counts(client_for):
    Room = fresh()
    lobby = "l" + uuid.uuid4().hex[:6]
    alice = [as_user(client_for, Room, "alice", query="lobby=" + lobby) for _ in range(2)]
    as_user(client_for, Room, "bob", query="lobby=" + lobby)
    client_for(Room, query="lobby=" + lobby)  # anonymous
    assert names(Room.present()) == [("alice", 2), ("bob", 1), (None, 1)]
    assert names(clientsignal.presence("lobby-" + lobby)) == [("alice", 2), ("bob", 1), (None, 1)]
    alice[0].session.close()
    assert names(Room.present()) == [("alice", 1), ("bob", 1), (None, 1)]
    alice[1].session.close()
    assert names(Room.present()) == [("bob", 1), (None, 1)]


def test_the_others_see_a_user_join_and_leave_once(client_for):
    Room = fresh()
    bob = as_user(client_for, Room, "bob")
    bob.events()
    first = as_user(client_for, Room, "alice")
    second = as_user(client_for, Room, "alice")  # a second tab: not a second join
    joins = [e for e in bob.events() if e["event"] == "join"]
    assert [(e["data"]["user"]["username"], e["data"]["where"]) for e in joins] == [
        ("alice", {"kind": "room", "name": Room.__name__, "args": {}}),
        ("alice", {"kind": "group", "name": "lobby-x"}),
    ]
    assert [e for e in first.events() if e["event"] == "join"] == []  # not to itself
    first.session.close()
    assert [e for e in bob.events() if e["event"] == "leave"] == []  # a tab is still there
    second.session.close()
    leaves = [e["data"]["where"]["kind"] for e in bob.events() if e["event"] == "leave"]
    assert sorted(leaves) == ["group", "room"]


def test_presence_by_url_arguments(client_for):
    class Chat(SignalConnection):
        presence = True

    alice = as_user(client_for, Chat, "alice")
    assert alice.connection.kwargs == {}  # opened without URL arguments: in the class only
    assert names(Chat.present()) == [("alice", 1)]
    assert names(Chat.present(room_id=7)) == []


def test_leaving_a_group_leaves_its_presence(client_for):
    Room = fresh(events=False)
    alice = as_user(client_for, Room, "alice")
    assert names(clientsignal.presence("lobby-x"))[0] == ("alice", 1)
    alice.connection.leave("lobby-x")
    assert clientsignal.presence("lobby-x") == []
    assert names(Room.present()) == [("alice", 1)]


def test_a_class_without_presence_is_not_counted(client_for):
    class Quiet(SignalConnection):
        pass

    as_user(client_for, Quiet, "alice")
    assert Quiet.present() == []


def test_joining_a_group_twice_is_one_arrival(client_for):
    Room = fresh()
    bob = as_user(client_for, Room, "bob")
    alice = as_user(client_for, Room, "alice")
    bob.events()
    alice.connection.join("lobby-x")  # joined in on_open already
    assert [e for e in bob.events() if e["event"] == "join"] == []
    assert names(clientsignal.presence("lobby-x")) == [("alice", 1), ("bob", 1)]


def test_a_join_after_the_connection_closed_does_nothing(client_for):
    Room = fresh(events=False)
    alice = as_user(client_for, Room, "alice")
    backend = Room.get_backend()
    members = backend.hub.count()
    alice.session.close()  # the client went while one of its receivers still ran ...
    alice.connection.join("late")  # ... and that receiver joins a group
    assert clientsignal.presence("late") == []
    assert backend.hub.count() == members - 1

"""Two first polls for one session id at once, while on_open waits (Redis, a database):
one session, and nothing of the other left behind."""

import gevent
import pytest

from clientsignal.echo import EchoConnection
from clientsignal.sockjs_protocol import Request, SockJSOptions, SockJSServer, Stream

ADDRESS = "203.0.113.9"


class WaitingOpen(EchoConnection):
    """An on_open that lets other greenlets run, as a database or Redis call does."""

    opened: list = []
    closed: list = []

    def on_open(self, request: Request) -> None:
        WaitingOpen.opened.append(self.session)
        gevent.sleep(0.01)

    def on_close(self) -> None:
        WaitingOpen.closed.append(self.session)


@pytest.mark.timeout(10)
def test_two_first_polls_at_once_make_one_session_and_leak_nothing() -> None:
    server = SockJSServer(WaitingOpen, SockJSOptions(disconnect_delay=1))

    def first_poll() -> object:
        request = Request(
            "POST", "/0/race/xhr", headers={"cookie": "sockjs_key=k"}, remote_addr=ADDRESS
        )
        stream = server.handle(request, 0.0)
        assert isinstance(stream, Stream)
        stream.receiver.pull(0.0)
        stream.receiver.finish(0.0)
        return stream.receiver.session

    polls = [gevent.spawn(first_poll), gevent.spawn(first_poll)]
    gevent.joinall(polls, raise_error=True)
    assert polls[0].value is polls[1].value
    assert len(WaitingOpen.opened) == 2  # both ran on_open ...
    assert WaitingOpen.closed == [s for s in WaitingOpen.opened if s is not polls[0].value]
    assert server.open_sessions() == 1  # ... one of them is the session
    server.tick(100.0)  # long after disconnect_delay
    assert server.open_sessions() == 0
    assert server.quotas.count("address", ADDRESS) == 0
    assert len(WaitingOpen.closed) == 2

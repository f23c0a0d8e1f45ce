"""A TCP proxy whose network a test can cut: every connection through it dropped at once, and
new ones refused, until it is restored. A page loaded through it loses its network exactly as
a phone changing networks does, whatever its transport (Chromium's offline mode leaves
established websockets alone)."""

from __future__ import annotations

import socket
import threading

from tests.support.servers import free_port


class CuttableProxy:
    def __init__(self, upstream_port: int, source: str | None = None) -> None:
        """``source``: the loopback address its connections to the upstream come from
        (``127.0.0.2``: a client that is not on the upstream's own address)."""
        self.upstream = ("127.0.0.1", upstream_port)
        self.source = (source, 0) if source else None
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.cut_off = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def cut(self) -> None:
        """Drop every connection through the proxy; refuse new ones until :meth:`restore`."""
        self.cut_off = True
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _drop(sock)

    def restore(self) -> None:
        self.cut_off = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off:
                _drop(client)
                continue
            try:
                server = socket.create_connection(
                    self.upstream, timeout=5, source_address=self.source
                )
            except OSError:
                _drop(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, target}
            _drop(source)
            _drop(target)


def _drop(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

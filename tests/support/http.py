"""Small HTTP helpers over http.client, including chunk-by-chunk streaming reads."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), path


def request(
    method: str,
    url: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Reply:
    conn, path = _connection(url, timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read().decode("utf-8"))
    finally:
        conn.close()


class Stream:
    """A streaming response read one HTTP chunk at a time."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> None:
        self.conn, path = _connection(url, timeout)
        self.conn.request(method, path, headers=headers or {})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def read_chunk(self) -> str:
        """The next chunk, or '' at the end of the response."""
        return self.response.read1().decode("utf-8")

    def close(self) -> None:
        """Drop the connection, as a client going away would."""
        sock = self.conn.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

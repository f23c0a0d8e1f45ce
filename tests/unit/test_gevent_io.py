"""The websocket fast paths of the I/O layer give the same bytes as gevent-websocket."""

from __future__ import annotations

import io

from geventwebsocket.utf8validator import Utf8Validator as ReferenceValidator
from geventwebsocket.websocket import Header, WebSocket
from hypothesis import given
from hypothesis import strategies as st

from clientsignal.gevent_io.websocket import Utf8Validator, frame_bytes, text_frame, unmask


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_unmask_is_gevent_websockets_unmask(payload, mask):
    header = Header(length=len(payload))
    header.mask = mask
    assert unmask(payload, mask) == bytes(header.unmask_payload(payload))


@given(st.text(max_size=70_000))
def test_text_frame_is_what_gevent_websocket_sends(text):
    written = io.BytesIO()
    websocket = WebSocket.__new__(WebSocket)
    websocket.closed = False
    websocket.raw_write = written.write
    websocket.send_frame(text, WebSocket.OPCODE_TEXT)
    assert text_frame(text) == written.getvalue()


def test_frame_bytes_are_built_once_per_frame_object():
    frame = "a[" + '"x"' + "]"
    assert frame_bytes(frame) is frame_bytes(frame)
    assert frame_bytes(frame) == text_frame(frame)


@given(st.lists(st.binary(max_size=20), max_size=5))
def test_utf8_validation_agrees_with_gevent_websocket(fragments):
    # Fragment by fragment up to the first invalid one (where gevent-websocket stops reading).
    ours, reference = Utf8Validator(), ReferenceValidator()
    for fragment in fragments:
        valid = reference.validate(fragment)[0]
        assert ours.validate(fragment)[0] == valid
        if not valid:
            break

"""The sans-I/O websocket frame reader and writer: bytes in, events out, no sockets.

Client frames are built here by :func:`frame`, independently of the module under test (a
plain per-byte XOR for the mask), with any opcode, FIN, RSV bits and length encoding.
"""

from __future__ import annotations

import io
import itertools
import struct
import time
import tracemalloc

import pytest
from geventwebsocket.websocket import Header, WebSocket
from hypothesis import given, settings
from hypothesis import strategies as st

from clientsignal.sockjs_protocol.websocket_framing import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    PONG,
    TEXT,
    Close,
    Fail,
    FrameReader,
    Message,
    Ping,
    Pong,
    binary_frame,
    close_frame,
    ping_frame,
    pong_frame,
    text_frame,
    unmask,
    valid_close_code,
)

MASK = b"\x37\xfa\x21\x3d"
LIMIT = 1 << 20
# What the reader may hold besides the message: an incomplete header and control frame.
SLACK = 14 + 125


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = MASK,
    form: int | None = None,
    length: int | None = None,
) -> bytes:
    """A client frame: masked with ``mask`` (None: not masked), its length in the 7-, 16- or
    64-bit ``form`` (None: the shortest), declaring ``length`` (default: the payload's)."""
    length = len(payload) if length is None else length
    if form is None:
        form = 7 if length < 126 else 16 if length < 65536 else 64
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    flag = 0x80 if mask is not None else 0
    if form == 7:
        head += bytes([flag | length])
    elif form == 16:
        head += bytes([flag | 126]) + struct.pack("!H", length)
    else:
        head += bytes([flag | 127]) + struct.pack("!Q", length)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text(data: str, **kwargs) -> bytes:
    return frame(TEXT, data.encode(), **kwargs)


def reader(limit: int = LIMIT) -> FrameReader:
    return FrameReader(max_message_size=limit)


def read(data: bytes, limit: int = LIMIT) -> list:
    return reader(limit).feed(data)


def read_bytewise(data: bytes, limit: int = LIMIT) -> list:
    r = reader(limit)
    return [event for i in range(len(data)) for event in r.feed(data[i : i + 1])]


def fail_code(data: bytes, limit: int = LIMIT) -> int:
    events = read(data, limit)
    assert isinstance(events[-1], Fail), events
    return events[-1].code


# -- messages -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_each_length_encoding(size):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert read(frame(BINARY, payload)) == [Message(payload, True)]
    assert read(frame(TEXT, b"x" * size)) == [Message("x" * size, False)]


@pytest.mark.parametrize("form", [7, 16, 64])
def test_a_longer_length_encoding_than_needed_is_accepted(form):
    assert read(text("hi", form=form)) == [Message("hi", False)]
    assert read(frame(PING, b"p", form=form)) == [Ping(b"p")]


def test_any_mask_even_zero():
    assert read(text("hello", mask=b"\0\0\0\0")) == [Message("hello", False)]
    assert read(text("hello", mask=b"\xff\xff\xff\xff")) == [Message("hello", False)]


def test_many_frames_in_one_chunk():
    data = b"".join(text("message %d" % i) for i in range(1000))
    r = reader()
    events = r.feed(data)
    assert events == [Message("message %d" % i, False) for i in range(1000)]
    assert r.frames_read == 1000
    assert r.buffered == 0


def test_one_frame_split_at_every_byte():
    data = text("héllo wörld, " * 20, form=64)
    for cut in range(len(data) + 1):
        r = reader()
        assert r.feed(data[:cut]) + r.feed(data[cut:]) == [Message("héllo wörld, " * 20, False)]
    assert read_bytewise(data) == [Message("héllo wörld, " * 20, False)]


def test_fragmented_text_with_a_character_split_across_fragments():
    encoded = "naïve €uro 𝄞".encode()
    cut1, cut2 = encoded.index("ï".encode()) + 1, encoded.index("𝄞".encode()) + 2
    data = (
        frame(TEXT, encoded[:cut1], fin=False)
        + frame(CONTINUATION, encoded[cut1:cut2], fin=False)
        + frame(CONTINUATION, encoded[cut2:])
    )
    assert read(data) == [Message("naïve €uro 𝄞", False)]
    assert read_bytewise(data) == [Message("naïve €uro 𝄞", False)]


def test_fragmented_binary_with_empty_fragments():
    data = (
        frame(BINARY, b"", fin=False)
        + frame(CONTINUATION, b"ab", fin=False)
        + frame(CONTINUATION, b"", fin=False)
        + frame(CONTINUATION, b"c")
    )
    r = reader()
    assert r.feed(data) == [Message(b"abc", True)]
    assert r.frames_read == 4


def test_control_frames_interleave_with_a_fragmented_message():
    data = (
        frame(TEXT, b"one ", fin=False)
        + frame(PING, b"ping")
        + frame(CONTINUATION, b"two ", fin=False)
        + frame(PONG, b"pong")
        + frame(CONTINUATION, b"three")
        + text("four")
    )
    expected = [
        Ping(b"ping"),
        Pong(b"pong"),
        Message("one two three", False),
        Message("four", False),
    ]
    assert read(data) == expected
    assert read_bytewise(data) == expected


def test_pings_and_pongs_with_payload():
    assert read(frame(PING, b"")) == [Ping(b"")]
    assert read(frame(PING, b"\x00\xff" * 62 + b"!")) == [Ping(b"\x00\xff" * 62 + b"!")]
    assert read(frame(PONG, b"12345")) == [Pong(b"12345")]


# -- closing ---------------------------------------------------------------------------------


def test_close_without_payload():
    assert read(frame(CLOSE)) == [Close(None, "")]


def test_close_with_code_and_reason():
    assert read(frame(CLOSE, struct.pack("!H", 1000))) == [Close(1000, "")]
    reason = "au revoir, à bientôt"
    assert read(frame(CLOSE, struct.pack("!H", 4000) + reason.encode())) == [Close(4000, reason)]


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1013, 1014, 3000, 4999])
def test_valid_close_codes(code):
    assert read(frame(CLOSE, struct.pack("!H", code))) == [Close(code, "")]


@pytest.mark.parametrize(
    "code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
)
def test_invalid_close_codes(code):
    assert not valid_close_code(code)
    assert read(frame(CLOSE, struct.pack("!H", code))) == [Fail(1002, "Invalid close code")]


def test_close_payload_of_one_byte():
    assert fail_code(frame(CLOSE, b"\x03")) == 1002


def test_close_reason_not_utf8():
    assert fail_code(frame(CLOSE, struct.pack("!H", 1000) + b"\xff")) == 1007


def test_nothing_is_read_after_a_close():
    r = reader()
    events = r.feed(text("before") + frame(CLOSE) + text("after"))
    assert events == [Message("before", False), Close(None, "")]
    assert r.done
    assert r.feed(text("later")) == []
    assert r.buffered == 0


def test_a_close_interrupts_a_fragmented_message():
    r = reader()
    assert r.feed(frame(TEXT, b"part", fin=False) + frame(CLOSE, b"\x03\xe8")) == [Close(1000, "")]
    assert r.buffered == 0


# -- protocol violations ------------------------------------------------------------------------


def test_unmasked_frame():
    assert read(text("hi", mask=None)) == [Fail(1002, "Client frames must be masked")]
    assert read(b"\x81\x02") == [Fail(1002, "Client frames must be masked")]  # on its header


@pytest.mark.parametrize("rsv", [1, 2, 4, 7])
def test_reserved_bits(rsv):
    assert fail_code(text("hi", rsv=rsv)) == 1002
    assert fail_code(frame(PING, rsv=rsv)) == 1002


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcodes(opcode):
    assert read(frame(opcode, b"x")) == [Fail(1002, "Reserved opcode")]


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_fragmented_control_frame(opcode):
    assert read(frame(opcode, b"", fin=False)) == [Fail(1002, "Fragmented control frame")]


@pytest.mark.parametrize("opcode", [CLOSE, PING, PONG])
def test_control_frame_over_125_bytes_fails_on_its_header(opcode):
    data = frame(opcode, b"x" * 126)
    assert read(data[:4]) == [Fail(1002, "Control frame too long")]
    assert fail_code(frame(opcode, length=1 << 40)[:10]) == 1002


def test_continuation_without_a_message():
    assert read(frame(CONTINUATION, b"x")) == [Fail(1002, "Continuation frame without a message")]
    # ... also once the last message has ended.
    events = read(text("done") + frame(CONTINUATION, b"x"))
    assert events == [Message("done", False), Fail(1002, "Continuation frame without a message")]


@pytest.mark.parametrize("opcode", [TEXT, BINARY])
def test_new_message_while_one_is_fragmented(opcode):
    data = frame(BINARY, b"x", fin=False) + frame(opcode, b"y")
    assert read(data) == [Fail(1002, "New message before the last one ended")]


def test_length_with_the_top_bit_set():
    data = frame(BINARY, length=1 << 63)
    assert read(data[:10]) == [Fail(1002, "Frame length over 63 bits")]


def test_invalid_utf8_in_a_whole_frame():
    assert read(frame(TEXT, b"ok \xc3\x28")) == [Fail(1007, "Invalid UTF-8")]
    assert fail_code(frame(TEXT, "\ud800".encode("utf-8", "surrogatepass"))) == 1007  # surrogate
    assert fail_code(frame(TEXT, b"\xc0\xaf")) == 1007  # overlong
    assert fail_code(frame(TEXT, b"\xf4\x90\x80\x80")) == 1007  # over U+10FFFF


def test_invalid_utf8_fails_with_the_first_fragment():
    r = reader()
    assert r.feed(frame(TEXT, b"\xff rest is fine", fin=False)) == [Fail(1007, "Invalid UTF-8")]


def test_a_surrogates_first_two_bytes_fail_at_once():
    # Python's incremental decoder holds ED A0 until a third byte: the reader does not.
    r = reader()
    assert r.feed(frame(TEXT, b"ok \xed\xa0", fin=False)) == [Fail(1007, "Invalid UTF-8")]
    r = reader()
    assert r.feed(frame(TEXT, b"ok \xed\x9f", fin=False)) == []  # U+D7xx: fine so far


def test_every_two_byte_start_fails_exactly_when_no_text_could_follow():
    for lead, second in itertools.product(range(0xC0, 0x100), range(0x100)):
        start = bytes([lead, second])
        events = reader().feed(frame(TEXT, start, fin=False))
        assert events == ([] if could_start_utf8(start) else [Fail(1007, "Invalid UTF-8")])


def test_invalid_utf8_fails_as_the_bytes_arrive():
    # A frame of 64 KiB whose first bytes are invalid: it fails on them, not at its end.
    data = frame(TEXT, b"\xed\xa0\x80" + b"x" * 65533)
    r = reader()
    assert r.feed(data[:20]) == [Fail(1007, "Invalid UTF-8")]


def test_invalid_utf8_across_fragments():
    data = frame(TEXT, b"ok \xe2\x82", fin=False) + frame(CONTINUATION, b"\x28 more")
    assert fail_code(data) == 1007


def test_text_ending_inside_a_character():
    data = frame(TEXT, b"ok \xe2\x82", fin=False) + frame(CONTINUATION, b"")
    assert fail_code(data) == 1007
    r = reader()
    assert r.feed(frame(TEXT, b"ok \xe2\x82", fin=False)) == []  # not yet invalid


def test_nothing_is_read_after_a_fail():
    r = reader()
    events = r.feed(text("before") + frame(PING, rsv=1) + text("after"))
    assert events == [Message("before", False), Fail(1002, "Reserved bits set")]
    assert r.done
    assert r.feed(text("later")) == []
    assert r.buffered == 0


# -- size limits, checked on the header --------------------------------------------------------


def test_a_message_of_exactly_the_limit():
    assert read(frame(BINARY, b"x" * 1000), limit=1000) == [Message(b"x" * 1000, True)]
    assert read(frame(BINARY, b"x" * 1001), limit=1000) == [Fail(1009, "Message too big")]


def test_fragments_count_towards_the_limit():
    ok = frame(TEXT, b"x" * 600, fin=False) + frame(CONTINUATION, b"y" * 400)
    assert read(ok, limit=1000) == [Message("x" * 600 + "y" * 400, False)]
    over = frame(TEXT, b"x" * 600, fin=False) + frame(CONTINUATION, b"y" * 401)
    assert read(over, limit=1000) == [Fail(1009, "Message too big")]


def test_two_gigabytes_declared_fail_on_the_ten_byte_header():
    header = frame(TEXT, length=2 << 30)[:10]  # no mask yet, no payload
    r = reader()
    assert r.feed(header[:9]) == []
    assert r.buffered == 9
    assert r.feed(header[9:]) == [Fail(1009, "Message too big")]
    assert r.buffered == 0
    assert r.feed(b"x" * 65536) == []
    assert r.buffered == 0


def in_chunks(frames: list[bytes], size: int):
    """The stream of ``frames`` cut every ``size`` bytes, across frame boundaries, without
    joining the frames (the test itself holds no more than a chunk)."""
    carry = b""
    for data in frames:
        i = 0
        if carry:
            i = size - len(carry)
            carry += data[:i]
            if len(carry) < size:
                continue
            yield carry
        while len(data) - i >= size:
            yield data[i : i + size]
            i += size
        carry = data[i:]
    if carry:
        yield carry


def test_endless_continuation_frames_fail_once_past_the_limit():
    # 200 MiB of 1 MiB fragments, fed 64 KiB at a time: the reader fails as soon as it has
    # the length of the fragment that would take the message past 4 MiB, holds no more than
    # the message so far meanwhile, and nothing at all after.
    limit = 4 << 20
    chunk = 64 << 10
    first = frame(TEXT, b"a" * (1 << 20), fin=False)
    fragment = frame(CONTINUATION, b"a" * (1 << 20), fin=False)
    r = reader(limit)
    events: list = []
    fed = failed_at = most = 0
    tracemalloc.start()
    try:
        for piece in in_chunks([first] + [fragment] * 199, chunk):
            fed += len(piece)
            new = r.feed(piece)
            if new and not events:
                failed_at = fed
            events += new
            most = max(most, r.buffered)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fed == 200 * len(fragment)
    assert events == [Fail(1009, "Message too big")]
    # In the chunk holding the 10th byte of the fifth fragment's header.
    assert failed_at - chunk < 4 * len(fragment) + 10 <= failed_at
    assert most <= limit + SLACK
    assert r.buffered == 0
    assert peak < limit * 1.25 + 4 * chunk  # the message as it grows, and a chunk or two


def test_empty_continuation_frames_hold_nothing():
    r = reader(1000)
    r.feed(frame(BINARY, b"", fin=False))
    empty = frame(CONTINUATION, b"", fin=False) * 10_000
    assert r.feed(empty) == []
    assert r.buffered == 0
    assert r.frames_read == 10_001  # what a rate limit charges


def test_a_large_frame_arriving_in_pieces_is_held_once():
    payload = b"z" * 500_000
    data = frame(BINARY, payload)
    r = reader()
    events = []
    for i in range(0, len(data), 4096):
        events += r.feed(data[i : i + 4096])
        assert r.buffered <= min(i + 4096, len(payload)) + SLACK
    assert events == [Message(payload, True)]
    assert r.buffered == 0


# -- any split of any valid stream --------------------------------------------------------------

messages = st.one_of(
    st.text(max_size=300).map(lambda t: Message(t, False)),
    st.binary(max_size=300).map(lambda b: Message(b, True)),
)
controls = st.one_of(
    st.binary(max_size=125).map(Ping),
    st.binary(max_size=125).map(Pong),
)
masks = st.binary(min_size=4, max_size=4)


@st.composite
def streams(draw) -> tuple[bytes, list]:
    """Frames for random messages, each cut into random fragments, with control frames
    between fragments and messages, in random length encodings; and the events they give."""
    data = b""
    events: list = []
    for item in draw(st.lists(st.one_of(messages, controls), max_size=8)):
        if not isinstance(item, Message):
            data += frame(_opcode(item), item.payload, mask=draw(masks))
            events.append(item)
            continue
        payload = item.data if item.binary else item.data.encode()
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
        pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        for i, piece in enumerate(pieces):
            opcode = (BINARY if item.binary else TEXT) if i == 0 else CONTINUATION
            form = draw(st.sampled_from([None, 16, 64]))
            last = i == len(pieces) - 1
            data += frame(opcode, piece, fin=last, mask=draw(masks), form=form)
            if last:
                events.append(item)
            for control in draw(st.lists(controls, max_size=1)):
                data += frame(_opcode(control), control.payload, mask=draw(masks))
                events.append(control)
    return data, events


def _opcode(control: Ping | Pong) -> int:
    return PING if isinstance(control, Ping) else PONG


@settings(max_examples=300)
@given(streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_any_split_of_a_stream_gives_the_same_events(stream, cuts):
    data, expected = stream
    assert read(data) == expected
    r = reader()
    events: list = []
    bounds = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    for a, b in zip(bounds, bounds[1:], strict=False):
        events += r.feed(data[a:b])
        assert r.buffered <= LIMIT + SLACK
    assert events == expected
    assert r.buffered == 0


@given(st.binary(max_size=2000), st.lists(st.integers(1, 64), max_size=40))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data, sizes):
    # Anything at all: the reader answers with events, never an exception.
    r = reader(limit=256)
    for size in sizes or [len(data) or 1]:
        piece, data = data[:size], data[size:]
        for event in r.feed(piece):
            if isinstance(event, Fail):
                assert event.code in (1002, 1007, 1009)
        assert r.buffered <= 256 + SLACK


@given(streams(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4))
def test_a_corrupted_stream_never_raises_and_stays_bounded(stream, changes):
    # Valid frames with a few bytes overwritten: the reader gets deep into the frames before
    # it meets the damage, and answers it with events, never an exception.
    data = bytearray(stream[0])
    for at, value in changes:
        if data:
            data[at % len(data)] = value
    r = reader(limit=256)
    for i in range(0, len(data), 7):
        for event in r.feed(bytes(data[i : i + 7])):
            if isinstance(event, Fail):
                assert event.code in (1002, 1007, 1009)
        assert r.buffered <= 256 + SLACK


def could_start_utf8(prefix: bytes) -> bool:
    """Whether some valid UTF-8 text starts with ``prefix``: it decodes once completed by at
    most three continuation bytes (0x80, 0x90 or 0xA0 meet every lead byte's range)."""
    tails = [b""] + [
        bytes(t) for n in (1, 2, 3) for t in itertools.product((0x80, 0x90, 0xA0), repeat=n)
    ]
    for tail in tails:
        try:
            (prefix + tail).decode()
        except UnicodeDecodeError:
            continue
        return True
    return False


utf8ish = st.lists(
    st.sampled_from([b"a", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9d\x84\x9e", b"\xed\xa0\x80"])
    | st.binary(max_size=2),
    max_size=12,
).map(b"".join)


@given(utf8ish, st.lists(st.integers(0, 40), max_size=5))
def test_utf8_fails_with_the_first_fragment_no_text_could_follow(payload, cuts):
    # Whatever the fragmentation: a Fail(1007) on the first fragment after which the bytes so
    # far can no longer start valid text, or at the end if they stop mid-character; else the
    # message, which is exactly what Python's decoder makes of the whole.
    cuts = sorted({c % (len(payload) + 1) for c in cuts})
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
    r = reader()
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        events = r.feed(frame(CONTINUATION if i else TEXT, piece, fin=last))
        so_far = b"".join(pieces[: i + 1])
        if not could_start_utf8(so_far):
            assert events == [Fail(1007, "Invalid UTF-8")]
            return
        if not last:
            assert events == []
    try:
        expected: object = Message(payload.decode(), False)
    except UnicodeDecodeError:
        expected = Fail(1007, "Invalid UTF-8")
    assert events == [expected]


# -- unmasking ---------------------------------------------------------------------------------


@given(st.binary(max_size=300), masks)
def test_unmask_is_gevent_websockets_unmask(payload, mask):
    header = Header(length=len(payload))
    header.mask = mask
    assert unmask(payload, mask) == bytes(header.unmask_payload(payload))


@pytest.mark.parametrize("size", [65535, 65536, 65537, 200_003])
def test_unmask_of_long_payloads_in_steps(size):
    payload = bytes(range(251)) * (size // 251) + bytes(size % 251)
    mask = b"\x9c\x01\xe7\x42"
    assert unmask(payload, mask) == bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert unmask(bytearray(payload), mask) == unmask(payload, mask)


# -- writing -----------------------------------------------------------------------------------


def remask(server_frame: bytes, mask: bytes) -> bytes:
    """A server frame as a client would send it: the mask bit set, the payload masked."""
    size = server_frame[1] & 0x7F
    start = 2 + {126: 2, 127: 8}.get(size, 0)
    payload = server_frame[start:]
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return (
        server_frame[:1] + bytes([server_frame[1] | 0x80]) + server_frame[2:start] + mask + masked
    )


@given(st.text(max_size=70_000))
@settings(max_examples=50)
def test_text_frame_is_what_gevent_websocket_sends(data):
    written = io.BytesIO()
    websocket = WebSocket.__new__(WebSocket)
    websocket.closed = False
    websocket.raw_write = written.write
    websocket.send_frame(data, WebSocket.OPCODE_TEXT)
    assert text_frame(data) == written.getvalue()


long_texts = st.builds(lambda t, n: t + "x" * n, st.text(max_size=50), st.integers(65400, 65600))


@given(st.text(max_size=300) | long_texts, masks)
@settings(max_examples=50)
def test_text_frame_round_trip(data, mask):
    assert read(remask(text_frame(data), mask), limit=1 << 17) == [Message(data, False)]


@given(st.binary(max_size=300), masks)
def test_binary_frame_round_trip(data, mask):
    assert read(remask(binary_frame(data), mask)) == [Message(data, True)]


def test_control_frames_round_trip():
    assert read(remask(ping_frame(), MASK)) == [Ping(b"")]
    assert read(remask(ping_frame(b"hello"), MASK)) == [Ping(b"hello")]
    assert read(remask(pong_frame(b"hello"), MASK)) == [Pong(b"hello")]
    assert read(remask(close_frame(), MASK)) == [Close(1000, "")]
    assert read(remask(close_frame(4001, "bye"), MASK)) == [Close(4001, "bye")]
    assert read(remask(close_frame(None), MASK)) == [Close(None, "")]


def test_control_frames_bytes():
    assert ping_frame() == b"\x89\x00"
    assert pong_frame(b"ab") == b"\x8a\x02ab"
    assert close_frame(None) == b"\x88\x00"
    assert close_frame(1000, "") == b"\x88\x02\x03\xe8"
    assert close_frame(1002, "Broken framing.") == b"\x88\x11\x03\xeaBroken framing."
    with pytest.raises(ValueError):
        ping_frame(b"x" * 126)
    with pytest.raises(ValueError):
        pong_frame(b"x" * 126)


@given(st.text(max_size=200))
def test_close_reason_cut_to_fit_never_inside_a_character(reason):
    data = close_frame(1000, reason)
    assert len(data) <= 2 + 125
    event = read(remask(data, MASK))[0]
    assert isinstance(event, Close) and event.code == 1000
    if len(reason.encode()) <= 123:
        assert event.reason == reason
    else:  # cut: by at most the part of a character that did not fit
        assert reason.startswith(event.reason)
        assert 123 - 4 < len(event.reason.encode()) <= 123


def test_close_reason_cut_before_a_split_character():
    reason = "x" * 122 + "é"  # é would need bytes 123 and 124
    assert read(remask(close_frame(1000, reason), MASK)) == [Close(1000, "x" * 122)]


# -- speed (measured, not asserted) -------------------------------------------------------------


def test_benchmark_small_frames(capsys):
    data = b"".join(text('["message %d"]' % i) for i in range(1000))
    best = float("inf")
    for _ in range(50):
        r = reader()
        start = time.perf_counter()
        events = r.feed(data)
        best = min(best, time.perf_counter() - start)
    assert len(events) == 1000
    with capsys.disabled():
        print("\n1000 small masked text frames in one chunk: %.0f frames/s" % (1000 / best))

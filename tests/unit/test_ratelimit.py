"""The token bucket, driven with an explicit clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientsignal.sockjs_protocol.ratelimit import TokenBucket
from clientsignal.sockjs_protocol.websocket_framing import FrameReader


def test_starts_full_and_refuses_past_its_burst():
    bucket = TokenBucket(rate=10, burst=3)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]


def test_refills_at_its_rate_up_to_its_burst():
    bucket = TokenBucket(rate=10, burst=3)
    assert bucket.take(0.0, cost=3)
    assert not bucket.take(0.05)  # half a token
    assert bucket.take(0.1)
    assert bucket.take(100.0, cost=3)  # a long rest saves up no more than the burst
    assert not bucket.take(100.0)


def test_a_refused_take_takes_nothing():
    bucket = TokenBucket(rate=1, burst=5)
    assert not bucket.take(0.0, cost=6)
    assert bucket.take(0.0, cost=5)


def test_charge_goes_into_debt_and_says_how_long_to_wait():
    bucket = TokenBucket(rate=100, burst=10)
    assert bucket.charge(0.0, cost=10) == 0.0
    assert bucket.charge(0.0, cost=50) == pytest.approx(0.5)
    assert not bucket.take(0.4)
    assert bucket.charge(0.5, cost=0) == pytest.approx(0.0, abs=1e-9)
    assert bucket.take(0.52)


def test_a_clock_going_back_gives_nothing():
    bucket = TokenBucket(rate=1, burst=1)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)
    assert not bucket.take(10.5)  # half a token since 10.0, none for going back and forth
    assert bucket.take(11.0)


@pytest.mark.parametrize("rate, burst", [(0, 1), (1, 0), (-1, 1)])
def test_rate_and_burst_must_be_positive(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


@given(
    st.floats(0.1, 1000),
    st.floats(1, 1000),
    st.lists(st.tuples(st.floats(0, 10), st.floats(0, 50)), max_size=50),
)
def test_never_more_than_burst_plus_rate_times_time(rate, burst, steps):
    bucket = TokenBucket(rate, burst)
    now = taken = 0.0
    for wait, cost in steps:
        now += wait
        if bucket.take(now, cost):
            taken += cost
        assert taken <= burst + rate * now + 1e-6


def test_charging_the_frames_a_reader_read():
    # How the I/O layer uses it: after each feed, charge the frames read since the last.
    reader = FrameReader(max_message_size=1024)
    bucket = TokenBucket(rate=100, burst=100)
    reader.feed(b"\x81\x80\x00\x00\x00\x00" * 300)  # 300 empty masked text frames
    assert reader.frames_read == 300
    assert bucket.charge(0.0, reader.frames_read) == pytest.approx(2.0)

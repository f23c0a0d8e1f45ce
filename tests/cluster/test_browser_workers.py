"""The ping/pong example on four workers with Redis, in Chromium, every transport 20 times."""

from __future__ import annotations

import pytest

from tests.examples.conftest import run_example
from tests.support.transports import BROWSER_TRANSPORTS

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture(scope="module")
def simple_cluster(redis_for_cluster):
    yield from run_example("simple", workers=4, CLIENTSIGNAL_BACKEND=redis_for_cluster.url)


@pytest.mark.parametrize("transport", BROWSER_TRANSPORTS)
def test_ping_pong_20_times(page, simple_cluster, transport):
    page.goto(simple_cluster.url + "/?transport=" + transport)
    page.wait_for_selector("body[data-state=open]", timeout=15000)
    assert page.evaluate("sock.transport") == transport
    for count in range(1, 21):
        page.click("#ping")
        page.wait_for_function(
            "n => document.querySelectorAll('#pongs li').length >= n", arg=count, timeout=10000
        )
    assert (
        page.eval_on_selector_all("#pongs li", "lis => lis.map(li => li.textContent)")
        == ["Pong Ponged"] * 20
    )

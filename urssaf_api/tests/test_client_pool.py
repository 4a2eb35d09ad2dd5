"""One client shared by a pool of threads: a session per thread, one
back-off for the whole pool, against real loopback servers."""

import threading
import time
from datetime import date, datetime, timezone

import pytest

from .. import server as server_module
from ..client import SharedBackoff, TokenCache, UrssafClient
from ..models import Identifier
from ..sandbox import Sandbox
from ..seed import seed_account
from ..storage import MemoryStorage
from ..testing import GET_ACCOUNT, TOKEN, Clock, FaultServer, RateLimit

TODAY = datetime(2026, 11, 15, 10, 0, tzinfo=timezone.utc)
TRADER = Identifier(nir=seed_account("monthly_trader")["nir"])


def _client(base_url, **options):
    client = UrssafClient(base_url, "demo-tiers", "demo-secret", token_cache=TokenCache(), **options)
    client.register_mandate(TRADER, date(2026, 1, 5))
    return client


@pytest.fixture(name="server")
def server_fixture():
    with FaultServer(Sandbox(MemoryStorage(), clock=lambda: TODAY).handle) as server:
        yield server


def test_a_429_holds_back_every_client_of_the_pool(server):
    clock = Clock(0.0)
    backoff = SharedBackoff(clock=clock)
    first = _client(server.base_url, shared_backoff=backoff)
    other = _client(server.base_url, shared_backoff=backoff)
    other_sleeps, first_sleeps = [], []

    def other_sleep(seconds):
        other_sleeps.append(seconds)
        clock.now += seconds

    def first_sleep(seconds):
        # While the first call waits out its 429, another thread of the pool
        # sends its own call: it waits for the same pause (and its sleep
        # moves the clock past it for both).
        first_sleeps.append(seconds)
        other.get_account(TRADER)

    first.sleep = first_sleep
    other.sleep = other_sleep
    server.inject(RateLimit(retry_after=7), GET_ACCOUNT, calls=1)
    first.get_account(TRADER)
    assert backoff.pauses == 1
    assert first_sleeps == [7]
    assert other_sleeps == [7], "the other client waited for the pause too"
    statuses = [request.status for request in server.requests_for(GET_ACCOUNT)]
    assert statuses == [429, 200, 200]
    first.close()
    other.close()


def test_without_a_shared_backoff_a_429_waits_alone(server):
    client = _client(server.base_url)
    sleeps = []
    client.sleep = sleeps.append
    server.inject(RateLimit(retry_after=3), GET_ACCOUNT, calls=1)
    client.get_account(TRADER)
    assert sleeps == [3]
    client.close()


def test_threads_of_a_pool_each_get_a_session_and_one_token():
    sandbox = Sandbox(MemoryStorage(), clock=lambda: TODAY)
    http, thread = server_module.serve(sandbox, latency=0.2)
    try:
        host, port = http.server_address[:2]
        client = _client(f"http://{host}:{port}")
        errors = []
        barrier = threading.Barrier(8, timeout=30)

        def call():
            try:
                barrier.wait()
                client.get_account(TRADER)
                client.get_account(TRADER)
            except Exception as error:  # noqa: BLE001 (reported by the test)
                errors.append(error)

        started = time.monotonic()
        threads = [threading.Thread(target=call) for _ in range(8)]
        for each in threads:
            each.start()
        for each in threads:
            each.join(timeout=60)
        elapsed = time.monotonic() - started
        assert not errors
        # 16 calls of 0.2 s each: one after the other 3.2 s; 8 at once, two rounds.
        assert elapsed < 1.6, elapsed
        assert len(client._sessions) == 9  # the registering thread's, and one per pool thread
        client.close()
        assert client._sessions == []
    finally:
        http.shutdown()
        http.server_close()
        thread.join(timeout=10)


def test_token_fetched_once_by_a_pool(server):
    client = _client(server.base_url)
    barrier = threading.Barrier(6, timeout=30)

    def call():
        barrier.wait()
        client.get_account(TRADER)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for each in threads:
        each.start()
    for each in threads:
        each.join(timeout=60)
    assert server.count(TOKEN) == 1
    assert server.count(GET_ACCOUNT) == 6
    client.close()

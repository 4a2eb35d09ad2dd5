# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The bounded pool that keeps several calls to Urssaf in flight."""

import threading
import time
from unittest import TestCase

from ..call_pool import UrssafCallPool
from ..exceptions import UrssafApiError, UrssafRateLimitedError, UrssafTransportError


class Probe:
    """Calls that take a little time and note how many run at once."""

    def __init__(self, seconds=0.02):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.threads = set()

    def call(self, value, error=None):
        def run():
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
                self.threads.add(threading.get_ident())
            try:
                time.sleep(self.seconds)
                if error is not None:
                    raise error
                return value
            finally:
                with self.lock:
                    self.now -= 1

        return run


def _unreachable():
    return UrssafTransportError("connection", operation="estimate")


class TestCallPool(TestCase):
    def test_at_most_parallel_calls_in_flight_and_every_answer_once(self):
        probe = Probe()
        pool = UrssafCallPool(4)
        answers = {index: outcome.value for index, outcome in pool.run(probe.call(i) for i in range(30))}
        self.assertEqual(answers, {i: i for i in range(30)})
        self.assertEqual(probe.most, 4)
        self.assertNotIn(threading.get_ident(), probe.threads, "the calls ran in the pool's threads")
        self.assertEqual(pool.not_attempted, [])

    def test_one_at_a_time_in_this_thread_with_a_pool_of_one(self):
        probe = Probe(seconds=0)
        answers = [outcome.value for _index, outcome in UrssafCallPool(1).run(probe.call(i) for i in range(5))]
        self.assertEqual(answers, list(range(5)))
        self.assertEqual(probe.threads, {threading.get_ident()})

    def test_errors_are_handed_back_not_raised(self):
        refused = UrssafApiError(400, "ER_API_PARAMETRE_INVALIDE", "Invalide", operation="declare")
        probe = Probe()
        outcomes = dict(UrssafCallPool(3).run([probe.call(1), probe.call(None, refused), probe.call(3)]))
        self.assertIs(outcomes[1].error, refused)
        self.assertEqual((outcomes[0].value, outcomes[2].value), (1, 3))

    def test_one_call_at_a_time_until_urssaf_answers_once(self):
        probe = Probe()
        calls = [probe.call(None, _unreachable()), probe.call(None, _unreachable())]
        calls += [probe.call(i) for i in range(20)]
        list(UrssafCallPool(8).run(calls))
        # The two failures went one after the other, then the first answer
        # opened the pool.
        self.assertEqual(probe.most, 8)
        probe = Probe()
        list(UrssafCallPool(8, stop_after=5).run([probe.call(None, _unreachable()) for _i in range(4)]))
        self.assertEqual(probe.most, 1)

    def test_stops_after_unreachable_in_a_row_and_says_what_was_not_attempted(self):
        probe = Probe()
        calls = [probe.call(None, _unreachable()) for _i in range(10)]
        pool = UrssafCallPool(8, stop_after=3)
        attempted = [index for index, _outcome in pool.run(iter(calls))]
        self.assertEqual(attempted, [0, 1, 2])
        # The other seven were never taken from the iterable: not prepared.
        self.assertEqual(pool.taken, 3)
        self.assertEqual(pool.not_attempted, [])

    def test_an_answer_in_between_resets_the_count(self):
        probe = Probe(seconds=0)
        calls = [probe.call(None, _unreachable()), probe.call(None, _unreachable()), probe.call("ok")]
        calls += [probe.call(None, _unreachable()), probe.call(None, _unreachable()), probe.call("ok")]
        pool = UrssafCallPool(1, stop_after=3)
        self.assertEqual(len(list(pool.run(calls))), 6)
        self.assertEqual(pool.not_attempted, [])

    def test_rate_limited_calls_are_started_again_a_few_times(self):
        """A 429 left after the client's retries means Urssaf did nothing:
        the pool starts the call again, at most ``rate_limited_retries``
        times, and hands back the last refusal beyond that."""
        for parallel in (1, 4):
            with self.subTest(parallel=parallel):
                tries = {}

                def refused_times(index, times, tries):
                    def run():
                        tries[index] = tries.get(index, 0) + 1
                        if tries[index] <= times:
                            raise UrssafRateLimitedError(429, "ER_API_QUOTA", "Trop de requêtes", operation="declare")
                        return index

                    return run

                pool = UrssafCallPool(parallel, rate_limited_retries=2)
                calls = [refused_times(0, 0, tries), refused_times(1, 2, tries), refused_times(2, 3, tries)]
                outcomes = dict(pool.run(calls))
                self.assertEqual(outcomes[0].value, 0)
                self.assertEqual(outcomes[1].value, 1, "refused twice, then answered")
                self.assertIsInstance(outcomes[2].error, UrssafRateLimitedError, "refused more than twice")
                self.assertEqual(tries, {0: 1, 1: 3, 2: 3})
                self.assertEqual(pool.not_attempted, [])

# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Several calls to Urssaf in flight at once, and nothing else in the threads.

A run over many declarations spends its time waiting for Urssaf's answers
(a network round trip each). :class:`UrssafCallPool` keeps up to
``parallel`` calls in flight in a bounded pool of threads; the threads only
run the HTTP calls (plain functions of an API client and plain values): the
ORM and the cursor stay in the thread that prepared the requests, which
records each answer as it arrives.

The calls are taken from an iterable only when a thread is free for them:
the caller may prepare each request as it is taken (lock the record, check
it, build the request), so that the first calls are on their way while the
next ones are being prepared.

Until one call has reached Urssaf, a single call is in flight: a run that
finds Urssaf unreachable learns it from the first calls one after the other,
and stops after ``stop_after`` of them in a row, as a run did one call at a
time; the pool then takes no more calls (``taken`` says how many it took).

A call Urssaf still refuses with a 429 after the client's own retries was
not processed (that is what a 429 says), so the pool starts it again, a few
times at most, after the back-off every thread of the client shares: under a
rate limit, calls of a pool land on the limit more often than calls one
after the other, and a run must not leave a declaration behind for that.
"""

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from .exceptions import UrssafRateLimitedError, UrssafTransportError


class PoolOutcome:
    """What one call gave: its value, or the exception it raised."""

    __slots__ = ("error", "value")

    def __init__(self, value=None, error=None):
        self.value = value
        self.error = error


class UrssafCallPool:
    """Run zero-argument callables with at most ``parallel`` in flight.

    ``stop_after``: stop starting calls after this many in a row found
    Urssaf unreachable (a :class:`UrssafTransportError`: nothing was sent);
    None never stops.
    """

    def __init__(self, parallel, stop_after=None, name="urssaf-call", rate_limited_retries=3):
        self.parallel = max(1, int(parallel or 1))
        self.stop_after = stop_after
        self.name = name
        self.rate_limited_retries = rate_limited_retries
        self.not_attempted = []
        self.taken = 0
        self._unreachable_in_a_row = 0
        self._reached = False

    @property
    def stopped(self):
        return self.stop_after is not None and self._unreachable_in_a_row >= self.stop_after

    def _note(self, outcome):
        if isinstance(outcome.error, UrssafTransportError):
            self._unreachable_in_a_row += 1
        else:
            self._unreachable_in_a_row = 0
            self._reached = True

    def _width(self):
        return self.parallel if self._reached else 1

    def run(self, calls):
        """Yield ``(index, PoolOutcome)`` for each call of the iterable
        ``calls``, in the order the answers arrive; a call is taken from
        ``calls`` when a thread is free to start it.

        Once the iteration ends, :attr:`taken` is the number of calls taken
        from ``calls``: when the pool stopped, the calls after them were not
        attempted, nor those whose indexes are in :attr:`not_attempted`
        (taken, refused by a rate limit, not started again)."""
        self.not_attempted = []
        self.taken = 0
        pending = enumerate(self._take(calls))
        if self.parallel == 1:
            yield from self._run_inline(pending)
            return
        in_flight = {}
        again = []  # (index, call) refused by a rate limit, to start again
        restarts = {}
        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix=self.name) as executor:
            exhausted = False
            while True:
                while (again or not exhausted) and not self.stopped and len(in_flight) < self._width():
                    item = again.pop(0) if again else next(pending, None)
                    if item is None:
                        exhausted = True
                        break
                    index, call = item
                    in_flight[executor.submit(_outcome_of, call)] = index, call
                if not in_flight:
                    break
                done, _running = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    index, call = in_flight.pop(future)
                    outcome = future.result()
                    # Noted by this thread only: no lock needed.
                    self._note(outcome)
                    if self._start_again(outcome, index, restarts):
                        again.append((index, call))
                        continue
                    yield index, outcome
        self.not_attempted = [index for index, _call in again]

    def _take(self, calls):
        for call in calls:
            self.taken += 1
            yield call

    def _start_again(self, outcome, index, restarts):
        """Whether the call ``index`` is started again: refused by a rate
        limit, fewer than ``rate_limited_retries`` times so far."""
        if not isinstance(outcome.error, UrssafRateLimitedError):
            return False
        restarts[index] = restarts.get(index, 0) + 1
        return restarts[index] <= self.rate_limited_retries

    def _run_inline(self, pending):
        while not self.stopped:
            item = next(pending, None)
            if item is None:
                return
            index, call = item
            restarts = {}
            outcome = _outcome_of(call)
            self._note(outcome)
            while not self.stopped and self._start_again(outcome, index, restarts):
                outcome = _outcome_of(call)
                self._note(outcome)
            yield index, outcome


def _outcome_of(call):
    """Run ``call`` (in a pool thread): its value or its exception, never
    raised here, so that the preparing thread decides what it means."""
    try:
        return PoolOutcome(value=call())
    except Exception as error:  # noqa: BLE001 (handed back to the caller, who raises it)
        return PoolOutcome(error=error)

"""Racing calls for concurrency tests: each on its own thread and database connection, released at once."""

import threading
from collections.abc import Callable

from django.db import connection


def together(calls: list[Callable[[], object]], *, join_timeout: float = 120) -> list[object]:
    """Run each call on its own thread and connection, all released at once; return what each
    returned, or the exception it raised, in call order.

    A server error may surface on another thread's call than the one that hit it: Django's test client
    hears every thread's got_request_exception. Any of them still fails the test.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # an IntegrityError or a 500 is an outcome the test must see
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing call never finished (deadlock?)"
    return outcomes

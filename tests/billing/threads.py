"""Start callables at the same moment on real threads (each with its own database connection)."""

import threading

from django.db import connection


def run_together(*works) -> list:
    """Run each work() on its own thread, released together by a barrier; return outcomes or exceptions."""
    barrier = threading.Barrier(len(works))
    outcomes: list = [None] * len(works)

    def runner(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = works[i]()
        except Exception as error:
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes

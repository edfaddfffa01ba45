"""Read a kernel from this thread while another thread runs it
(tests/test_host_threads.py, tests/riscv/test_rv_slices.py)."""

from __future__ import annotations

import threading


def poll_now_during_run(k) -> tuple[object, list[int]]:
    """Run ``k`` in a second thread and read ``k.now`` in a loop until the
    run ends. Each read waits for a boundary between slices of the run,
    never for its end. Returns (the run's result, the values read)."""
    started, seen, result = threading.Event(), [], []

    def runner():
        started.set()
        result.append(k.run())
    t = threading.Thread(target=runner)
    t.start()
    started.wait(30)
    while t.is_alive():
        seen.append(k.now)
    t.join()
    return result[0], seen

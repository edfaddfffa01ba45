"""Deadlocks: the wait-for graph, its cycles, and the Banker's algorithm.

The C core builds the wait-for graph on demand (csrc/obj/pk_waitfor.c): a
thread waiting to lock a mutex points at its owner; a thread waiting to
read a channel points at every live thread of every process holding the
other end; a thread waiting for a process's TERMINATED points at that
process's threads. A cycle in that graph is a deadlock (Silberschatz,
Galvin and Gagne, *Operating System Concepts*, 10th ed., §8.3.2 and §8.7:
with single-instance resources a cycle in the wait-for graph means a
deadlock). ``Kernel.deadlocks()`` lists the cycles at any time; a run that
stops with reason "deadlock" names one in ``RunResult.deadlock``.

:class:`Banker` is Dijkstra's Banker's algorithm for deadlock avoidance
(Silberschatz §8.6.3), a helper for resource-allocation exercises: it is
pure Python and does not drive the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ._ffi import ffi, lib
from .errors import check

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["WaitEdge", "Deadlock", "Banker"]

MAX_CYCLES = 64
_KINDS = {lib.PK_WF_MUTEX: "mutex", lib.PK_WF_CHANNEL: "channel", lib.PK_WF_PROCESS: "process"}


@dataclass(frozen=True)
class WaitEdge:
    """Thread ``waiter`` waits for something only thread ``holder`` can
    give. ``kind``: "mutex" (``what`` = its address in process ``pid``'s
    futex words), "channel" (a read; ``what`` = the koid of the endpoint
    read) or "process" (its end; ``what`` = its pid)."""

    waiter: int
    holder: int
    kind: str
    what: int
    pid: int | None = None

    def __str__(self) -> str:
        if self.kind == "mutex":
            obj = f"mutex {self.what:#x} of pid {self.pid}"
        elif self.kind == "channel":
            obj = f"a message on channel koid {self.what}"
        else:
            obj = f"the end of pid {self.what}"
        return f"tid {self.waiter} waits for {obj}, held by tid {self.holder}"


@dataclass(frozen=True)
class Deadlock:
    """A cycle of the wait-for graph: ``edges[i].holder`` is
    ``edges[i + 1].waiter``, and the last edge's holder is the first's
    waiter. ``threads`` are the tids in the cycle, smallest first."""

    edges: tuple

    @property
    def threads(self) -> tuple:
        """The threads in the cycle, in cycle order from the smallest tid."""
        return tuple(e.waiter for e in self.edges)

    def __len__(self) -> int:
        return len(self.edges)

    def __str__(self) -> str:
        return "; ".join(map(str, self.edges))


def _edges(k: "Kernel") -> list[WaitEdge]:
    count = ffi.new("uint64_t *")
    check(lib.pk_waitfor_edges(k._kp, ffi.NULL, 0, count), "wait-for graph")
    n = count[0]
    buf = ffi.new("pk_wf_edge[]", max(n, 1))
    check(lib.pk_waitfor_edges(k._kp, buf, n, count), "wait-for graph")
    return [WaitEdge(e.waiter, e.holder, _KINDS[e.kind], e.what,
                     e.pid if e.kind == lib.PK_WF_MUTEX else None) for e in buf[0:n]]


def cycles(k: "Kernel", limit: int = MAX_CYCLES) -> list[Deadlock]:
    """The elementary cycles of the wait-for graph (at most ``limit``),
    each from its smallest tid, in order of that tid then length."""
    out_edges: dict[int, list[WaitEdge]] = {}
    for e in _edges(k):
        out_edges.setdefault(e.waiter, []).append(e)
    found: list[Deadlock] = []
    for start in sorted(out_edges):
        path: list[WaitEdge] = []
        on_path = {start}

        def walk(node: int) -> bool:
            for e in out_edges.get(node, ()):
                if e.holder == start:
                    found.append(Deadlock(tuple(path + [e])))
                    if len(found) >= limit:
                        return True
                elif e.holder > start and e.holder not in on_path:
                    path.append(e)
                    on_path.add(e.holder)
                    if walk(e.holder):
                        return True
                    path.pop()
                    on_path.discard(e.holder)
            return False

        if walk(start):
            break
    found.sort(key=lambda d: (d.threads[0], len(d)))
    return found


class Banker:
    """Dijkstra's Banker's algorithm (Silberschatz §8.6.3).

    ``available[j]``: free instances of resource type j; ``maximum[i][j]``:
    the most process i may ever claim; ``allocation[i][j]``: what it holds.
    ``need = maximum - allocation``. The state is safe if some order lets
    every process obtain its whole need, run to completion and release
    everything (:meth:`safe_sequence`); :meth:`request` grants a request
    only if the state that results is safe."""

    def __init__(self, available: Sequence[int], maximum: Sequence[Sequence[int]],
                 allocation: Sequence[Sequence[int]]):
        self.available = [self._count(v) for v in available]
        m = len(self.available)
        self.maximum = [self._row(r, m, "maximum") for r in maximum]
        self.allocation = [self._row(r, m, "allocation") for r in allocation]
        if len(self.maximum) != len(self.allocation):
            raise ValueError("maximum and allocation need one row per process")
        for mx, al in zip(self.maximum, self.allocation):
            if any(a > x for a, x in zip(al, mx)):
                raise ValueError("a process holds more than its maximum claim")

    @staticmethod
    def _count(v) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"resource counts are ints >= 0, not {v!r}")
        return v

    def _row(self, row, m, what) -> list[int]:
        row = [self._count(v) for v in row]
        if len(row) != m:
            raise ValueError(f"each {what} row needs {m} counts (one per resource type)")
        return row

    @property
    def need(self) -> list[list[int]]:
        """maximum - allocation, per process."""
        return [[x - a for x, a in zip(mx, al)] for mx, al in zip(self.maximum, self.allocation)]

    def safe_sequence(self) -> list[int] | None:
        """An order in which every process can finish (the safety
        algorithm, taking at each step the lowest-numbered process whose
        need fits), or None if the state is unsafe."""
        work, done, order, need = list(self.available), set(), [], self.need
        while len(order) < len(need):
            for i, n in enumerate(need):
                if i not in done and all(x <= w for x, w in zip(n, work)):
                    work = [w + a for w, a in zip(work, self.allocation[i])]
                    done.add(i)
                    order.append(i)
                    break
            else:
                return None
        return order

    def is_safe(self) -> bool:
        """Whether the state is safe."""
        return self.safe_sequence() is not None

    def request(self, i: int, req: Sequence[int]) -> bool:
        """Process i asks for ``req``: granted (True, the state changes) if
        it is within its need, available, and the result is safe; else
        False and nothing changes. Asking beyond its need is ValueError."""
        req = self._row(req, len(self.available), "request")
        if any(r > n for r, n in zip(req, self.need[i])):
            raise ValueError(f"process {i} asks for more than its maximum claim")
        if any(r > a for r, a in zip(req, self.available)):
            return False
        self.available = [a - r for a, r in zip(self.available, req)]
        self.allocation[i] = [a + r for a, r in zip(self.allocation[i], req)]
        if self.is_safe():
            return True
        self.available = [a + r for a, r in zip(self.available, req)]
        self.allocation[i] = [a - r for a, r in zip(self.allocation[i], req)]
        return False

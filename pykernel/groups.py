"""Process groups: lazy sequences of consecutive processes
(:class:`ProcessGroup`)."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Iterator, Sequence

from ._lock import locked_views
from .process import Process

if TYPE_CHECKING:
    from .kernel import Kernel
    from .tables import Table

__all__ = ["ProcessGroup"]


@locked_views()
class ProcessGroup(Sequence):
    """A lazy sequence of consecutive processes (what :meth:`Kernel.spawn_many`
    returns, and :attr:`Kernel.processes`). Items are :class:`Process`
    views made on demand; :meth:`table` reads all their statistics in one
    call into the core."""

    __slots__ = ("_k", "first", "count")

    def __init__(self, kernel: "Kernel", first: int, count: int):
        self._k = kernel
        self.first = first
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(self.count)
            if step != 1:
                return [self[j] for j in range(start, stop, step)]
            return ProcessGroup(self._k, self.first + start, max(0, stop - start))
        i = operator.index(i)
        if i < 0:
            i += self.count
        if not 0 <= i < self.count:
            raise IndexError("process index out of range")
        return Process(self._k, self.first + i)

    def __iter__(self) -> Iterator[Process]:
        k = self._k
        return (Process(k, pid) for pid in range(self.first, self.first + self.count))

    def table(self) -> "Table":
        """Statistics of every process as a :class:`~pykernel.tables.Table`
        (a dict of equal-length lists) with columns pid, name, state,
        exit_code, arrival_ns, first_run_ns, finish_ns, cpu_time_ns,
        wait_ns, blocked_ns, response_ns, turnaround_ns,
        voluntary_switches, involuntary_switches, migrations, and in a
        kernel with memory page_faults and major_faults (None where not
        yet happened), read in one call into the core."""
        from .tables import process_table
        return process_table(self._k, self.first, self.count)

    def to_pandas(self):
        """:meth:`table` as a pandas DataFrame (needs pandas)."""
        return self.table().to_pandas()

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def mean(self, field: str) -> float:
        """Mean of one :meth:`table` column over the processes where it is
        defined (e.g. ``group.mean("wait_ns")``; a time may be named
        without its unit, ``"wait"``)."""
        cols = self.table()
        if field not in cols and f"{field}_ns" in cols:
            field = f"{field}_ns"
        if field not in cols:
            raise ValueError(f"no column {field!r}; the columns are {', '.join(cols)}")
        values = [v for v in cols[field] if v is not None]
        if not values:
            raise ValueError(f"no process has a value for {field!r} yet")
        return sum(values) / len(values)

    def __repr__(self) -> str:
        return f"<ProcessGroup pids {self.first}..{self.first + self.count - 1}>"

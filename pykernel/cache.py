"""A model of per-CPU caches and cache affinity (OSTEP ch. 10,
"Multiprocessor Scheduling", and its homework simulator
cpu-sched-multi/multi.py). See docs/scheduling.md, "Cache affinity"."""

from __future__ import annotations

from dataclasses import dataclass

from ._ffi import MAX_TIME

__all__ = ["CacheModel"]


@dataclass(frozen=True)
class CacheModel:
    """Per-CPU caches for ``pk.Kernel(cache=...)``.

    ``size``: what each CPU's cache holds, in the unit of the threads'
    working sets (``spawn(..., working_set=...)``). ``warmup``: ns a thread
    must run on a CPU before its working set is in that CPU's cache.
    ``speedup``: how many times faster (an int, 1..1024) a thread's compute
    operations progress on a CPU whose cache holds its working set.

    A CPU's cache holds the working sets of the threads that became warm
    there, latest first; when another becomes warm and they no longer fit,
    the one that became warm longest ago is evicted and must warm up
    again. A thread's warming progress on a CPU is kept while it runs
    elsewhere; moving to another CPU means warming up there. A working set
    larger than ``size`` never becomes warm; threads without a working set
    are not modelled. The accounting is done in the C core (pk_cache.c).
    Kernels with a cache model cannot be snapshotted (SnapshotError).
    """

    size: int
    warmup: int
    speedup: int = 2

    def __post_init__(self):
        for name, lo, hi in (("size", 0, MAX_TIME), ("warmup", 0, MAX_TIME), ("speedup", 1, 1024)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"CacheModel {name} must be an int, not {type(v).__name__}")
            if not lo <= v <= hi:
                raise ValueError(f"CacheModel {name} must be between {lo} and {hi}, got {v}")

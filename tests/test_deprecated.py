"""Old spellings still work and say what replaces them (pykernel/_deprecated.py).

The convention: a figure that takes no argument is a property
(``k.object_stats``, ``k.latency``, ``k.limit_usage``, ``k.jobs``,
``k.fault_rate``, as
``k.stats`` and ``k.memory_stats``); a query with arguments is a method
(``k.cpu_stats(cpu)``, ``k.tlb_stats(cpu)``). ``pk.Job`` became
``pk.PeriodicJob`` (``pk.JobObject`` is the other kind of job), and
``Kernel(max_threads=)`` gave way to ``Limits(max_threads=)``."""

import pytest

import pykernel as pk


def periodic_kernel():
    k = pk.Kernel(scheduler=pk.sched.EDF(), costs=pk.Costs.zero())
    k.spawn(pk.Program.periodic("t", period=10, wcet=3, jobs=2))
    k.run()
    return k


def test_pk_job_is_periodic_job_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"pykernel\.Job is deprecated: use pykernel\.PeriodicJob"):
        cls = pk.Job
    assert cls is pk.PeriodicJob


def test_pk_job_is_not_exported_by_star_import():
    assert "Job" not in pk.__all__ and "PeriodicJob" in pk.__all__


def test_unknown_module_attribute_is_still_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Jobs'"):
        pk.Jobs


def test_figures_without_arguments_are_properties():
    for name in ("stats", "memory_stats", "object_stats", "latency", "limit_usage", "jobs",
                 "fault_rate"):
        assert isinstance(getattr(pk.Kernel, name), property), name


def test_queries_with_arguments_are_methods():
    k = pk.Kernel(cpus=2)
    assert k.cpu_stats(1).cpu == 1
    assert callable(pk.Kernel.tlb_stats) and not isinstance(pk.Kernel.tlb_stats, property)


def test_calling_object_stats_warns_and_gives_the_same_figures():
    k = pk.Kernel()
    k.spawn(pk.Program.script("p", [pk.op.sleep(10)])).channel_create()
    with pytest.warns(DeprecationWarning, match=r"Kernel\.object_stats\(\) is deprecated"):
        old = k.object_stats()
    assert old == k.object_stats
    assert (old.objects, old.handles) == (2, 2)   # two endpoints, one handle each


def test_calling_latency_warns_and_gives_the_same_histogram():
    k = periodic_kernel()
    with pytest.warns(DeprecationWarning, match=r"Kernel\.latency\(\) is deprecated"):
        old = k.latency()
    assert old == k.latency and old.count == k.latency.count


def test_calling_limit_usage_warns_and_gives_the_same_dict():
    k = pk.Kernel(limits=pk.Limits(max_threads=5))
    with pytest.warns(DeprecationWarning, match=r"Kernel\.limit_usage\(\) is deprecated"):
        old = k.limit_usage()
    assert old == k.limit_usage
    assert old["max_threads"] == pk.LimitUse(used=0, limit=5, refused=0)


def test_calling_jobs_warns_and_gives_the_same_log():
    k = periodic_kernel()
    with pytest.warns(DeprecationWarning, match=r"Kernel\.jobs\(\) is deprecated"):
        old = k.jobs()
    # two jobs of 3 ns released at 0 and 10 (Program.periodic arguments)
    assert [(j.index, j.release, j.finish) for j in old] == [(0, 0, 3), (1, 10, 13)]
    assert old == k.jobs


def test_calling_fault_rate_warns_and_gives_the_same_series():
    k = pk.Kernel(memory=pk.Memory(frames=64), costs=pk.Costs.zero())
    k.spawn(pk.Program.script("p", [pk.op.map(0x10000, 2 * 4096), pk.op.touch(0x10000),
                                    pk.op.touch(0x11000)]))
    k.run()
    with pytest.warns(DeprecationWarning, match=r"Kernel\.fault_rate\(\) is deprecated"):
        old = k.fault_rate()
    assert old == k.fault_rate
    assert sum(s.faults for s in old) == 2   # one demand-zero fault per page touched


def test_kernel_max_threads_warns_and_points_at_limits():
    with pytest.warns(DeprecationWarning, match=r"use Kernel\(limits=pk\.Limits\(max_threads=\.\.\.\)\)"):
        k = pk.Kernel(max_threads=4)
    assert k.limits == pk.Limits(max_threads=4)

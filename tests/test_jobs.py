"""Jobs: trees of processes killed together, with limits (Zircon's job
objects: docs/reference/kernel_objects/job.md — "a job is a group of
processes and possibly other (child) jobs"; killing a job kills its
processes and child jobs; limits here count over a job's subtree)."""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op
IDLE = pk.Program.script("idle", [op.sleep(10**6)])
SHORT = pk.Program.script("short", [op.compute(10)])


def test_processes_spawned_in_a_job_belong_to_it():
    k = make_kernel()
    j = k.job_create()
    a, b = k.spawn(IDLE, job=j), k.spawn(IDLE, job=j)
    k.spawn(IDLE)
    assert j.processes == [a, b] and j.process_count == 2


def test_killing_a_job_kills_its_processes_and_its_childrens():
    k = make_kernel()
    root = k.job_create()
    child = k.job_create(parent=root)
    a, b, c = k.spawn(IDLE, job=root), k.spawn(IDLE, job=child), k.spawn(IDLE)
    k.run(until=10)
    root.kill()
    assert [a.state, b.state, c.state] == ["killed", "killed", "alive"]
    assert root.process_count == 0 and child.killed and child.parent == root


def test_a_killed_job_takes_no_new_process():
    k = make_kernel()
    j = k.job_create()
    j.kill()
    with pytest.raises(pk.BadState):
        k.spawn(IDLE, job=j)


def test_the_process_limit_counts_live_processes_of_the_subtree():
    k = make_kernel()
    root = k.job_create(max_processes=2)
    child = k.job_create(parent=root)
    k.spawn(SHORT, job=root)
    k.spawn(IDLE, job=child)
    with pytest.raises(pk.NoMemory):
        k.spawn(IDLE, job=child)
    k.run(until=20)                          # SHORT has exited: room again
    k.spawn(IDLE, job=child)
    assert root.process_count == 2


def test_the_handle_limit_refuses_the_handle_too_many():
    k = make_kernel()
    j = k.job_create(max_handles=3)
    p = k.spawn(IDLE, job=j)
    a, b = p.channel_create()
    e = p.event_create()
    with pytest.raises(pk.NoMemory):
        e.duplicate()
    with pytest.raises(pk.NoMemory):
        p.channel_create()
    assert j.handle_count == 3 and len(p.handles) == 3
    e.close()
    e2 = p.event_create()
    assert j.handle_count == 3 and e2.valid


def test_handles_given_at_spawn_count_against_the_job():
    k = make_kernel()
    boot = k.spawn(IDLE)
    es = [boot.event_create() for _ in range(3)]
    j = k.job_create(max_handles=2)
    with pytest.raises(pk.NoMemory) as e:
        k.spawn(IDLE, job=j, handles=es)
    assert str(e.value) == f"spawn into job: handle limit of job {j.id} reached (max_handles=2)"
    assert len(boot.handles) == 3 and j.processes == []   # refused before anything happened


def test_handles_given_at_spawn_count_against_the_jobs_ancestors():
    # a job's limits count over its whole subtree (docs/objects.md, "Jobs")
    k = make_kernel()
    boot = k.spawn(IDLE)
    es = [boot.event_create() for _ in range(3)]
    root = k.job_create(max_handles=2)
    child = k.job_create(parent=root)
    with pytest.raises(pk.NoMemory) as e:
        k.spawn(IDLE, job=child, handles=es)
    assert str(e.value) == f"spawn into job: handle limit of job {root.id} reached (max_handles=2)"
    assert len(boot.handles) == 3 and child.processes == []


def test_a_dead_process_gives_its_handles_back_to_the_job():
    k = make_kernel()
    j = k.job_create(max_handles=4)
    p = k.spawn(SHORT, job=j)
    p.event_create()
    p.event_create()
    k.run()
    assert (j.handle_count, j.process_count) == (0, 0)


def test_bad_job_arguments():
    k = make_kernel()
    with pytest.raises(TypeError):
        k.spawn(IDLE, job="root")
    with pytest.raises(ValueError):
        k.job_create(max_processes=-1)
    with pytest.raises(TypeError):
        k.job_create(parent=make_kernel().job_create())


@pytest.mark.parametrize("field", ["max_processes", "max_handles"])
def test_a_limit_of_2_64_or_more_is_a_value_error(field):
    # found by fuzzing (fuzz/corpus/api/regression-job-limit-2-64): it
    # raised OverflowError from cffi
    k = make_kernel()
    with pytest.raises(ValueError, match=f"{field} must be below 2\\*\\*64 - 1"):
        k.job_create(**{field: 2**64})


# ---- a refusal names the job and the limit ----------------------------------------

def test_the_process_limit_refusal_names_the_job_and_the_limit():
    k = make_kernel()
    k.job_create()
    j = k.job_create(max_processes=1)
    k.spawn(IDLE, job=j)
    with pytest.raises(pk.NoMemory) as info:
        k.spawn(IDLE, job=j)
    assert str(info.value).endswith(f": process limit of job {j.id} reached (max_processes=1)")
    assert j.id == 1


def test_the_handle_limit_refusal_names_the_job_and_the_limit():
    k = make_kernel()
    root = k.job_create(max_handles=1)
    child = k.job_create(parent=root)
    p = k.spawn(IDLE, job=child)
    p.event_create()
    with pytest.raises(pk.NoMemory) as info:
        p.event_create()
    # the limit that refused is the ancestor's (limits count over a subtree)
    assert str(info.value) == f"event_create: handle limit of job {root.id} reached (max_handles=1)"

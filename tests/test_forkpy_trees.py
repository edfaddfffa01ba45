"""Process trees of OSTEP's fork.py homework replayed in pykernel.

fork.py (Arpaci-Dusseau, OSTEP homework cpu-api/fork.py,
remzi-arpacidusseau/ostep-homework) takes action lists such as
``a+b,b+c,c-`` ("a forks b", "b forks c", "c EXITS") and draws the tree
after each action. Its root ``a`` never exits. An exiting process leaves
the tree at once (its parent reaps it). Its orphans go:

- by default, to the root ``a``: every descendant of the exiting process,
  each with its own children cleared (the whole subtree is flattened);
- with ``-R`` (local reparent), to the exiting process's parent, in their
  order, at the end of its list.

Here each letter is a process whose body sleeps until told to exit; "x
forks y" is ``k.spawn(prog, parent=x)``; after "x EXITS" the test, acting
for x's parent, waits for x through a handle, which reaps it. fork.py's
``-R`` is pykernel with every process a child subreaper (prctl(2)
PR_SET_CHILD_SUBREAPER): the nearest living subreaper above an orphan is
then the exiting process's parent. Without ``-R``, pykernel follows Linux
(kernel/exit.c, forget_original_parent): only the exiting process's own
children are adopted by the root; grandchildren stay with their parents.
That equals fork.py's default whenever the exiting process has no
grandchildren, and differs otherwise; both cases are written out below.

The expected trees are written as ``a(b(d) c)``: a process, then its
children in order in parentheses."""

import pytest

import pykernel as pk

S = pk.Signals
TICK = 1_000


def render(p) -> str:
    kids = [c for c in p.children]
    return p.name + ("(" + " ".join(render(c) for c in kids) + ")" if kids else "")


def replay(actions: str, local_reparent: bool = False) -> list[str]:
    """The tree after each action of a fork.py action list."""
    k = pk.Kernel(costs=pk.Costs.zero())
    stop: set[str] = set()

    def body(ctx, name):
        while name not in stop:
            yield ctx.sleep(TICK)

    prog = pk.Program.python("proc", body)
    procs = {"a": k.spawn(prog, name="a", args=("a",))}
    procs["a"].subreaper = local_reparent
    k.run(until=k.now + TICK)
    trees = []
    for act in actions.split(","):
        if "+" in act:
            parent, child = act.split("+")
            procs[child] = k.spawn(prog, name=child, args=(child,), parent=procs[parent])
            procs[child].subreaper = local_reparent
            k.run(until=k.now + TICK)
        else:
            name = act.rstrip("-")
            stop.add(name)
            k.run(until=k.now + 3 * TICK)
            gone = procs.pop(name)
            assert gone.state == "zombie"
            gone.parent.handle_to(gone).wait_one(S.TERMINATED)    # the parent reaps it
            assert gone.state == "exited" and gone.parent is None
        trees.append(render(procs["a"]))
        assert k.audit().problems() == []
    return trees


def test_readme_action_list():
    # README-fork.md: ./fork.py -A a+b,b+c,c-,a+d -c
    assert replay("a+b,b+c,c-,a+d") == ["a(b)", "a(b(c))", "a(b)", "a(b d)"]


def test_readme_seed_4():
    # README-fork.md: ./fork.py -s 4 -c: a forks b, a forks c, b forks d,
    # d EXITS, a forks e
    assert replay("a+b,a+c,b+d,d-,a+e") == ["a(b)", "a(b c)", "a(b(d) c)", "a(b c)", "a(b c e)"]


def test_orphans_go_to_the_root_at_the_end_of_its_children():
    # fork.py default and Linux agree: b's children d, e join a after c
    assert replay("a+b,a+c,b+d,b+e,b-") == [
        "a(b)", "a(b c)", "a(b(d) c)", "a(b(d e) c)", "a(c d e)"]


def test_orphans_go_to_the_root_through_several_exits():
    assert replay("a+b,a+c,b+d,d+e,d+f,d-,c+g,b-") == [
        "a(b)", "a(b c)", "a(b(d) c)", "a(b(d(e)) c)", "a(b(d(e f)) c)",
        "a(b c e f)", "a(b c(g) e f)", "a(c(g) e f)"]


def test_grandchildren_stay_with_their_parent_as_in_linux():
    # fork.py's default flattens b's subtree to a(c d); Linux, and so
    # pykernel, moves only b's child c: a(c(d))
    assert replay("a+b,b+c,c+d,b-")[-1] == "a(c(d))"


@pytest.mark.parametrize("actions,trees", [
    # ./fork.py -R -A a+b,b+c,c+d,c+e,c-,b- -c
    ("a+b,b+c,c+d,c+e,c-,b-",
     ["a(b)", "a(b(c))", "a(b(c(d)))", "a(b(c(d e)))", "a(b(d e))", "a(d e)"]),
    # ./fork.py -R -A a+b,b+c,c+d,b- -c: c keeps d and moves up to a
    ("a+b,b+c,c+d,b-", ["a(b)", "a(b(c))", "a(b(c(d)))", "a(c(d))"]),
    # ./fork.py -R -A a+b,a+c,b+d,d+e,d+f,d-,c+g,b- -c
    ("a+b,a+c,b+d,d+e,d+f,d-,c+g,b-",
     ["a(b)", "a(b c)", "a(b(d) c)", "a(b(d(e)) c)", "a(b(d(e f)) c)",
      "a(b(e f) c)", "a(b(e f) c(g))", "a(c(g) e f)"]),
])
def test_local_reparent_is_every_process_a_subreaper(actions, trees):
    assert replay(actions, local_reparent=True) == trees

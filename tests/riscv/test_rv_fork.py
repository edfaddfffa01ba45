"""Process creation by machine code (docs/userland.md, "Processes: fork
and exec"): clone(2) without CLONE_THREAD (glibc's fork and vfork),
execve(2) of ELF files and ``#!`` scripts from the kernel's file system,
the process limit, snapshots of forked processes.

The program is tests/riscv/progs/forkexec.c (glibc).  What needs no
execve is compared with qemu-riscv64, which forks the host process;
qemu-user runs a RISC-V execve only through binfmt_misc, which the test
machines lack, so exec results are written out, each from the man page or
the Linux source that fixes it.
"""

from __future__ import annotations

import errno

import pytest

from rvrun import Outcome, pk_kernel, program, run_qemu  # noqa: F401 (program: a fixture)
from test_fs_exec import busybox

import pykernel as pk
from pykernel.snapshot import SnapshotError  # noqa: F401

ARGS_OUT = ('argc {n}\n{argv}argv[argc] is NULL: 1\n'
            'envp[0] = "FROM=forkexec"\nenvc 1\nenvp follows argv: 1\n')


def args_out(*argv: str) -> bytes:
    """What tests/riscv/progs/args.c prints for ``argv`` and the
    environment forkexec.c passes."""
    lines = "".join(f'argv[{i}] = "{a}"\n' for i, a in enumerate(argv))
    return ARGS_OUT.format(n=len(argv), argv=lines).encode()


@pytest.fixture
def k(program):
    """A paging kernel with forkexec and args in /bin."""
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/forkexec", program("forkexec").read_bytes(), mode=0o755)
    k.fs.write("/bin/args", program("args").read_bytes(), mode=0o755)
    return k


def run(k, *argv: str):
    p = k.spawn("/bin/forkexec", argv=["forkexec", *argv])
    k.run()
    return p


def only_child(k, p):
    """The one process p forked (reaped by now: found by its pid)."""
    kids = [q for q in k.processes if q.pid > p.pid]
    assert len(kids) == 1
    return kids[0]


# ---- fork: compared with qemu-riscv64 ----------------------------------------------

@pytest.mark.parametrize("argv", [["cow"], ["status", "9"], ["status", "0"], ["self"]])
def test_fork_and_wait_as_qemu(k, program, argv):
    """fork, the child's exit status through waitpid, copy-on-write
    (the child's writes to a global and the heap stay its own) and
    getpid/getppid in the child: the same output and exit as under
    qemu-riscv64."""
    p = run(k, *argv)
    want = run_qemu(program("forkexec"), ["forkexec", *argv])
    assert Outcome(p.state, p.exit_code, p.kill_reason, bytes(p.stdout), bytes(p.stderr)) == want


def test_copy_on_write_keeps_the_parents_memory(k):
    """The child wrote 42 to a global and 'c' to a heap byte and exited
    with 42 + 1; the parent still reads 1 and 'p' (fork(2): "The child
    process and the parent process run in separate memory spaces")."""
    p = run(k, "cow")
    assert p.stdout == b"waited for the child: 1\nchild exited 43\nparent global 1 heap p\n"


def test_forked_children_are_in_the_process_tree(program):
    """Forked children are processes of the kernel whose parent is the
    forker (they sleep 1 s, so at 0.5 s they are alive); once reaped by
    wait they are no longer among its children."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"),
                  limits=pk.Limits(max_processes=3))
    k.fs.write("/forkexec", program("forkexec").read_bytes(), mode=0o755)
    p = k.spawn("/forkexec", argv=["forkexec", "bomb"])
    k.run(until=500_000_000)
    kids = [q for q in k.processes if q.pid != p.pid]
    assert [q.pid for q in p.children] == [q.pid for q in kids] == [1, 2]
    assert [(q.parent.pid, q.ppid, q.state) for q in kids] == [(0, 0, "alive")] * 2
    k.run()
    assert p.children == [] and p.stdout == b"made 2, then errno %d; reaped 2\n" % errno.EAGAIN
    assert k.audit().tree_bad_links == 0


# ---- execve ------------------------------------------------------------------------

def test_fork_then_exec_an_elf_from_the_file_system(k):
    """The child execs /bin/args with argv [/bin/args, a, b] and the
    environment forkexec passes; args exits with argc (3)."""
    p = run(k, "exec", "/bin/args", "a", "b")
    c = only_child(k, p)
    assert p.stdout == b"child exited 3\n"
    assert c.stdout == args_out("/bin/args", "a", "b")
    assert c.pid == p.pid + 1                  # execve(2): the pid stays


def test_vfork_then_exec(k):
    """vfork (CLONE_VM|CLONE_VFORK): the parent goes on once the child has
    exec'd, and reaps it."""
    p = run(k, "vexec", "/bin/args", "x")
    assert p.stdout == b"child exited 2\n"
    assert only_child(k, p).stdout == args_out("/bin/args", "x")


def test_posix_spawn(k):
    """glibc's posix_spawn (clone with CLONE_VM|CLONE_VFORK and a stack
    of its own) runs the program and returns 0."""
    p = run(k, "spawn", "/bin/args", "y", "z")
    assert p.stdout == b"posix_spawn 0\nchild exited 3\n"
    assert only_child(k, p).stdout == args_out("/bin/args", "y", "z")


def test_posix_spawn_of_a_missing_file(k):
    """The child's exec fails: here the child exits 127 and posix_spawn
    returns 0, since the child's report of the error goes to its own copy
    of the memory (docs/userland.md; Linux would return ENOENT)."""
    p = run(k, "spawn", "/bin/none")
    assert p.stdout == b"posix_spawn 0\nchild exited 127\n"


def test_vfork_child_that_fails_to_exec_releases_its_parent(k):
    """execve fails (ENOENT), the vfork child _exits with 100 + errno:
    the parent, suspended until then, reaps status 102."""
    p = run(k, "vexec", "/bin/none")
    assert p.stdout == b"child exited %d\n" % (100 + errno.ENOENT)


def test_exec_of_a_script_runs_its_interpreter(k):
    """binfmt_script (fs/binfmt_script.c): argv becomes [interpreter,
    its one optional argument, the script's path, argv[1:]]; the blanks
    around the argument are dropped."""
    k.fs.write("/s", b"#!/bin/args  -x -y  \nignored\n", mode=0o755)
    p = run(k, "exec", "/s", "a")
    assert only_child(k, p).stdout == args_out("/bin/args", "-x -y", "/s", "a")
    assert p.stdout == b"child exited 4\n"


def test_script_whose_interpreter_is_a_script(k):
    """An interpreter may itself be a #! script."""
    k.fs.write("/s1", b"#!/bin/args\n", mode=0o755)
    k.fs.write("/s2", b"#!/s1\n", mode=0o755)
    p = run(k, "exec", "/s2", "b")
    assert only_child(k, p).stdout == args_out("/bin/args", "/s1", "/s2", "b")


def test_six_levels_of_scripts_is_eloop(k):
    """Five #! scripts in a row still run (exec_binprm in fs/exec.c
    gives ELOOP at "depth > 5"); a sixth is ELOOP (execve(2))."""
    k.fs.write("/s0", b"#!/bin/args\n", mode=0o755)
    for i in range(1, 6):
        k.fs.write(f"/s{i}", f"#!/s{i - 1}\n".encode(), mode=0o755)
    p = run(k, "errno", "/s4")                           # five scripts above args: it runs
    argv = ["/bin/args"] + [f"/s{i}" for i in range(5)]
    lines = "".join(f'argv[{i}] = "{a}"\n' for i, a in enumerate(argv))
    assert (p.exit_code, p.stdout) == (6, f"argc 6\n{lines}argv[argc] is NULL: 1\n"
                                          "envc 0\nenvp follows argv: 1\n".encode())
    p = run(k, "errno", "/s5")
    assert p.stdout == b"execve /s5: errno %d\n" % errno.ELOOP


@pytest.mark.parametrize("make, path, err", [
    (lambda k: None, "/bin/none", errno.ENOENT),
    (lambda k: k.fs.mkdir("/dir"), "/dir", errno.EACCES),        # not a regular file
    (lambda k: k.fs.write("/f", b"x", mode=0o644), "/f", errno.EACCES),   # no execute bit
    (lambda k: k.fs.write("/f", b"x", mode=0o644), "/f/g", errno.ENOTDIR),
    (lambda k: k.fs.write("/bad", b"\x7fELF" + bytes(100), mode=0o755), "/bad", errno.ENOEXEC),
    (lambda k: k.fs.write("/text", b"echo hi\n", mode=0o755), "/text", errno.ENOEXEC),
    (lambda k: k.fs.write("/nl", b"#!\n", mode=0o755), "/nl", errno.ENOEXEC),
    (lambda k: k.fs.write("/long", b"#!/" + b"a" * 300, mode=0o755), "/long", errno.ENOEXEC),
])
def test_execve_errors(k, make, path, err):
    """execve(2) ERRORS: ENOENT (no such file), EACCES (not a regular
    file; no execute permission), ENOTDIR (a prefix is not a directory),
    ENOEXEC (not in a recognized format: a corrupt ELF, a text file
    without #!, an empty #! line, a #! line longer than BINPRM_BUF_SIZE
    (256)).  The caller goes on and prints the errno."""
    make(k)
    p = run(k, "errno", path)
    assert (p.state, p.stdout) == ("exited", b"execve %s: errno %d\n" % (path.encode(), err))


def test_too_long_an_environment_is_e2big(k):
    """More than 256 KiB of argument and environment strings: E2BIG
    (execve(2): "The total number of bytes in the environment (envp) and
    argument list (argv) is too large")."""
    p = run(k, "big", "/bin/args")
    assert p.stdout == b"execve /bin/args: errno %d\n" % errno.E2BIG


def test_execve_with_a_null_argv(k):
    """argv NULL: the program gets argc 1 and an empty argv[0], as Linux
    5.18 and later give it (execve(2), "Linux notes")."""
    p = run(k, "noargv", "/bin/args")
    assert (p.exit_code, p.stdout) == (1, b'argc 1\nargv[0] = ""\nargv[argc] is NULL: 1\n'
                                          b'envc 0\nenvp follows argv: 1\n')


def test_failed_execve_leaves_the_process_as_it_was(k):
    """After a failed execve the caller runs on in its old image with its
    memory intact (it printed its own argv[2] from its old stack)."""
    p = run(k, "errno", "/missing")
    assert p.program.name == "forkexec"
    assert p.stdout == b"execve /missing: errno 2\n"


def test_exec_of_the_same_file_shares_the_image(k):
    """Two processes exec'ing the same bytes run one program: its
    read-only pages are shared frames."""
    a = run(k, "exec", "/bin/args")
    b = run(k, "exec", "/bin/args")
    ca, cb = k.process(a.pid + 1), k.process(b.pid + 1)
    assert (ca.stdout, cb.stdout) == (args_out("/bin/args"),) * 2
    assert ca.program is cb.program and ca.program.kind == "elf"


def test_execve_ends_the_other_threads(k):
    """execve in a process with a second thread (spinning forever): the
    other thread ends (de_thread, fs/exec.c; execve(2): "All threads
    other than the calling thread are destroyed"), the caller runs args,
    and the process exits with args' status."""
    p = run(k, "threxec", "/bin/args")
    assert (p.state, p.exit_code) == ("exited", 1)
    assert p.stdout == b'argc 1\nargv[0] = "/bin/args"\nargv[argc] is NULL: 1\nenvc 0\nenvp follows argv: 1\n'
    assert [t.state for t in p.threads] == ["exited", "exited"]


# ---- limits, exit ------------------------------------------------------------------

def test_fork_bomb_stops_at_the_process_limit(program):
    """A fork loop gets EAGAIN (fork(2): "A system-imposed limit on the
    number of threads was encountered") once the kernel has made
    Limits.max_processes processes; it made the limit minus itself."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"),
                  limits=pk.Limits(max_processes=6))
    k.fs.write("/forkexec", program("forkexec").read_bytes(), mode=0o755)
    p = k.spawn("/forkexec", argv=["forkexec", "bomb"])
    k.run()
    assert p.stdout == b"made 5, then errno %d; reaped 5\n" % errno.EAGAIN
    assert k.audit().frames_mismatched == 0


def test_many_forks_while_the_parent_runs_on(program):
    """Forks past the growth of the core's table of address spaces (the
    forker keeps running in the same block of instructions after each):
    129 children, each reaped."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"),
                  limits=pk.Limits(max_processes=130))
    k.fs.write("/forkexec", program("forkexec").read_bytes(), mode=0o755)
    p = k.spawn("/forkexec", argv=["forkexec", "bomb"])
    k.run()
    assert p.stdout == b"made 129, then errno %d; reaped 129\n" % errno.EAGAIN
    a = k.audit()
    assert (a.frames_mismatched, a.tree_bad_links) == (0, 0)


# ---- BusyBox -----------------------------------------------------------------------

def test_busybox_shell_forks_and_execs_a_command(k):
    """sh -c runs a command by path: the shell forks (vfork) and the child
    execs /bin/echo; its builtins print in the shell itself."""
    k.fs.write("/bin/busybox", busybox(), mode=0o755)
    for name in ("sh", "echo"):
        k.fs.symlink("busybox", f"/bin/{name}")
    sh = k.spawn("/bin/sh", argv=["sh", "-c", "echo a; /bin/echo b; echo c"])
    k.run()
    (child,) = [q for q in k.processes if q.pid > sh.pid]
    assert (sh.state, sh.exit_code, sh.stdout) == ("exited", 0, b"a\nc\n")
    assert (child.exit_code, child.stdout) == (0, b"b\n")


def test_a_shell_and_its_command_share_a_terminal(k):
    """The terminal of the spawned shell shows what it and the command it
    ran wrote, in the order written; the child's terminal is the same."""
    k.fs.write("/bin/busybox", busybox(), mode=0o755)
    for name in ("sh", "echo"):
        k.fs.symlink("busybox", f"/bin/{name}")
    sh = k.spawn("/bin/sh", argv=["sh", "-c", "echo a; /bin/echo b; echo c"])
    k.run()
    child = k.process(sh.pid + 1)
    assert sh.terminal == child.terminal == b"a\nb\nc\n"
    assert (sh.stdout, child.stdout) == (b"a\nc\n", b"b\n")


def test_processes_spawned_from_python_have_terminals_of_their_own(k):
    """Two processes spawned from Python: each terminal holds only its
    own tree's output."""
    a = k.spawn("/bin/args", argv=["args", "a"])
    b = k.spawn("/bin/args", argv=["args", "b"])
    k.run()
    assert (a.terminal, b.terminal) == (a.stdout, b.stdout)
    assert b'"a"' in a.terminal and b'"b"' not in a.terminal


# ---- determinism -------------------------------------------------------------------

def test_fork_and_exec_runs_are_deterministic(program):
    """Two kernels running the same fork / exec workload: the same digest,
    clock and output, bit for bit."""
    def once():
        k = pk_kernel()
        k.fs.write("/forkexec", program("forkexec").read_bytes(), mode=0o755)
        k.fs.write("/args", program("args").read_bytes(), mode=0o755)
        p = k.spawn("/forkexec", argv=["forkexec", "vexec", "/args", "d"])
        q = k.spawn("/forkexec", argv=["forkexec", "cow"])
        k.run()
        return k.digest(), k.now, [(x.pid, bytes(x.terminal)) for x in (p, q)]
    assert once() == once()


# ---- snapshots ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["exec", "vexec"])
def test_kernel_with_forked_processes_snapshots_and_restores(k, how):
    """Cut just after the fork (with vfork: the parent suspended): the
    restored kernel finishes as the original does (output of every
    process, digest) and audits clean."""
    def finish(kk):
        kk.run()
        return kk.digest(), [(q.pid, q.state, q.exit_code, bytes(q.stdout)) for q in kk.processes]
    k.spawn("/bin/forkexec", argv=["forkexec", how, "/bin/args", "z"])
    while len(k.processes) < 2:                          # cut just after the fork
        k.run(until=k.now + 1_000)
    if how == "vexec":
        assert k.process(0).threads[0].state == "waiting"
    copy = pk.Kernel.restore(k.snapshot())
    assert finish(copy) == finish(k)
    a = copy.audit()
    assert (a.frames_mismatched, a.tree_bad_links, a.bad_refs) == (0, 0, 0)


def test_snapshot_after_exec_keeps_the_programs_execve_loaded(k):
    """A program execve loaded in the core is part of the snapshot: the
    restored kernel names it, and a program loaded after it gets its own
    id in both kernels."""
    p = run(k, "exec", "/bin/args", "q")
    c = k.process(p.pid + 1)
    copy = pk.Kernel.restore(k.snapshot())
    assert copy.process(c.pid).program.name == c.program.name
    assert copy.process(c.pid).stdout == c.stdout == args_out("/bin/args", "q")
    for kk in (k, copy):
        q = kk.spawn("/bin/forkexec", argv=["forkexec", "status", "3"])
        kk.run()
        assert (q.program.name, q.stdout) == ("forkexec", b"child exited 3\n")


def test_program_loaded_after_an_execve_keeps_its_name(k, program):
    """execve loaded a program in the core; one loaded from Python after
    it is still the one its processes run."""
    run(k, "exec", "/bin/args")
    prog = pk.Program.elf(program("forkexec"), name="fe")
    q = k.spawn(prog, argv=["forkexec", "status", "4"])
    k.run()
    assert q.program is prog
    assert (q.name, q.stdout) == (f"fe-{q.pid}", b"child exited 4\n")


def test_spawn_by_path_allows_the_same_script_depth(k):
    """Kernel.spawn with a path follows #! lines as execve does: five
    levels run, a sixth is ELOOP."""
    k.fs.write("/s0", b"#!/bin/args\n", mode=0o755)
    for i in range(1, 6):
        k.fs.write(f"/s{i}", f"#!/s{i - 1}\n".encode(), mode=0o755)
    p = k.spawn("/s4")
    k.run()
    assert p.exit_code == 6
    with pytest.raises(pk.KernelError) as e:
        k.spawn("/s5")
    assert e.value.errno == errno.ELOOP

"""Shell scripts as a user writes them, run by BusyBox's ``sh`` on
pykernel and compared with the same BusyBox (same source and
configuration) built for x86-64 and run natively.

Each script runs on both sides the same way: a shell started with
``sh -c 'sh -c "$1" >OUT 2>ERR; echo $? >STATUS' sh SCRIPT`` in an empty
working directory ``w``, with every applet ``busybox --list`` names linked
in ``bin`` and ``PATH`` naming only it. On pykernel the tree is ``/bin``,
``/w`` and ``/o`` of the simulated file system; natively the same names
under a scratch directory. Standard output, standard error and the exit
status of the script's shell are compared byte for byte (the scratch
directory's path is replaced by nothing natively, should a message name
it). Scripts print nothing that depends on process ids or time.

The programs are found at ``$PK_BUSYBOX`` and ``$PK_BUSYBOX_X86_64`` (or
``$PK_BUSYBOX_NATIVE``), else ``../shared/riscv/busybox`` and
``busybox-x86_64`` next to it; without them the tests are skipped (failed
under PK_REQUIRE_RISCV=1).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import pykernel as pk
from rvrun import pk_kernel, require

ROOT = Path(__file__).resolve().parents[2]
RV = Path(os.environ.get("PK_BUSYBOX", ROOT.parent / "shared" / "riscv" / "busybox"))
NATIVE = Path(os.environ.get("PK_BUSYBOX_X86_64",
                             os.environ.get("PK_BUSYBOX_NATIVE", RV.parent / "busybox-x86_64")))
WRAP = 'sh -c "$1" >{o}/out 2>{o}/err; echo $? >{o}/status'

# sh(1p), "Shell Command Language" (POSIX.1-2017 XCU 2) for the grammar;
# the applets' own man pages for what they print.
SCRIPTS = {
    "pipeline": "echo hello world | wc -c",
    "three_stage_pipeline": "printf 'b\\nc\\na\\n' | sort | head -2",
    "redirect_and_append": "echo one > f; echo two >> f; cat f; wc -l < f",
    "stderr_redirect": "ls nothing 2> e; echo status $?; cat e",
    "stderr_to_stdout": "ls missing 2>&1 | wc -l; ls missing >/dev/null 2>&1; echo $?",
    "here_document": "n=3\ncat <<EOF\nline $((n + 1)) of $n\nEOF",
    "quoted_here_document": "cat <<'EOF'\n$HOME `x` \\n\nEOF",
    "here_document_into_pipeline": "cut -d: -f2 <<EOF | sort -r\na:b:c\nd:e:f\nEOF",
    "command_substitution": "x=$(echo abc | tr a-z A-Z); echo \"got $x\"; echo `echo back` $(($(echo 6) * 7))",
    "subshell": "x=outer; (x=inner; echo in $x; exit 3); echo out $x $?",
    "subshell_pipeline": "(echo a; echo b; echo c) | (read first; cat; echo first=$first)",
    "background_wait_status": "(exit 7) & wait $!; echo waited $?",
    "background_jobs_wait_all": "(echo a > x1) & (echo b > x2) & wait; cat x1 x2",
    "background_pid_is_a_child": "sleep 0 & p=$!; test \"$p\" -gt \"$$\" && echo later; wait $p; echo $?",
    # the "sleep 1" collects the killed job first: ash writes "Terminated"
    # only when `wait` itself collects it, which natively depends on when
    # SIGCHLD arrives
    "kill_background_job": "sleep 10 & kill $!; sleep 1; wait $!; echo status $?",
    "trap_signal_to_self": "trap 'echo got USR1' USR1; kill -USR1 $$; echo after",
    "trap_exit": "trap 'echo bye' EXIT; echo hi; exit 9",
    "trap_term_in_child": "sh -c 'trap \"echo child TERM; exit 4\" TERM; kill -TERM $$; echo not here'; echo $?",
    "kill_zero_and_unknown": "kill -0 $$; echo $?; kill -9 999999; echo $?",
    "set_e": "set -e; echo a; false; echo b",
    "set_e_with_or": "set -e; false || echo rescued; echo end",
    "sh_c_arguments": "sh -c 'echo inner $0 $1 $#' zero one; sh -c 'exit 4'; echo $?",
    "shebang_script": "printf '#!%s\\necho script \"$@\"\\nexit 5\\n' \"$(command -v sh)\" > s; chmod +x s; ./s a b; echo $?",
    "not_executable_script": "echo 'echo x' > s; ./s; echo $?",
    "find_xargs": "mkdir -p d/e; echo x > d/e/f1; echo yy > d/f2; find d -type f | sort | xargs wc -c",
    "sort_uniq_c": "printf 'a\\nb\\na\\nc\\na\\nb\\n' | sort | uniq -c",
    "seq_tail": "seq 1 50000 | tail -1",
    "gzip_round_trip": "head -c 200000 /dev/zero | gzip | gzip -d | wc -c",
    "md5sum": "echo hello > h; md5sum h; echo hello | md5sum; md5sum nope; echo $?",
    "ln_s": "echo data > t; ln -s t l; cat l; readlink l; ls -l l | cut -c1; ln -s t l; echo $?",
    "mkdir_p_rm_r": "mkdir -p a/b/c; touch a/b/c/f; ls -R a; rm -r a; ls; rm -r a; echo $?",
    "pipeline_status": "false | true; echo $?; true | false; echo $?",
    "loops_and_arithmetic": "i=0; for x in 1 2 3 4; do i=$((i + x)); done; while [ $i -gt 8 ]; do i=$((i - 1)); done; echo $i",
    "while_read": "printf '1 a\\n2 b\\n' | while read n w; do echo \"$w$n\"; done",
    "functions_case": "f() { case $1 in a*) echo A;; *) echo other;; esac; return 2; }; f abc; f x; echo $?",
    "command_not_found": "nosuch arg; echo $?",
    "tee": "echo t | tee f1 | tr t T; cat f1",
    "awk_sum": "seq 1 100 | awk '{ s += $1 } END { print s, NR }'",
    "grep_count_and_status": "printf 'x\\ny\\nx\\n' | grep -c x; grep q /dev/null; echo $?",
    "exec_descriptor": "exec 3>f3; echo via3 >&3; exec 3>&-; cat f3; echo x >&3; echo $?",
    "yes_head_sigpipe": "yes | head -3",
    "exit_status": "echo before; exit 42",
    # execve(2) ERRORS: EACCES for a directory and for a file without the
    # execute bit (sh: 126); ENOEXEC for a corrupt ELF, which sh(1p)
    # "Command Search and Execution" then runs as a shell script
    "exec_directory_and_plain_file": "mkdir d; ./d; echo $?; echo 'echo x' > f; ./f; echo $?",
    # proc(5): /proc/self/exe names the file the process runs; argv[0]
    # "/proc/self/exe" names no applet
    "exec_proc_self_exe": "/proc/self/exe; echo $?",
    "exec_corrupt_elf": "printf '\\177ELF\\2\\1\\1 junk\\n' > bad; chmod +x bad; ./bad; echo $?",
}


@pytest.fixture(scope="module")
def busybox():
    if not RV.is_file() or not NATIVE.is_file():
        require(f"BusyBox not found at {RV} and {NATIVE}: set PK_BUSYBOX and PK_BUSYBOX_X86_64")
    return RV.read_bytes()


@pytest.fixture(scope="module")
def applets(busybox):
    out = subprocess.run([str(NATIVE), "--list"], capture_output=True, check=True).stdout
    return sorted(set(out.decode().split()))


def root(busybox, applets) -> pk.Kernel:
    """A kernel with /bin (BusyBox and every applet linked to it), an
    empty /w and /o."""
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, 0o755)
    for name in applets:
        if name != "busybox":
            k.fs.symlink("busybox", f"/bin/{name}")
    k.fs.mkdir("/w")
    k.fs.mkdir("/o")
    return k


def run_pk(k, script: str):
    sh = k.spawn("/bin/sh", argv=["sh", "-c", WRAP.format(o="/o"), "sh", script],
                 env={"PATH": "/bin", "LC_ALL": "C", "TZ": "UTC"}, cwd="/w")
    k.run()
    assert (sh.state, sh.exit_code) == ("exited", 0), (sh.state, sh.kill_reason, sh.terminal)
    return (int(k.fs.read("/o/status")), k.fs.read("/o/out"), k.fs.read("/o/err")), sh


def run_native(tmp: Path, applets, script: str):
    bin_ = tmp / "bin"
    bin_.mkdir()
    (bin_ / "busybox").symlink_to(NATIVE)
    for name in applets:
        if name != "busybox":
            (bin_ / name).symlink_to("busybox")
    (tmp / "w").mkdir()
    (tmp / "o").mkdir()
    subprocess.run(["sh", "-c", WRAP.format(o=tmp / "o"), "sh", script], executable=bin_ / "sh",
                   cwd=tmp / "w", env={"PATH": str(bin_), "LC_ALL": "C", "TZ": "UTC"},
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120, check=True)
    strip = str(tmp).encode()
    read = lambda n: (tmp / "o" / n).read_bytes().replace(strip, b"")
    return int(read("status")), read("out"), read("err")


# what differs, and why (none at present)
XFAIL: dict[str, str] = {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=XFAIL[n], strict=True))
                                  if n in XFAIL else n for n in sorted(SCRIPTS)])
def test_script_as_native_busybox(tmp_path, busybox, applets, name):
    k = root(busybox, applets)
    got, sh = run_pk(k, SCRIPTS[name])
    assert got == run_native(tmp_path, applets, SCRIPTS[name])
    a = k.audit()
    assert (a.frames_mismatched, a.tree_bad_links, a.bad_refs) == (0, 0, 0)


def spawn_sh(k, script: str, **kw):
    return k.spawn("/bin/sh", argv=["sh", "-c", script], env={"PATH": "/bin"}, cwd="/w", **kw)


def test_same_script_twice_gives_the_same_digest(busybox, applets):
    """Two kernels running the same pipeline script: the same digest,
    clock and terminal, bit for bit."""
    def once():
        k = root(busybox, applets)
        sh = spawn_sh(k, SCRIPTS["gzip_round_trip"] + "; " + SCRIPTS["sort_uniq_c"])
        k.run()
        return k.digest(), k.now, bytes(sh.terminal)
    first = once()
    assert first[2] == b"200000\n      3 a\n      2 b\n      1 c\n"
    assert once() == first


def test_pipeline_processes_have_their_own_page_tables_and_share_text(busybox, applets):
    """While ``sleep 1 | cat | wc -c`` runs, the shell and the three
    processes of the pipeline each have page tables of their own (distinct
    table frames on the walk of the entry page) and one frame for the
    entry page of BusyBox's text: fork copies the tables, execve of the
    same file maps the same read-only frames (docs/userland.md)."""
    k = root(busybox, applets)
    sh = spawn_sh(k, "sleep 1 | cat | wc -c")
    k.run(until=500_000_000)                            # the sleep is still sleeping
    procs = [q for q in k.processes if q.state == "alive"]
    assert len(procs) == 4 and sh in procs
    text = procs[0].aspace.regions[0]
    assert text.prot == "rx"
    walks = [q.aspace.walk(text.start) for q in procs]
    assert len({w[0].frame for w in walks}) == 4         # level-1 tables: one per process
    assert len({w[1].frame for w in walks}) == 4         # level-2 tables: one per process
    assert len({w[-1].frame for w in walks}) == 1        # the text page: one frame
    assert len({q.aspace.translate(text.start) for q in procs}) == 1
    k.run()
    assert (sh.exit_code, sh.terminal) == (0, b"0\n")
    assert k.audit().frames_mismatched == 0


# ---- bad input ---------------------------------------------------------------------
# Also covered elsewhere: execve of a missing file, a directory, a file
# without the execute bit, a corrupt ELF (test_rv_fork.py,
# test_execve_errors; above through sh); a signal to a zombie
# (test_rv_signals.py, test_kill_of_a_zombie_returns_0_and_changes_nothing);
# a handler that faults (test_programs.py, sig_fault).

def test_fork_bomb_ends_at_the_process_limit_and_the_kernel_goes_on(busybox):
    """The fork bomb ``f(){ f|f& };f`` (ash refuses ":" as a function
    name) under Limits(max_processes=12): forks past the limit fail with
    EAGAIN (fork(2)), each shell that fails says "can't fork" with
    strerror(EAGAIN) and exits 2, the bomb ends, and a shell counting to
    2000 alongside it finishes with its own output."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"),
                  limits=pk.Limits(max_processes=12))
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, 0o755)
    k.fs.symlink("busybox", "/bin/sh")
    k.fs.mkdir("/w")
    other = spawn_sh(k, "i=0; while [ $i -lt 2000 ]; do i=$((i + 1)); done; echo counted $i")
    bomb = spawn_sh(k, "f(){ f|f& };f")
    r = k.run()
    assert r.reason == "idle"
    assert len(k.processes) == 12
    assert all(q.state in ("exited", "zombie") for q in k.processes)
    assert other.terminal == b"counted 2000\n"
    lines = bytes(bomb.terminal).splitlines()
    assert lines and set(lines) == {b"sh: can't fork: Resource temporarily unavailable"}
    assert sum(q.exit_code == 2 for q in k.processes) == len(lines)
    a = k.audit()
    assert (a.frames_mismatched, a.tree_bad_links, a.bad_refs) == (0, 0, 0)


def test_pipe_writer_whose_reader_died_gets_sigpipe(busybox, applets):
    """``yes | head -1``: head exits after one line; yes's next write to
    the pipe without readers fails with EPIPE and raises SIGPIPE
    (pipe(7), "If all file descriptors referring to the read end of a
    pipe have been closed, then a write(2) will cause a SIGPIPE signal"),
    whose default action ends it (signal(7)); the shell goes on."""
    k = root(busybox, applets)
    sh = spawn_sh(k, "yes | head -1; echo next")
    k.run()
    assert (sh.exit_code, sh.terminal) == (0, b"y\nnext\n")
    (yes,) = [q for q in k.processes if q.kill_reason == "signal"]
    assert yes.term_signal == pk.SIGPIPE


# ---- snapshots ---------------------------------------------------------------------

def test_snapshot_with_pipes_in_flight_a_zombie_and_a_pending_signal(busybox, applets):
    """Half a second in: ``seq 1 20000`` (108,894 bytes) is blocked on a
    full pipe (pipe(7): 65,536 bytes since Linux 2.6.11) whose reader
    sleeps; ``(exit 3)`` is a zombie (its parent exec'd sleep and never
    waits); SIGUSR1 is pending for the shell, which traps it. The kernel
    restored from a snapshot taken then finishes as the original does: the
    same terminal, processes, clock and digest; both audit clean,
    descriptors included. The trap runs after the pipeline ends (sh(1p),
    "Signals and Error Handling": a trap is not executed "until after the
    foreground command has completed")."""
    from pykernel.fds import descriptors

    k = root(busybox, applets)
    sh = spawn_sh(k, "trap 'echo got USR1' USR1; sh -c '(exit 3) & exec sleep 5' & "
                     "seq 1 20000 | (sleep 1; wc -l); echo done")
    k.run(until=500_000_000)
    zombies = [q for q in k.processes if q.state == "zombie"]
    assert [(q.exit_code, q.parent.state) for q in zombies] == [(3, "alive")]
    writers = [q for q in k.processes if q.state == "alive"
               and any(d.fd == 1 and d.kind == "pipe-write" for d in descriptors(q))]
    (seq,) = [q for q in writers if q.threads[0].state == "waiting"]
    (out,) = [d for d in descriptors(seq) if d.fd == 1]
    assert out.pipe_bytes == 65536
    sh.signal(pk.SIGUSR1)
    assert sh.pending_signals == {pk.SIGUSR1}
    before = k.audit()
    assert before.fds is not None and before.fds.problems() == []
    copy = pk.Kernel.restore(k.snapshot())
    assert copy.audit().fds == before.fds

    def finish(kk):
        kk.run()
        a = kk.audit()
        assert (a.frames_mismatched, a.tree_bad_links, a.bad_refs, a.signal_bad) == (0, 0, 0, 0)
        return (kk.digest(), kk.now, bytes(kk.process(sh.pid).terminal),
                [(q.pid, q.state, q.exit_code) for q in kk.processes])
    result = finish(copy)
    assert result == finish(k)
    assert result[2] == b"20000\ngot USR1\ndone\n"
    assert [s for _, s, _ in result[3]] == ["exited"] * 6

"""C programs compiled for RISC-V run the same under pykernel as under
qemu-riscv64: the same standard output and error, the same exit code, and
a kill for SIGSEGV where qemu reports one.

The programs are in tests/riscv/progs/ (``*_fs.c`` freestanding, the
others static glibc); rvbuild.py compiles them. Each is first checked
against qemu alone, with its expected output written out below (these
are properties of the programs and of Linux's RISC-V ABI, validated with
qemu-riscv64 7.2), then pykernel is compared with qemu.
"""

from __future__ import annotations

import re
import subprocess

import pytest

import rvbuild as build
from rvrun import need_qemu, pk_kernel, program, run_pykernel, run_qemu  # noqa: F401 (program: a fixture)

import pykernel as pk

STDIN_TEXT = b"Hello\nworld, stdin\nthird line"

# name -> (argv, stdin); every other program runs as [name] with no input
RUNS = {
    "args": (["args", "first", "two words", ""], b""),
    "arith_fs": (["arith_fs"], b""),
    "stdin_fs": (["stdin_fs"], STDIN_TEXT),
    "stdin_lines": (["stdin_lines"], STDIN_TEXT),
    "wait_fs": (["wait_fs", "nochild"], b""),
    "forkexec": (["forkexec", "cow"], b""),
}


def run_args(name):
    return RUNS.get(name, ([name], b""))


# Expected outcome under qemu: (state, exit code or kill reason, the full
# standard output or a regular expression it must match entirely); the
# standard error is empty except for the programs in EXPECTED_STDERR.
EXPECTED = {
    "hello_fs": ("exited", 0, b"hello from a freestanding RISC-V program\n"),
    "hello": ("exited", 3, b"hello, world\n42 str c -1234567890123\n"),
    "arith_fs": ("exited", (111 + 21) % 256,
                 b"gcd(1071,462)=21\ncollatz(27)=111\n"
                 b"fib(1000) mod 1000000007=517691607\n"
                 b"popcount=44\nbitrev=5073d591e6a2c480\n"
                 b"neg>>3=-3375011 (unsigned)neg>>60=15 neg<0u:0 neg<0:1\n"
                 b"int32 wrap=-2147483622\nargc=1\n"),
    # spec chapter 7, table 7.1: x/0 = all ones, x%0 = x, overflow gives
    # the dividend and remainder 0; W forms sign-extend 32-bit results
    "muldiv_fs": ("exited", None, re.compile(
        rb"(?s).*\nINT64_MIN/-1=8000000000000000\nINT64_MIN%-1=0000000000000000\n"
        rb"5/0=ffffffffffffffff\n5%0=0000000000000005\n"
        rb"5/0u=ffffffffffffffff\n5%0u=0000000000000005\n"
        rb"INT32_MIN/-1w=ffffffff80000000\nINT32_MIN%-1w=0000000000000000\n"
        rb"checksum=[0-9a-f]{16}\n")),
    "muldiv": ("exited", None, re.compile(
        rb"(?s)7 / 7 = 1 rem 0\n7 / -7 = -1 rem 0\n7 / 2 = 3 rem 1\n7 / -2 = -3 rem 1\n"
        rb"-7 / 7 = -1 rem 0\n-7 / -7 = 1 rem 0\n-7 / 2 = -3 rem -1\n-7 / -2 = 3 rem -1\n"
        rb".*INT64_MIN/-1=-9223372036854775808 rem=0\n"
        rb"x/0=-1 x%0=1000000007\n"
        rb"divw INT32_MIN/-1=-2147483648 remuw x%0=-2147483647\nacc=-?\d+\n")),
    "null_fs": ("killed", "segmentation fault", b"before the NULL store\n"),
    "null": ("killed", "segmentation fault", b"about to read *NULL\n"),
    "stdin_fs": ("exited", 2, b"HELLO\nWORLD, STDIN\nTHIRD LINE\n"
                 b"bytes=29 lines=2 nonempty_reads>0=1\nfnv1a=c60165acd524eb20\n"),
    "stdin_lines": ("exited", 3, b"1:olleH\n2:nidts ,dlrow\n3:enil driht\n"
                    b"lines 3 chars 27 eof 1\n"),
    "args": ("exited", 4, b'argc 4\nargv[0] = "args"\nargv[1] = "first"\n'
             b'argv[2] = "two words"\nargv[3] = ""\nargv[argc] is NULL: 1\n'
             b"envc 0\nenvp follows argv: 1\n"),
    "fpmove_fs": ("exited", 0, b"d.bits=3ff8000000000000\nd.negated=bff8000000000000\n"
                  b"d.bits=8000000000000000\nd.negated=0000000000000000\n"
                  b"d.bits=7e37e43c8800759c\nd.negated=fe37e43c8800759c\n"
                  b"d.bits=c00a000000000000\nd.negated=400a000000000000\n"
                  b"s.bits=0000000040200000\ns.negated=ffffffffc0200000\n"
                  b"s.bits=ffffffffbf800000\ns.negated=ffffffffbf800000\n"),
    "recursion": ("exited", 55, b"deep(100000)=5000050000\nack(2,3)=9 ack(3,5)=253\n"
                  b"fib(24)=46368\n"),
    "sort": ("exited", 0, re.compile(
        rb"input checksum [0-9a-f]{16}\nqsort checksum ([0-9a-f]{16}) sorted 1\n"
        rb"merge checksum \1 equal 1\nmin -?\d+ median -?\d+ max -?\d+\n")),
    "pthreads": ("exited", 0, b"counter 80000 (expected 80000)\njoin results 60\n"
                 b"consumed sum 5050 (expected 5050)\n"),
    "malloc": ("exited", 0, re.compile(
        rb"small blocks: 500, checksum [0-9a-f]{16}\nodd blocks distinct: 1\n"
        rb"big block: 8388608 bytes, checksum [0-9a-f]{16}\ncalloc zeros: 1048576\n"
        rb"realloc kept: grow me, length 2097151, preserved 1\nsecond round equal: 1\n")),
    "clock": ("exited", 0, b"clock_gettime ok 1\nmonotonic does not go back 1\n"
              b"nsec in range 1\nnanosleep returns 0\nslept at least 2 ms 1\n"
              b"realtime readable 1\n"),
    "random": ("exited", 0, b"getrandom 16 -> 16\ngetrandom 240 -> 240\nnot all zero 1\n"),
}


EXPECTED["syscalls_fs"] = ("exited", 0, (
    b"writev: two parts\nwritev returned 18\nwrite to fd 9 (EBADF is -9) -9\n"
    b"brk grows by 16 pages 65536\nbrk memory sum 8128\nbrk shrinks back 1\n"
    b"mmap page aligned 1\nmmap zero words 1536\nmunmap middle page 0\n"
    b"mprotect first page read-only 0\nvalues kept 33\n"
    b"mmap length 0 (EINVAL is -22) -22\nmunmap unaligned (EINVAL is -22) -22\n"
    b"munmap rest 0\ngetpid > 0 1\ngettid == getpid in the first thread 1\n"
    b"set_tid_address returns the tid 1\nuname 0\nsysname Linux\nmachine riscv64\n"
    b"sysname is Linux 1\nsched_yield 0\nclock_gettime MONOTONIC 0\n"
    b"monotonic does not go back 1\nclock_gettime bad clock (EINVAL is -22) -22\n"
    b"rt_sigprocmask 0\nrt_sigaction query SIGUSR1 0\nprlimit64 RLIMIT_STACK 0\n"
    b"stack limit > 0 1\n"))
EXPECTED["munmap_fault_fs"] = ("killed", "segmentation fault", b"first page still there: 1\n")
EXPECTED["mprotect_fault_fs"] = ("killed", "segmentation fault",
                                 b"mprotect: 0\nread back: 7\n")
# fround: results and fflags (NV 10, DZ 08, OF 04, UF 02, NX 01) that the
# RISC-V unprivileged ISA, chapter "F" (with IEEE 754-2008 sections 4.3
# rounding, 7 exceptions), fixes: the five rounding modes with ties (RNE to
# even, RMM away from zero); overflow to infinity or the largest finite
# value by mode; tininess detected after rounding (the product
# (1 - 2^-104) * 2^-1022 rounds to 2^-1022 in RNE: inexact, not tiny); an
# exact zero sum is -0 only in RDN; the canonical NaN 7ff8000000000000 for
# every NaN result, NV for signalling NaN operands, fmin/fmax returning the
# other operand, flt signalling on a quiet NaN but feq not; saturating fcvt
# with NV; inf * 0 + qNaN raising NV. The sweep's hashes (part 2) are only
# compared with qemu.
FROUND_NAMED = b"""\
fdiv.d 1/3 rne 3fd5555555555555 01
fdiv.d 1/3 rtz 3fd5555555555555 01
fdiv.d 1/3 rdn 3fd5555555555555 01
fdiv.d 1/3 rup 3fd5555555555556 01
fdiv.d 1/3 rmm 3fd5555555555555 01
fadd.s 1+2^-24 rne 3f800000 01
fadd.s 1+2^-24 rtz 3f800000 01
fadd.s 1+2^-24 rdn 3f800000 01
fadd.s 1+2^-24 rup 3f800001 01
fadd.s 1+2^-24 rmm 3f800001 01
fcvt.w.d 2.5 -2.5 rne 2 -2 01 01
fcvt.w.d 2.5 -2.5 rtz 2 -2 01 01
fcvt.w.d 2.5 -2.5 rdn 2 -3 01 01
fcvt.w.d 2.5 -2.5 rup 3 -2 01 01
fcvt.w.d 2.5 -2.5 rmm 3 -3 01 01
fmul.d max*2 rne 7ff0000000000000 fff0000000000000 05 05
fmul.d max*2 rtz 7fefffffffffffff ffefffffffffffff 05 05
fmul.d max*2 rdn 7fefffffffffffff fff0000000000000 05 05
fmul.d max*2 rup 7ff0000000000000 ffefffffffffffff 05 05
fmul.d max*2 rmm 7ff0000000000000 fff0000000000000 05 05
fmul.d below-min rne 0010000000000000 01
fmul.d below-min rtz 000fffffffffffff 03
fmul.d below-min rdn 000fffffffffffff 03
fmul.d below-min rup 0010000000000000 01
fmul.d below-min rmm 0010000000000000 01
fmadd.d 1*1-1 rne 0000000000000000 00
fmadd.d 1*1-1 rtz 0000000000000000 00
fmadd.d 1*1-1 rdn 8000000000000000 00
fmadd.d 1*1-1 rup 0000000000000000 00
fmadd.d 1*1-1 rmm 0000000000000000 00
fcvt.s.d 1+2^-24 rne 3f800000 01
fcvt.s.d 1+2^-24 rtz 3f800000 01
fcvt.s.d 1+2^-24 rdn 3f800000 01
fcvt.s.d 1+2^-24 rup 3f800001 01
fcvt.s.d 1+2^-24 rmm 3f800001 01
fadd.d qnan+1 7ff8000000000000 00
fadd.d snan+1 7ff8000000000000 10
fdiv.d 1/0 7ff0000000000000 08
fsqrt.d -1 7ff8000000000000 10
fmin.d snan 1 3ff0000000000000 10
fmax.d qnan qnan 7ff8000000000000 00
fmin.d -0 +0 8000000000000000 00
feq.d qnan 1 0 00
flt.d qnan 1 0 10
fcvt.w.d 3e9 2147483647 10
fcvt.wu.d -0.5 0 01
fcvt.lu.d -1 0 10
fmadd.d inf*0+qnan 7ff8000000000000 10
"""
EXPECTED["fround"] = ("exited", 0, re.compile(
    re.escape(FROUND_NAMED)
    + rb"((f[a-z.]+) (rne|rtz|rdn|rup|rmm|dyn) [0-9a-f]{16}\n){198}"
    + rb"(f[a-z.]+ [0-9a-f]{16}\n){11}"))
# timemap: relations of the wall clock (clock_gettime(2), gettimeofday(2),
# time(2)), sched_getaffinity(2) and mremap(2) that hold on any Linux,
# with the errors their man pages list
EXPECTED["timemap"] = ("exited", 0, (
    b"time after 2000-01-01 1\nrealtime seconds agree with time 1\ngettimeofday agrees 1\n"
    b"coarse and tai follow realtime 1\nmonotonic is not the wall clock 1\n"
    b"absolute realtime sleep 0 woke after the deadline 1\n"
    b"sem_timedwait -1 (ETIMEDOUT is 110) 110 woke after the deadline 1\n"
    b"sched_getaffinity returns whole longs 1\nat least one CPU 1\n"
    b"glibc sched_getaffinity 0 count agrees 1\ngettid names the caller 1\n"
    b"size not a multiple of 8 (EINVAL is 22) -1 22\nsize 0 -1 22\n"
    b"no such thread (ESRCH is 3) -1 3\nguard placed 1\n"
    b"grow without MREMAP_MAYMOVE (ENOMEM is 12) -12\n"
    b"moved 1 contents kept 1 new pages zero 1\nold range gone (EFAULT is 14) -14\n"
    b"shrink in place 1\nshrunk keeps 1\ngrow in place 1\ngrown keeps 1 zero after 1\n"
    b"grown writable 1\nfixed move 1\nfixed keeps 1 1 around it kept 1\n"
    b"fixed source gone -14\nread-only moved keeps 1\nmisaligned (EINVAL is 22) -22\n"
    b"unknown flag -22\nfixed without maymove -22\nfixed overlapping -22\n"
    b"dontunmap needs equal sizes -22\nunmapped old, growing (EFAULT is 14) -14\n"
    b"old range past its mapping -14\n"))
# files.c: descriptors, files and pipes. Lowest free number, shared
# offsets of dup, per-descriptor FD_CLOEXEC (open(2), dup(2), fcntl(2));
# O_APPEND writes at the end, pread/pwrite keep the offset (pread(2));
# errors as the man pages list them (unlink(2): EISDIR on Linux; rename(2):
# EISDIR for a file over a directory; open(2): ELOOP for O_NOFOLLOW on a
# link); umask 027 leaves 0750 of mkdir's 0777 (umask(2)); a pipe holds
# 65536 bytes, reads 0 at EOF once its writers closed, and a write without
# readers fails with EPIPE (pipe(7); SIGPIPE is ignored by the program);
# pwrite on an O_APPEND descriptor appends (pwrite(2), BUGS); sendfile with
# an offset pointer leaves the file's offset (sendfile(2)); a select that
# times out leaves the time left at 0 and the set empty (select(2)).
FILES_OUT = b"""\
first fd 3
open excl again              -1 EEXIST
write                        12 ok
lseek cur                    12 ok
lseek set 6                  6 ok
read                         5 ok
read bytes world
pread 0                      5 ok
pread bytes hello
offset after pread           11 ok
pwrite                       5 ok
lseek end                    12 ok
lseek negative               -1 EINVAL
fstat                        0 ok
size 12 mode 100644 nlink 1
dup 4
dup sees offset              2 ok
F_DUPFD 10                   10 ok
F_DUPFD_CLOEXEC 10           11 ok
F_GETFD 11                   1 ok
F_GETFD 10                   0 ok
dup3 same                    -1 EINVAL
dup3 bad flags               -1 EINVAL
dup2 to 20                   20 ok
close 20                     0 ok
close 20 again               -1 EBADF
close d                      0 ok
lowest again 4
F_GETFL accmode              2 ok
F_SETFL append               0 ok
F_GETFL append               1 ok
append write                 5 ok
offset at end                17 ok
ioctl TCGETS file            -1 ENOTTY
write on O_RDONLY            -1 EBADF
read on O_WRONLY             -1 EBADF
stat after trunc             0 ok
size 0
ftruncate 100                0 ok
size 100 blocks-nonneg 1
mkdir                        0 ok
dir mode 40750 nlink 2
open dir for write           -1 EISDIR
O_DIRECTORY on file          -1 ENOTDIR
file as dir                  -1 ENOTDIR
missing                      -1 ENOENT
symlink                      0 ok
readlink                     1 ok
O_NOFOLLOW on link           -1 ELOOP
lstat link                   0 ok
link is link 1 size 1
link                         0 ok
nlink 2
rename                       0 ok
rename over dir              -1 EISDIR
rmdir nonempty               -1 ENOTEMPTY
unlink dir                   -1 EISDIR
access R                     0 ok
access bad mode              -1 EINVAL
chmod 0                      0 ok
mode 100000
entries: . .. e0 e1 e2 e3 e4 ln moved
openat in dir                5 ok
fstatat in dir               0 ok
unlinkat in dir              0 ok
mkdirat in dir               0 ok
fchdir                       0 ok
getcwd                       1 ok
cwd ends with /dir 1
stat e3 relative             0 ok
chdir ..                     0 ok
fchdir on file               -1 ENOTDIR
utimensat                    0 ok
mtime 1234567890.123456789 atime 1000000000.000000005
fchmod                       0 ok
futimens                     0 ok
fchown keep                  0 ok
mode 100604 mtime 1234567890
pwritev                      6 ok
preadv                       5 ok
preadv  bcd
lseek after preadv           0 ok
sendfile                     5 ok
sendfile offset 6
sendfile own offset          3 ok
offset after sendfile        3 ok
stat copy                    0 ok
copy size 8
pwrite with O_APPEND         1 ok
size after                   101 ok
statx                        0 ok
statx mask 7ff size 101 mode 100604 nlink 2
statx empty path             0 ok
statx size 101
umask returns old            23 ok
pipe2 bad flags              -1 EINVAL
pipe                         0 ok
fifo 1
lseek pipe                   -1 ESPIPE
write pipe                   6 ok
read pipe 4                  4 ok
poll                         2 ok
revents 1 4
read pipe rest               2 ok
read empty nonblock          -1 EAGAIN
poll empty                   0 ok
select empty                 0 ok
poll 5 ms, nothing           0 ok
select 3 ms, nothing         0 ok
left 0.000000 set 0
F_GETPIPE_SZ                 65536 ok
pipe holds 65536 then EAGAIN
drained 65536
read at EOF                  0 ok
poll EOF                     1 ok
revents 10
pipe again                   0 ok
write no readers             -1 EPIPE
close bad                    -1 EBADF
read bad                     -1 EBADF
"""
EXPECTED["files"] = ("exited", 0, FILES_OUT)
# fdhold.c: the lowest free numbers in order (open(2), pipe(2), dup(2))
EXPECTED["fdhold"] = ("exited", 0, b"3 4 5 6 7\n")
# pipe_threads.c: poll(2) returns when a descriptor is ready, before its
# timeout; every byte through the pipe once, in order (pipe(7))
EXPECTED["pipe_threads"] = ("exited", 0, b"poll 1 revents 1\nreceived 200000 bytes, same 1\n")
# fdops.c: a driver of descriptor operations; no input, nothing to do
EXPECTED["fdops"] = ("exited", 0, b"")
# pipe_signals.c: a signal ends a blocked pipe read with EINTR, or with
# SA_RESTART the read goes on (signal(7), "Interruption of system calls");
# a write to a pipe without readers ends the process with SIGPIPE (pipe(7))
EXPECTED["pipe_signals"] = ("killed", "signal 13",
                            b'no SA_RESTART: read -1 EINTR, alarms 1\n'
                            b'SA_RESTART: read 4 "late", alarms 2\n')
# pipe_fork.c: fork(2) shares the pipe's descriptions, so the child reads
# to end of file only after every write end closed; FD_CLOEXEC is kept
EXPECTED["pipe_fork"] = ("exited", 0, b"child read all 1, close-on-exec descriptor inherited 1\n")
# sysargs_fs.c: a driver of system calls with odd arguments; no input, no call
EXPECTED["sysargs_fs"] = ("exited", 0, b"")

# wait4(2), waitid(2): no children is ECHILD (10), unknown options EINVAL (22)
EXPECTED["wait_fs"] = ("exited", 0, b"wait4 -10\nwait4-nohang -10\nwait4-badopt -22\n"
                       b"waitid -10\nwaitid-noopt -22\n")
# signal(7), sigaction(2), sigprocmask(2), sigpending(2): SI_TKILL is -6
# and SI_USER 0 (asm-generic/siginfo.h); standard signals do not queue;
# SIGKILL cannot be caught (EINVAL); kill(2) with 0 checks, 65 is EINVAL
EXPECTED["sig_basic"] = ("exited", 5, b"sigaction 0\n"
                         b"raise: calls=1 sig=10 code=-6 pid_ok=1 self_blocked=1\n"
                         b"kill: calls=2 code=0 pid_ok=1\n"
                         b"blocked: calls=2 pending=1\nunblocked: calls=3 pending=0\n"
                         b"twice while blocked: calls=4\nignored: calls=4\n"
                         b"resethand: plain=1 reset_to_default=1\ncatch SIGKILL: -1\n"
                         b"kill 0: 0\nkill 65: -1\ntgkill wrong tgid: -1\n")
# SEGV_MAPERR 1, SEGV_ACCERR 2, ILL_ILLOPC 1 (asm-generic/siginfo.h); the
# handler that faults dies by SIGSEGV, its own signal being blocked
EXPECTED["sig_fault"] = ("killed", "segmentation fault",
                         b"read: sig=11 code=1 addr=0x40\nwrite: sig=11 code=2 addr_ok=1\n"
                         b"unblocked after siglongjmp: 1\nsigaltstack 0\n"
                         b"on the alternate stack: 1\nillegal: sig=4 code=1 addr_ok=1\n"
                         b"handler faults too\n")
# setitimer(2), nanosleep(2): SI_KERNEL is 128; EINTR with the time left;
# only ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF exist (5: EINVAL)
EXPECTED["sig_timer"] = ("exited", 0, b"setitimer 0\ninterval 0.020000 value<=20ms 1\n"
                         b"alarms 3 sigsuspend EINTR 1 si_code 128\ndisarmed 1\n"
                         b"nanosleep -1 EINTR 1 handler ran 1 rem in (1.5, 1.96) 1\n"
                         b"ITIMER_VIRTUAL or an unknown timer: -1\nalarm left 100\n")
# signal(7): SIGALRM (14) terminates by default
EXPECTED["sig_alarm"] = ("killed", "signal 14", b"arming a 10 ms timer\n")
# sigtimedwait(2): EAGAIN at the timeout; the siginfo of kill (SI_USER 0)
# and of the timer (SI_KERNEL 128); sigwait(3) returns 0 and the signal
EXPECTED["sig_wait"] = ("exited", 0, b"timeout: -1 EAGAIN\npending: 10 signo 10 code 0 pid_ok 1\n"
                        b"sigwait: 0 sig 14\nzero timeout: -1 EAGAIN\nalarm: 14 code 128\n")
# wait4(2) without children: ECHILD (10)
EXPECTED["sig_stop"] = ("exited", 0, b"wait4 -1 errno 10\n")
EXPECTED["sig_chld"] = ("exited", 0, b"wait4 -1 errno 10\n")
# fork(2): the child's writes stay in its copy; it exits with 42 + 1
EXPECTED["forkexec"] = ("exited", 0, b"waited for the child: 1\nchild exited 43\n"
                        b"parent global 1 heap p\n")
# mmapfile.c, mmap(2): MAP_SHARED writes are the file's bytes and write(2)
# shows in the mapping; MAP_PRIVATE copies a page on its first write; the
# mapping outlives close(2); EACCES for a writable shared mapping of an
# O_RDONLY descriptor and for O_WRONLY, EINVAL for an unaligned offset,
# EBADF for a closed descriptor, ENODEV for a pipe or a directory (no mmap
# file operation); msync(2): EINVAL for an unaligned address
EXPECTED["mmapfile"] = ("exited", 0, b"""shared mapping ok, first bytes hello
read after shared write: Hello
second page by read: page two
mapping after write: Hello FILE
private sees Hello
private write: private Pello, file Hello, shared Hello
offset 4096: page two
after the child: shared HE, private Pe
after close and munmap: HELlo FILE
private writable of O_RDONLY   ok
shared writable of O_RDONLY    EACCES
shared read-only of O_RDONLY   ok
offset not page-aligned        EINVAL
O_WRONLY                       EACCES
closed descriptor              EBADF
pipe                           ENODEV
directory                      ENODEV
/dev/zero: 1
msync 0 ok
msync unaligned -1 EINVAL
final HEL!o
""")
# sig_autoreap.c, wait(2): with SIGCHLD ignored no child becomes a zombie,
# wait blocks until all have ended and fails with ECHILD; SIG_DFL again
# makes zombies that wait reaps
EXPECTED["sig_autoreap"] = ("exited", 0, b"SIG_IGN: wait -1 ECHILD 1\n"
                            b"SIG_DFL: waited for a child 1 status 6\n")
# sig_forkexec.c, signal(7): a forked child has its parent's dispositions
# (1 SIGUSR1's handler, 4 SIGUSR2 ignored) and mask (8 SIGINT blocked) but
# no pending signal (16 SIGTERM, the parent's: fork(2))
EXPECTED["sig_forkexec"] = ("exited", 0, b"parent 29\nchild 13\n")
# sig_killall.c without its argument: nothing (kill(-1) is run in
# tests/riscv/test_rv_signals.py, in pykernel only)
EXPECTED["sig_killall"] = ("exited", 0, b"")
# sig_rtqueue.c, signal(7) "Real-time signals": each sigqueue / kill /
# tgkill of a real-time signal is one more instance, taken once each in
# the order sent; two kills of SIGUSR1 leave one.  dequeue_signal
# (kernel/signal.c) takes the thread's own (tgkill) first, then the
# process's, lowest number first; glibc's sigtimedwait reports SI_TKILL
# (-6) as SI_USER (0); sigqueue(3) gives SI_QUEUE (-1) and si_value.
# Also the output of the same source built for x86-64 Linux 6.18.
EXPECTED["sig_rtqueue"] = ("exited", 0, b"""pending: SIGUSR1 SIGRTMIN+0 SIGRTMIN+1 SIGRTMIN+2
sigtimedwait: SIGRTMIN+1 code 0 value 0
sigtimedwait: SIGRTMIN+1 code 0 value 0
sigtimedwait: SIGUSR1 code 0 value 0
sigtimedwait: SIGRTMIN+0 code -1 value 2
sigtimedwait: SIGRTMIN+0 code 0 value 0
sigtimedwait: SIGRTMIN+0 code -1 value 4
sigtimedwait: SIGRTMIN+2 code -1 value 1
sigtimedwait: SIGRTMIN+2 code -1 value 3
then EAGAIN
""")
# mmap_bus.c, mmap(2) "SIGBUS": a touch of a file mapping past the end of
# the file is SIGBUS (7) with BUS_ADRERR (2) and si_addr the byte; the
# rest of the last page reads 0; truncate(2) cuts pages off existing
# mappings (mm/truncate.c truncate_pagecache); mprotect(2): EACCES for
# PROT_WRITE on a MAP_SHARED mapping of an O_RDONLY descriptor. The same
# source built for x86-64 Linux 6.18 prints the same.
EXPECTED["mmap_bus"] = ("exited", 0, b"""page 0: read 120
page 1, past the end in its page: read 0
page 2, past the end: signal 7 code 2 at the byte 1
page 1 after truncating to 100: signal 7 code 2 at the byte 1
page 0 past the new end: read 0
page 0 before it: read 120
page 1 after growing again: read 0
mprotect write, shared of O_RDONLY: -1 Permission denied
mprotect write, private of O_RDONLY: 0
mprotect read, shared of O_RDONLY: 0
""")
EXPECTED_STDERR = {"hello": b"hello, standard error\n"}


def test_every_program_has_an_expected_outcome():
    assert sorted(EXPECTED) == build.programs()


@pytest.mark.parametrize("name", build.programs())
def test_program_under_qemu_as_specified(name, program):
    argv, stdin = run_args(name)
    got = run_qemu(program(name), argv, stdin)
    state, code, out = EXPECTED[name]
    assert got.state == state
    if state == "exited":
        assert code is None or got.exit_code == code
    else:
        assert got.kill_reason == code
    if isinstance(out, bytes):
        assert got.stdout == out
    else:
        assert out.fullmatch(got.stdout), got.stdout
    assert got.stderr == EXPECTED_STDERR.get(name, b"")


@pytest.mark.parametrize("name", build.programs())
def test_program_under_pykernel_matches_qemu(name, program):
    argv, stdin = run_args(name)
    path = program(name)
    assert run_pykernel(path, argv, stdin) == run_qemu(path, argv, stdin)


def test_program_loads_from_bytes_as_from_a_path(program):
    path = program("hello")
    argv, stdin = run_args("hello")
    assert run_pykernel(path.read_bytes(), argv, stdin) == run_qemu(path, argv, stdin)


def test_null_dereference_kills_only_its_process(program):
    """A segmentation fault ends the faulting process; the others in the
    same kernel run to their normal end."""
    k = pk_kernel()
    hello = pk.Program.elf(str(program("hello")))
    before = k.spawn(hello, argv=["hello"], stdin=b"")
    crash = k.spawn(pk.Program.elf(str(program("null"))), argv=["null"], stdin=b"")
    after = k.spawn(hello, argv=["hello"], stdin=b"")
    k.run()
    assert (crash.state, crash.kill_reason) == ("killed", "segmentation fault")
    for p in (before, after):
        assert (p.state, p.exit_code, bytes(p.stdout)) == \
            ("exited", 3, b"hello, world\n42 str c -1234567890123\n")


# Instructions the programs may execute: RV64IMAC, Zicsr, and of F/D only
# the loads, stores and moves (issue 7). qemu's log of the code it
# translated names each instruction (compressed ones by their expansion).
FP_ALLOWED = re.compile(r"(flw|fsw|fld|fsd|fmv\..*|fsgnj.*|frcsr|fscsr|frrm|fsrm|"
                        r"frflags|fsflags|fence.*)")


# programs written to exercise F/D arithmetic: every F/D instruction is theirs
FP_ARITHMETIC = {"fround"}


@pytest.mark.parametrize("name", sorted(set(build.programs()) - FP_ARITHMETIC))
def test_program_executes_only_instructions_in_scope(name, program, tmp_path):
    path = program(name)
    need_qemu()
    argv, stdin = run_args(name)
    log = tmp_path / "in_asm.log"
    subprocess.run([build.QEMU, "-d", "in_asm", "-D", str(log), "-0", argv[0], str(path),
                    *argv[1:]], input=stdin, capture_output=True, env={}, cwd=tmp_path,
                   timeout=120)
    mnemonics = {line.split()[2] for line in log.read_text().splitlines()
                 if line.startswith("0x") and len(line.split()) > 2}
    assert "ecall" in mnemonics
    outside = sorted(m for m in mnemonics if m.startswith("f") and not FP_ALLOWED.fullmatch(m))
    assert outside == []

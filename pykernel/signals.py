"""Signals: Linux's numbers as :class:`Signal`, and the module-level
constants ``pk.SIGTERM``, ``pk.SIGKILL``, ... (docs/signals.md).

A process receives a signal with :meth:`Process.signal
<pykernel.Process.signal>`; machine-code processes also send them to each
other with ``kill``, ``tkill`` and ``tgkill`` and catch them with
``rt_sigaction``. Numbers are Linux's for riscv64 (the asm-generic table,
``include/uapi/asm-generic/signal.h``); default actions are signal(7)'s.
"""

from __future__ import annotations

import enum

__all__ = ["Signal", "default_action", "signal_set"]


class Signal(enum.IntEnum):
    """A Linux signal number (signal(7); asm-generic numbering, as riscv64
    uses). ``SIGRTMIN`` (32) .. ``SIGRTMAX`` (64) are the real-time
    signals; glibc keeps 32 and 33 for itself."""

    SIGHUP = 1
    SIGINT = 2
    SIGQUIT = 3
    SIGILL = 4
    SIGTRAP = 5
    SIGABRT = 6
    SIGBUS = 7
    SIGFPE = 8
    SIGKILL = 9
    SIGUSR1 = 10
    SIGSEGV = 11
    SIGUSR2 = 12
    SIGPIPE = 13
    SIGALRM = 14
    SIGTERM = 15
    SIGSTKFLT = 16
    SIGCHLD = 17
    SIGCONT = 18
    SIGSTOP = 19
    SIGTSTP = 20
    SIGTTIN = 21
    SIGTTOU = 22
    SIGURG = 23
    SIGXCPU = 24
    SIGXFSZ = 25
    SIGVTALRM = 26
    SIGPROF = 27
    SIGWINCH = 28
    SIGIO = 29
    SIGPWR = 30
    SIGSYS = 31
    SIGRTMIN = 32
    SIGRTMAX = 64


_DEFAULT = {
    **{s: "core" for s in (3, 4, 5, 6, 7, 8, 11, 24, 25, 31)},
    **{s: "ignore" for s in (17, 23, 28)},
    18: "continue",
    **{s: "stop" for s in (19, 20, 21, 22)},
}


def default_action(sig: int) -> str:
    """The default action of signal ``sig`` (signal(7), "Standard
    signals"): "term", "core", "ignore", "stop" or "continue". Real-time
    signals terminate."""
    s = int(sig)
    if not 1 <= s <= 64:
        raise ValueError(f"signal numbers are 1..64, not {s}")
    return _DEFAULT.get(s, "term")


def signal_set(bits: int) -> frozenset[int]:
    """The signals of a 64-bit sigset_t (bit ``n - 1`` for signal ``n``),
    as :class:`Signal` members where the number has a name."""
    out = set()
    for n in range(1, 65):
        if bits >> (n - 1) & 1:
            try:
                out.add(Signal(n))
            except ValueError:
                out.add(n)
    return frozenset(out)


globals().update({s.name: s for s in Signal})
__all__ += [s.name for s in Signal]

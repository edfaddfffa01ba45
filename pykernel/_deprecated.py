"""Old spellings of public names, kept working for a while with a
DeprecationWarning.

The convention for figures: a figure the kernel keeps that takes no
argument is a property (``k.stats``, ``k.memory_stats``, ``k.object_stats``,
``k.latency``, ``k.limit_usage``, ``k.jobs``, ``k.fault_rate``); a query
that takes arguments is a method (``k.cpu_stats(cpu)``, ``k.tlb_stats(cpu)``,
``k.fairness(processes)``), and so is an analysis that does work each time
(``k.audit()``, ``k.digest()``, ``k.deadlocks()``).
Figures that used to be methods return a result that may still be called,
the old spelling, which warns and returns the result itself."""

from __future__ import annotations

import warnings


def warn(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=stacklevel)


class CalledProperty:
    """Mixin for the result of a property that used to be a method: calling
    it, as in ``k.latency()``, warns and returns the result unchanged.
    ``_called_as`` names the property (``"Kernel.latency"``)."""

    _called_as = "the property"

    def __call__(self):
        """Deprecated: the figure is a property; read it without calling."""
        warn(f"{self._called_as}()", f"{self._called_as} (a property, without the call)")
        return self


class CalledDict(CalledProperty, dict):
    """A dict that is the value of a property that used to be a method."""

    def __init__(self, called_as: str, items):
        super().__init__(items)
        self._called_as = called_as


class CalledList(CalledProperty, list):
    """A list that is the value of a property that used to be a method."""

    def __init__(self, called_as: str, items):
        super().__init__(items)
        self._called_as = called_as

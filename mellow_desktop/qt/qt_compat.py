"""A guard against the reference-counting bug of PySide6 6.12.0 (on Python 3.11).

In PySide6/shiboken6 6.12.0 every call from Python to a Qt method returning ``void`` hands back ``None``
without taking a reference to it, and every ``signal.emit(...)`` does the same with ``True``. Each call thus
removes one reference from ``None`` or ``True``; after a few thousand calls (one per redraw, per streamed
token...) the interpreter aborts with "Fatal Python error: none_dealloc" (or "bool_dealloc"). PySide6 6.11
does not do this: use PySide6 < 6.12. This guard keeps an environment that has 6.12.0 anyway from crashing by
giving those three objects more references than a process can ever lose.

On Python 3.12+ ``None``, ``True`` and ``False`` are immortal: the bug is harmless there and nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)
_PROBE_CALLS = 16
_RESERVE = 1 << 40  # references added: more than any process will ever lose


def calls_drop_references() -> bool:
    """Whether Qt calls from Python lose references to the ``None``/``True`` they return (the 6.12.0 bug)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    probe.ping.connect(probe.objectName)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")  # returns void
        probe.ping.emit()  # returns True
    lost = max(none_before - sys.getrefcount(None), true_before - sys.getrefcount(True))
    probe.deleteLater()
    return lost >= _PROBE_CALLS // 2


def guard_refcount_bug() -> bool:
    """Detect the bug and, when present, make None, True and False safe from it. True when applied."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not calls_drop_references():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _RESERVE  # ob_refcnt is the object's first field
    import PySide6

    log.warning(
        "PySide6 %s loses references on every call; applied a guard (install PySide6 < 6.12 to avoid it)",
        PySide6.__version__,
    )
    return True

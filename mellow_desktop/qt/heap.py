"""Keeping Python's cyclic garbage collector off the GUI thread's back.

A full (generation 2) collection walks every tracked object: after start-up (Qt wrappers, pyqtgraph,
numpy, the model's torch modules) that is a quarter of a million objects and 50–130 ms, spent on whichever
thread happens to allocate — often the GUI thread, which then stalls (measured by
``benchmarks/gui_long.py``).  :func:`freeze_long_lived` moves the objects alive at that moment into the
permanent generation (:func:`gc.freeze`), so later collections only walk what was made after.  The app calls
it once its window is built and again when a model has loaded; frozen objects are still freed by reference
counting, only cycles among them are never collected, which is why tests that build many windows do not
call it.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Collect once, then freeze every object still alive; returns how many are frozen now."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

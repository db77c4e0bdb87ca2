"""What a delete removed, kept so that it can be put back (undo): one record for history entries and scans.

A store's delete returns a :class:`Deleted` holding the removed items whole (a history record, a scan with
its windows), the words that count them, and the store's own restore. The window offers "Undo" from it and
reports both the delete and the undo with its texts ("Deleted 1 scan", "Restored 3 history entries").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

Noun = tuple[str, str]
"""A noun in the singular and the plural, e.g. ("scan", "scans")."""

HISTORY_ENTRY: Noun = ("history entry", "history entries")
SCAN: Noun = ("scan", "scans")


def counted(n: int, noun: Noun) -> str:
    """``1 scan`` / ``3 scans``."""
    return f"{n} {noun[0] if n == 1 else noun[1]}"


@dataclass(frozen=True)
class Deleted(Generic[T]):
    """Items a store deleted; :meth:`restore` puts back those still missing, with their ids (undo)."""

    items: tuple[T, ...]
    noun: Noun
    put_back: Callable[[Deleted[T]], int] = field(repr=False, compare=False)  # the deleting store's restore

    def __len__(self) -> int:
        return len(self.items)

    def summary(self) -> str:
        """``Deleted 1 scan`` / ``Deleted 3 history entries``."""
        return f"Deleted {counted(len(self.items), self.noun)}"

    def restore(self) -> int:
        """Put the items back through the store that deleted them; returns how many came back (0 when
        undone before). Raises the store's error (one line) when it cannot write."""
        return self.put_back(self)

    def restored_summary(self, n: int) -> str:
        """``Restored 1 scan`` / ``Restored 3 history entries``, for ``n`` items put back."""
        return f"Restored {counted(n, self.noun)}"

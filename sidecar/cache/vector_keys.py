"""Entries by the key of their vector in the semantic tier, in a list of reusable slots.

A key is ``slot | sequence << 32``: the slot finds the entry in one list index (8 bytes a slot,
where a dict from key to entry costs about 50 bytes an entry), and the sequence, new for every
key, makes a key that outlived its entry (a search racing an eviction whose slot was taken
since) resolve to nothing instead of to the slot's next entry. Key 0 means "no vector".

Not thread-safe: the cache calls it from its own thread.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")
_SLOT_BITS = 32
_SLOT_MASK = (1 << _SLOT_BITS) - 1


class VectorKeys(Generic[T]):
    """``assign`` a key to an item, ``get`` it back by key, ``release`` the key."""

    __slots__ = ("_free", "_items", "_keys", "_sequence")

    def __init__(self) -> None:
        self._items: list[T | None] = [None]  # slot 0 is never used: key 0 means none
        self._keys: list[int] = [0]  # the live key of each slot (0: free)
        self._free: list[int] = []
        self._sequence = 0

    def __len__(self) -> int:
        return len(self._items) - 1 - len(self._free)

    def assign(self, item: T) -> int:
        """A new key for ``item`` (never 0, never one handed out before)."""
        self._sequence += 1
        if self._free:
            slot = self._free.pop()
            self._items[slot] = item
        else:
            slot = len(self._items)
            self._items.append(item)
            self._keys.append(0)
        key = slot | (self._sequence << _SLOT_BITS)
        self._keys[slot] = key
        return key

    def get(self, key: int) -> T | None:
        """The item ``key`` was assigned to, or None once it was released."""
        slot = key & _SLOT_MASK
        if 0 < slot < len(self._keys) and self._keys[slot] == key:
            return self._items[slot]
        return None

    def release(self, key: int) -> None:
        """Forget ``key``; its slot serves a later key. Unknown or released keys are ignored."""
        slot = key & _SLOT_MASK
        if 0 < slot < len(self._keys) and self._keys[slot] == key:
            self._items[slot] = None
            self._keys[slot] = 0
            self._free.append(slot)

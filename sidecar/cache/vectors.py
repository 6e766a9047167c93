"""Nearest neighbours among the vectors of one scope, held once, in flat arrays.

A scope holds each vector once, as an int8 row (384 bytes), with its 48-byte sign code, its
norm and the ``id`` of its item (the cache's entry), in four NumPy arrays, and a reference to
the item in a list: 452 bytes a vector and no object per vector. Up to
``prefilter_from`` rows a search is exact (one matrix product). Beyond, the Hamming distance
from the query's sign code to every row's (48 bytes a row read instead of 384) keeps the
``CANDIDATES`` nearest rows (and any tied with the last), whose exact cosines then rank them:
a neighbour close enough to be a semantic hit differs in few signs, so it is among them
(tests/cache/test_semantic.py checks the answers against an exact search; docs/benchmarks.md
has the recall and the times).

Adding is an append (arrays grow by doubling, only their used rows are resident); removing
moves the last row into the hole, after a scan of the ids (about 0.1 ms per 100,000 rows).
Items are told apart by identity: the list keeps each one alive, so their ids are distinct.

Not thread-safe: the semantic tier calls it under its lock.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import numpy as np

T = TypeVar("T")

DIM = 384
CODE_WORDS = DIM // 64  # the sign code: one bit a dimension, in uint64 words
CANDIDATES = 256  # rows ranked exactly after the Hamming prefilter


class ScopeVectors(Generic[T]):
    """Vectors of one scope, each beside its item."""

    __slots__ = ("_codes", "_flat", "_ids", "_items", "_n", "_norms", "_prefilter_from")

    def __init__(self, prefilter_from: int = 4096) -> None:
        self._prefilter_from = prefilter_from
        self._n = 0
        self._items: list[T] = []
        self._flat = np.empty((8, DIM), np.int8)
        self._codes = np.empty((CODE_WORDS, 8), np.uint64)  # one row a word: fast to scan
        self._norms = np.empty(8, np.float32)
        self._ids = np.empty(8, np.int64)

    def __len__(self) -> int:
        return self._n

    def add(self, item: T, vector: bytes) -> None:
        """Add the vector of ``item`` (one not held yet)."""
        if self._n == len(self._ids):
            self._grow()
        row = self._n
        self._n += 1
        values = np.frombuffer(vector, np.int8)
        self._flat[row] = values
        self._codes[:, row] = np.packbits(values > 0).view(np.uint64)
        self._norms[row] = float(np.linalg.norm(values.astype(np.float32))) or 1.0
        self._ids[row] = id(item)
        self._items.append(item)

    def remove(self, item: T) -> None:
        row = self._row(item)
        if row is None:
            return
        last = self._n - 1
        if row != last:
            self._flat[row] = self._flat[last]
            self._codes[:, row] = self._codes[:, last]
            self._norms[row] = self._norms[last]
            self._ids[row] = self._ids[last]
            self._items[row] = self._items[last]
        self._items.pop()
        self._n = last

    def vector(self, item: T) -> bytes | None:
        row = self._row(item)
        return None if row is None else self._flat[row].tobytes()

    def search(self, query: np.ndarray, k: int) -> list[tuple[T, float]]:
        """Up to ``k`` (item, cosine) pairs, best first, for a unit float32 ``query``."""
        n = self._n
        if not n:
            return []
        if n > self._prefilter_from and n > CANDIDATES:
            rows = self._nearest_codes(query, n)
            scores = (self._flat[rows].astype(np.float32) @ query) / self._norms[rows]
        else:
            rows = np.arange(n)
            scores = (self._flat[:n].astype(np.float32) @ query) / self._norms[:n]
        if len(rows) > k:
            top = np.argpartition(-scores, k)[:k]
            top = top[np.argsort(-scores[top])]
        else:
            top = np.argsort(-scores)
        return [(self._items[rows[i]], float(scores[i])) for i in top]

    def _nearest_codes(self, query: np.ndarray, n: int) -> np.ndarray:
        """Rows whose sign codes are among the ``CANDIDATES`` nearest to the query's."""
        code = np.packbits(query > 0).view(np.uint64)
        codes = self._codes
        distances = np.bitwise_count(codes[0, :n] ^ code[0]).astype(np.uint16)
        for word in range(1, CODE_WORDS):
            distances += np.bitwise_count(codes[word, :n] ^ code[word])
        counts = np.cumsum(np.bincount(distances, minlength=DIM + 1))
        cut = int(np.searchsorted(counts, CANDIDATES))  # the distance of the CANDIDATES-th row
        rows = np.flatnonzero(distances <= cut)
        if len(rows) > 4 * CANDIDATES:  # many rows tied at the cut: keep CANDIDATES of them
            rows = rows[np.argpartition(distances[rows], CANDIDATES)[:CANDIDATES]]
        return rows

    def _row(self, item: T) -> int | None:
        for row in np.flatnonzero(self._ids[: self._n] == id(item)):
            if self._items[row] is item:
                return int(row)
        return None

    def _grow(self) -> None:
        """Double the capacity; the new rows stay unwritten (not resident) until used."""
        n, capacity = self._n, 2 * len(self._ids)
        for name in ("_flat", "_norms", "_ids"):
            old = getattr(self, name)
            new = np.empty((capacity, *old.shape[1:]), old.dtype)
            new[:n] = old[:n]
            setattr(self, name, new)
        codes = np.empty((CODE_WORDS, capacity), np.uint64)
        codes[:, :n] = self._codes[:, :n]
        self._codes = codes

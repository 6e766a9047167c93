"""Nearest neighbours among the vectors of one scope.

A scope's vectors are int8 rows (384 bytes each). Up to ``hnsw_from`` rows they are searched
exactly (one matrix product); beyond that they move into an HNSW graph (usearch, int8,
cosine), whose search time grows far slower with the rows than the exact product's (figures in
docs/benchmarks.md, "Semantic cache lookup"). The graph holds the only copy of
its vectors; the slots of removed vectors are reused by later additions.

Not thread-safe: the semantic tier calls it under its lock.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIM = 384
CONNECTIVITY = 12


class ScopeVectors:
    """Vectors of one scope, by integer key."""

    __slots__ = ("_flat", "_hnsw", "_hnsw_from", "_keys", "_norms", "_rows")

    def __init__(self, hnsw_from: int = 4096) -> None:
        self._hnsw_from = hnsw_from
        self._flat = np.zeros((8, DIM), np.int8)
        self._norms = np.zeros(8, np.float32)
        self._keys: list[int] = []
        self._rows: dict[int, int] = {}
        self._hnsw: Any = None

    def __len__(self) -> int:
        return len(self._hnsw) if self._hnsw is not None else len(self._rows)

    def add(self, key: int, vector: bytes) -> None:
        if self._hnsw is not None:
            if key in self._hnsw:
                self._hnsw.remove(key)
            self._hnsw.add(key, np.frombuffer(vector, np.int8), threads=1)
            return
        if key in self._rows:
            self.remove(key)
        n = len(self._keys)
        if n == len(self._flat):
            self._flat = np.concatenate([self._flat, np.zeros_like(self._flat)])
            self._norms = np.concatenate([self._norms, np.zeros_like(self._norms)])
        row = np.frombuffer(vector, np.int8)
        self._flat[n] = row
        self._norms[n] = float(np.linalg.norm(row.astype(np.float32))) or 1.0
        self._keys.append(key)
        self._rows[key] = n
        if n + 1 > self._hnsw_from:
            self._to_hnsw()

    def remove(self, key: int) -> None:
        if self._hnsw is not None:
            if key in self._hnsw:
                self._hnsw.remove(key)
            return
        row = self._rows.pop(key, None)
        if row is None:
            return
        last = len(self._keys) - 1
        if row != last:
            moved = self._keys[last]
            self._flat[row] = self._flat[last]
            self._norms[row] = self._norms[last]
            self._keys[row] = moved
            self._rows[moved] = row
        self._keys.pop()

    def vector(self, key: int) -> bytes | None:
        if self._hnsw is not None:
            if key not in self._hnsw:
                return None
            return bytes(np.asarray(self._hnsw.get(key), dtype=np.int8).tobytes())
        row = self._rows.get(key)
        return None if row is None else self._flat[row].tobytes()

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (key, cosine) pairs, best first, for a unit float32 ``query``."""
        if not len(self):
            return []
        if self._hnsw is not None:
            found = self._hnsw.search(query, min(k, len(self)), threads=1)
            return [
                (int(key), 1.0 - float(d))
                for key, d in zip(found.keys, found.distances, strict=False)
            ]
        n = len(self._keys)
        scores = (self._flat[:n].astype(np.float32) @ query) / self._norms[:n]
        if n > k:
            top = np.argpartition(-scores, k)[:k]
            top = top[np.argsort(-scores[top])]
        else:
            top = np.argsort(-scores)
        return [(self._keys[i], float(scores[i])) for i in top]

    def _new_hnsw(self, capacity: int) -> Any:
        from usearch.index import Index

        index = Index(ndim=DIM, metric="cos", dtype="i8", connectivity=CONNECTIVITY,
                      expansion_add=64, expansion_search=64)  # fmt: skip
        return index

    def _to_hnsw(self) -> None:
        n = len(self._keys)
        index = self._new_hnsw(n * 2)
        index.add(np.asarray(self._keys, np.uint64), self._flat[:n], threads=1)
        self._hnsw = index
        self._rows = {}
        self._keys = []
        self._flat = np.zeros((0, DIM), np.int8)
        self._norms = np.zeros(0, np.float32)

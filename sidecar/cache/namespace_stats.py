"""Cache lookups per namespace: results by tier, tokens and US dollars saved.

For the console's JSON, never for Prometheus labels (namespaces are the caller's names). Bounded:
the first ``max_namespaces`` (256 by default) namespaces seen get their own row, later ones are
summed under ``_other``; results are counted by whatever outcome the cache reports (``exact``,
``fuzzy``, ``miss``, ``rejected_by_guard``, and tiers added later), so a new tier needs no change
here.
"""

from __future__ import annotations

from typing import Any

OTHER = "_other"
_NOT_HITS = frozenset({"miss", "rejected_by_guard"})


class _Row:
    __slots__ = ("results", "tokens_saved", "usd_saved")

    def __init__(self) -> None:
        self.results: dict[str, int] = {}
        self.tokens_saved = 0
        self.usd_saved = 0.0


class NamespaceStats:
    """Counters per namespace; :meth:`record` costs one dict update."""

    def __init__(self, max_namespaces: int = 256) -> None:
        self._rows: dict[str, _Row] = {}
        self._max = max_namespaces

    def record(
        self, namespace: str, result: str, *, tokens_saved: int = 0, usd_saved: float = 0.0
    ) -> None:
        row = self._rows.get(namespace)
        if row is None:
            if len(self._rows) >= self._max:
                namespace = OTHER
            row = self._rows.setdefault(namespace, _Row())
        row.results[result] = row.results.get(result, 0) + 1
        row.tokens_saved += tokens_saved
        row.usd_saved += usd_saved

    def snapshot(self) -> list[dict[str, Any]]:
        """One entry per namespace, most looked-up first."""
        out: list[dict[str, Any]] = []
        for name, row in self._rows.items():
            lookups = sum(row.results.values())
            hits = sum(n for r, n in row.results.items() if r not in _NOT_HITS)
            out.append(
                {
                    "namespace": name,
                    "lookups": lookups,
                    "hits": hits,
                    "hit_rate": hits / lookups if lookups else 0.0,
                    "results": dict(row.results),
                    "tokens_saved": row.tokens_saved,
                    "usd_saved": round(row.usd_saved, 9),
                }
            )
        out.sort(key=lambda r: (-int(r["lookups"]), str(r["namespace"])))
        return out

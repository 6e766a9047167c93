"""The entries of one scope, with the two indexes lookups use.

- ``exact``: normalised key → entry, the O(1) first step.
- ``postings``: content unit → entries containing it (an inverted index over words, numbers,
  entities and, for Chinese, single characters).

- ``words``: (first letter, length) → the scope's words of 5+ letters, to find typo partners;
  built once the scope has more than 1,024 distinct units (smaller ones are scanned).

Fuzzy candidates are the entries that contain, for *every* content unit of the query, either
that unit or (for a word the scope has never seen) one of its near typos. That is not a
heuristic cut: it is exactly what the ``content`` guard demands, so intersecting these sets from
the smallest up loses no hit the guards would accept, and the candidate set is no larger than the
rarest unit's list. With 100,000 varied prompts in one scope that is typically a few dozen
entries, and the lookup cost stays flat as the scope grows. A query with more than
``MAX_TYPO_SEARCHES`` never-seen words is no typo variant of anything: it gets no candidates
without a search per word (which is what bounds a lookup of a long key of unknown words).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from itertools import islice
from typing import NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import OSA

from sidecar.cache.scope import CacheScope
from sidecar.cache.text import Analysis
from sidecar.cache.typos import MIN_SHORT_TYPO, is_filler_typo, is_near_typo


class Entry:
    """One cached value. ``key`` is the original text, or canonical JSON for a JSON key;
    ``nbytes`` counts the key and the JSON-encoded value."""

    __slots__ = (
        "alive",
        "contains_pii",
        "cost_usd",
        "created_at",
        "exact_key",
        "expires_at",
        "features",
        "id",
        "in_tier",
        "key",
        "nbytes",
        "scope",
        "sorted_content",
        "tokens",
        "value_json",
    )

    def __init__(
        self,
        scope: CacheScope,
        exact_key: str,
        key: str,
        analysis: Analysis | None,
        value_json: bytes,
        *,
        created_at: float,
        expires_at: float,
        contains_pii: bool = False,
        cost_usd: float | None = None,
        tokens: int | None = None,
    ) -> None:
        self.id = entry_id(scope, exact_key)
        self.scope = scope
        self.exact_key = exact_key
        self.key = key
        self.value_json = value_json
        self.nbytes = len(key.encode()) + len(value_json)
        self.created_at = created_at
        self.expires_at = expires_at
        self.contains_pii = contains_pii
        self.cost_usd = cost_usd
        self.tokens = tokens
        self.features = tuple(dict.fromkeys(analysis.content)) if analysis is not None else ()
        self.sorted_content = analysis.sorted_content if analysis is not None else ""
        self.in_tier = False  # its vector is in the semantic tier, or queued for it
        self.alive = True  # False once removed: a late embedding must not resurrect it


def entry_id(scope: CacheScope, exact_key: str) -> str:
    """A stable id of (scope, normalised key), the primary key in persistence."""
    return hashlib.blake2b(repr((tuple(scope), exact_key)).encode(), digest_size=16).hexdigest()


WORDS_INDEX_FROM = 1024  # distinct units; below this, typo partners are found by a scan
MAX_TYPO_SEARCHES = 8  # a query with more never-seen words than this is not a rephrasing


class Candidates(NamedTuple):
    entries: list[Entry]
    truncated: bool


class ScopeIndex:
    """Entries of one scope in LRU order (oldest first) with exact and inverted indexes."""

    __slots__ = ("entries", "exact", "nbytes", "postings", "words")

    def __init__(self) -> None:
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.exact: dict[str, Entry] = {}
        # A unit held by one entry maps to it directly: most units of a small per-user scope
        # are, and a set per unit would triple the memory of such scopes.
        self.postings: dict[str, Entry | set[Entry]] = {}
        self.words: dict[tuple[str, int], set[str]] | None = None  # built when the scope grows
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> None:
        self.entries[entry.id] = entry
        self.exact[entry.exact_key] = entry
        self.nbytes += entry.nbytes
        postings = self.postings
        for unit in entry.features:
            held = postings.get(unit)
            if held is None:
                postings[unit] = entry
                if self.words is not None and _typo_capable(unit):
                    self.words.setdefault((unit[0], len(unit)), set()).add(unit)
            elif isinstance(held, set):
                held.add(entry)
            elif held is not entry:
                postings[unit] = {held, entry}
        if self.words is None and len(postings) > WORDS_INDEX_FROM:
            self.words = {}
            for unit in postings:
                if _typo_capable(unit):
                    self.words.setdefault((unit[0], len(unit)), set()).add(unit)

    def remove(self, entry: Entry) -> None:
        del self.entries[entry.id]
        if self.exact.get(entry.exact_key) is entry:
            del self.exact[entry.exact_key]
        self.nbytes -= entry.nbytes
        postings = self.postings
        for unit in entry.features:
            held = postings[unit]
            if isinstance(held, set):
                held.discard(entry)
                if len(held) == 1:
                    postings[unit] = next(iter(held))
                continue
            del postings[unit]
            if self.words is not None and _typo_capable(unit):
                words = self.words[(unit[0], len(unit))]
                words.discard(unit)
                if not words:
                    del self.words[(unit[0], len(unit))]

    def touch(self, entry: Entry) -> None:
        self.entries.move_to_end(entry.id)

    def oldest(self) -> Entry:
        return next(iter(self.entries.values()))

    def is_known(self, unit: str) -> bool:
        """Whether some entry of the scope contains ``unit`` (then it is a word, not a typo)."""
        return unit in self.postings

    def holders(self, unit: str) -> set[Entry] | None:
        """The entries holding ``unit`` (a fresh set when there is one: do not keep it)."""
        held = self.postings.get(unit)
        if held is None or isinstance(held, set):
            return held
        return {held}

    def typo_partners(self, unit: str) -> list[str]:
        """Words of the scope that ``unit`` (a word the scope has not seen) may be a typo of."""
        if self.words is None:
            pools: list[list[str]] = [list(self.postings)]
        else:
            pools = [
                list(words)
                for length in range(len(unit) - 2, len(unit) + 3)
                if (words := self.words.get((unit[0], length)))
            ]
        found: list[str] = []
        for pool in pools:
            close = process.extract(unit, pool, scorer=OSA.distance, score_cutoff=2, limit=None)
            found.extend(w for w, _, _ in close if is_near_typo(unit, w))
        return found

    def candidates(
        self,
        words: tuple[str, ...],
        exact_units: tuple[str, ...],
        fallback: tuple[str, ...],
        limit: int,
    ) -> Candidates:
        """Entries holding every unit of ``exact_units`` and, for each of ``words``, either that
        word or (for a word the scope has not seen) a near typo of it; at most ``limit``.

        With nothing required, the entries sharing one of the two rarest known ``fallback``
        units (used only when the guards that make pruning exact are switched off).
        """
        sets: list[set[Entry]] = []
        for unit in set(exact_units):
            posting = self.holders(unit)
            if posting is None:
                return Candidates([], False)
            sets.append(posting)
        searches = 0
        for unit in sorted(set(words), key=lambda u: u not in self.postings):
            posting = self.holders(unit)
            if posting is not None:
                sets.append(posting)
                continue
            if _typo_capable(unit) and is_filler_typo(unit):
                continue  # a misspelt filler: no entry needs to hold it
            searches += 1
            if searches > MAX_TYPO_SEARCHES:
                return Candidates([], False)
            partners = self.typo_partners(unit) if _typo_capable(unit) else []
            if not partners:
                return Candidates([], False)
            sets.append(set().union(*(self.holders(w) or () for w in partners)))
        if not sets:
            known = sorted((h for u in set(fallback) if (h := self.holders(u))), key=len)
            found = set().union(*known[:2])
        else:
            sets.sort(key=len)
            found = sets[0].intersection(*sets[1:]) if len(sets) > 1 else sets[0]
        if len(found) > limit:
            return Candidates(list(islice(found, limit)), True)
        return Candidates(list(found), False)


def _typo_capable(unit: str) -> bool:
    return len(unit) >= MIN_SHORT_TYPO and unit.isalpha()

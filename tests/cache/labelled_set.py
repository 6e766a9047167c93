"""A hard labelled set of (stored prompt, asked prompt, same answer?) pairs for the cache.

Twelve kinds, six of true rephrasings and six of near-misses:

- rephrasings (``same=True``): ``case_punct``, ``fillers`` (multi-word politeness, English and
  Chinese), ``typos`` (one or two; short words; Chinese homophones), ``paraphrase`` (another
  construction), ``reorder`` (moved clauses, keyword order, swapped SQL conditions, JSON keys),
  ``synonym`` (a word replaced by a synonym);
- near-misses (``same=False``): ``entity_swap`` (another city, drug, table, language; swapped
  arguments), ``number_change`` (digits, number words, JSON numbers), ``negation`` (not, without,
  不, ``!=``, ``false``), ``unit_change`` (miles / kilometres, 华氏度 / 摄氏度, $ / €),
  ``user_scope`` ("my invoices" / "the invoices", 我的 / 所有), ``different_topic``.

Pairs are generated from *families* (:mod:`tests.cache.labelled_families`): each family has
phrasings of one question with slots and entity lists, and says which changes it supports.
Families, filler phrases and typo sources come in two parts: ``tune`` (the cache was tuned
while looking at these) and ``heldout`` (:mod:`tests.cache.labelled_heldout`, written before
tuning and only ever scored, never inspected pair by pair). About 15% of the pairs are Chinese.
The set is deterministic (seeded).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Split = Literal["tune", "heldout"]
POSITIVE_KINDS = ("case_punct", "fillers", "typos", "paraphrase", "reorder", "synonym")
NEGATIVE_KINDS = (
    "entity_swap",
    "number_change",
    "negation",
    "unit_change",
    "user_scope",
    "different_topic",
)
KINDS = POSITIVE_KINDS + NEGATIVE_KINDS


class Pair(NamedTuple):
    stored: Any
    asked: Any
    same: bool
    kind: str
    lang: str  # "en" or "zh"
    split: Split


@dataclass
class Family:
    """Phrasings of one question. ``forms[0]`` is the stored prompt; the other forms are
    paraphrases. Slot values are lists; a slot named ``n…`` is numeric (changing it is a number
    change) and one named ``unit…`` holds units. ``synonyms`` are (word in forms[0], synonym);
    ``reorders`` are forms[0] in another order; ``negations`` negate forms[0]; ``scoped`` are
    (general, about the asker's own) template pairs; ``swaps`` are (template, other template)
    pairs whose slots trade places (from A to B / from B to A); ``topics`` are hand-picked
    different questions sharing words with forms[0]."""

    forms: list[str]
    slots: dict[str, list[str]]
    lang: str = "en"
    synonyms: list[tuple[str, str]] = field(default_factory=list)
    reorders: list[str] = field(default_factory=list)
    negations: list[str] = field(default_factory=list)
    scoped: list[tuple[str, str]] = field(default_factory=list)
    swaps: list[tuple[str, str]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    swap_kind: str = "entity_swap"
    raw: bool = False  # JSON or SQL: no case, filler or typo variants


@dataclass
class Fillers:
    """Politeness added around a prompt; ``typo_source`` is the homophone table for Chinese."""

    en_prefixes: list[str]
    en_suffixes: list[str]
    zh_prefixes: list[str]
    zh_suffixes: list[str]
    zh_homophones: list[tuple[str, str]]


_SLOT = re.compile(r"\{(\w+)\}")
_KEYS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbour(ch: str, rng: random.Random) -> str:
    for r, row in enumerate(_KEYS):
        if ch in row:
            c = row.index(ch)
            options = [row[j] for j in (c - 1, c + 1) if 0 <= j < len(row)]
            for r2 in (r - 1, r + 1):
                if 0 <= r2 < len(_KEYS) and c < len(_KEYS[r2]):
                    options.append(_KEYS[r2][c])
            return rng.choice(options)
    return ch


def _typo_word(word: str, rng: random.Random) -> str:
    kind = rng.choice(("swap", "drop", "double", "near"))
    i = rng.randrange(1, len(word) - 1) if len(word) > 3 else 1
    if kind == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop" and len(word) > 4:
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + _neighbour(word[i], rng) + word[i + 1 :]


def en_typos(text: str, rng: random.Random) -> str:
    """One typo, or two in a prompt of 8+ words; a short word (3-4 letters) now and then."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 5]
    short = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and 3 <= len(w) <= 4]
    count = 2 if len(words) >= 8 else 1
    chosen: list[int] = []
    if short and rng.random() < 0.3:
        chosen.append(rng.choice(short))
    pool = [i for i in spots if i not in chosen]
    rng.shuffle(pool)
    chosen += pool[: count - len(chosen)]
    for i in chosen:
        words[i] = _typo_word(words[i], rng)
    return " ".join(words)


def zh_typos(text: str, rng: random.Random, table: list[tuple[str, str]]) -> str | None:
    usable = [(a, b) for a, b in table if a in text]
    if not usable:
        return None
    a, b = rng.choice(usable)
    return text.replace(a, b, 1)


def case_punct(text: str, rng: random.Random, lang: str) -> str:
    if lang == "zh":
        out = text.rstrip("？?。！!")
        return out + rng.choice(("", "?", "。", " ？", "！"))
    choice = rng.randrange(4)
    stripped = text.rstrip("?.!")
    if choice == 0:
        return stripped.lower()
    if choice == 1:
        return text.upper()
    if choice == 2:
        return "  " + stripped.replace(",", "") + " ??"
    return stripped.lower().replace(",", " ,") + "!"


def _fill(template: str, values: dict[str, str]) -> str:
    text = _SLOT.sub(lambda m: values[m.group(1)], template)
    return text.replace("{{", "{").replace("}}", "}")


def _sample(slots: dict[str, list[str]], rng: random.Random) -> dict[str, str]:
    return {k: rng.choice(v) for k, v in slots.items()}


def _replace_word(text: str, word: str, other: str) -> str | None:
    pattern = re.compile(
        rf"(?<![\w]){re.escape(word)}(?![\w])" if word.isascii() else re.escape(word)
    )
    if not pattern.search(text):
        return None
    return pattern.sub(other, text, count=1)


def _family_pairs(
    fam: Family, rng: random.Random, fillers: Fillers, split: Split, samples: int
) -> Iterator[Pair]:
    lang = fam.lang
    for _ in range(samples):
        values = _sample(fam.slots, rng)
        base = _fill(fam.forms[0], values)

        def pair(asked: Any, same: bool, kind: str, stored: Any = base) -> Pair:
            return Pair(stored, asked, same, kind, lang, split)

        if not fam.raw:
            yield pair(case_punct(base, rng, lang), True, "case_punct")
            if lang == "en":
                prefix = rng.choice(fillers.en_prefixes)
                suffix = rng.choice(fillers.en_suffixes)
                body = base[0].lower() + base[1:] if prefix and not prefix.endswith(". ") else base
                yield pair(prefix + body + suffix, True, "fillers")
                yield pair(en_typos(base, rng), True, "typos")
            else:
                prefix = rng.choice(fillers.zh_prefixes)
                suffix = rng.choice(fillers.zh_suffixes)
                yield pair(prefix + base.rstrip("？?") + suffix, True, "fillers")
                typo = zh_typos(base, rng, fillers.zh_homophones)
                if typo is not None:
                    yield pair(typo, True, "typos")
        for form in fam.forms[1:]:
            yield pair(_fill(form, values), True, "paraphrase")
        for word, synonym in fam.synonyms:
            changed = _replace_word(base, word, synonym)
            if changed is not None:
                yield pair(changed, True, "synonym")
        for form in fam.reorders:
            yield pair(_fill(form, values), True, "reorder")
        for slot, options in fam.slots.items():
            others = [v for v in options if v != values[slot]]
            if not others:
                continue
            changed_values = {**values, slot: rng.choice(others)}
            kind = (
                "number_change"
                if slot.startswith("n")
                else "unit_change"
                if slot.startswith("unit")
                else "entity_swap"
            )
            asked = _fill(fam.forms[0], changed_values)
            if fam.raw or kind != "entity_swap" or rng.random() < 0.5:
                yield pair(asked, False, kind)
            else:  # a lower-case prompt, where the entity is not capitalised
                yield pair(asked.lower(), False, kind, stored=base.lower())
            if len(fam.forms) > 1 and kind == "entity_swap" and rng.random() < 0.5:
                yield pair(_fill(rng.choice(fam.forms[1:]), changed_values), False, kind)
        for form in fam.negations:
            yield pair(_fill(form, values), False, "negation")
        for general, mine in fam.scoped:
            g, m = _fill(general, values), _fill(mine, values)
            yield pair(g, False, "user_scope", stored=m)
            yield pair(m, False, "user_scope", stored=g)
        for a, b in fam.swaps:
            yield pair(_fill(b, values), False, fam.swap_kind, stored=_fill(a, values))
        for topic in fam.topics:
            yield pair(_fill(topic, values), False, "different_topic")


def _topic_pairs(
    families: list[Family], rng: random.Random, split: Split, count: int, lang: str
) -> Iterator[Pair]:
    """Prompts of two different families that share the most words."""
    prompts = [
        _fill(f.forms[0], _sample(f.slots, rng)) for f in families for _ in range(3) if not f.raw
    ]
    owner = [i for i, f in enumerate(families) for _ in range(3) if not f.raw]

    def units(text: str) -> set[str]:
        return set(re.findall(r"\w+", text.lower())) if lang == "en" else set(text)

    scored = []
    for i, a in enumerate(prompts):
        for j in range(i + 1, len(prompts)):
            if owner[i] != owner[j]:
                shared = len(units(a) & units(prompts[j]))
                scored.append((shared + rng.random(), a, prompts[j]))
    scored.sort(reverse=True)
    used: set[str] = set()
    made = 0
    for _, a, b in scored:
        if made >= count:
            break
        if a in used or b in used:
            continue
        used.update((a, b))
        made += 1
        yield Pair(a, b, False, "different_topic", lang, split)


def _balanced(pairs: list[Pair], per_kind: int, rng: random.Random) -> list[Pair]:
    """At most ``per_kind`` pairs of each kind, deduplicated, in a stable order."""
    seen: set[tuple[str, str]] = set()
    by_kind: dict[str, list[Pair]] = {}
    for p in pairs:
        key = (repr(p.stored), repr(p.asked))
        if key in seen or p.stored == p.asked:
            continue
        seen.add(key)
        by_kind.setdefault(p.kind, []).append(p)
    out: list[Pair] = []
    for kind in KINDS:
        group = by_kind.get(kind, [])
        rng.shuffle(group)
        out.extend(group[:per_kind])
    return out


def _build(
    families: list[Family], fillers: Fillers, split: Split, seed: int, en_per_kind: int,
    zh_per_kind: int,
) -> list[Pair]:  # fmt: skip
    rng = random.Random(seed)
    out: list[Pair] = []
    for lang, per_kind in (("en", en_per_kind), ("zh", zh_per_kind)):
        fams = [f for f in families if f.lang == lang]
        raw: list[Pair] = []
        for fam in fams:
            raw.extend(_family_pairs(fam, rng, fillers, split, samples=6))
        raw.extend(_topic_pairs(fams, rng, split, per_kind, lang))
        out.extend(_balanced(raw, per_kind, rng))
    return out


def labelled_set(split: Split | None = None) -> list[Pair]:
    """The pairs of ``split`` (both when None): about 840 tune and 360 held-out pairs."""
    from tests.cache import labelled_families, labelled_heldout

    pairs: list[Pair] = []
    if split in (None, "tune"):
        pairs += _build(labelled_families.FAMILIES, labelled_families.FILLERS, "tune", 16, 60, 13)
    if split in (None, "heldout"):
        pairs += _build(labelled_heldout.FAMILIES, labelled_heldout.FILLERS, "heldout", 61, 26, 7)
    return pairs


def describe(pairs: list[Pair]) -> Counter[tuple[str, str]]:
    return Counter((p.lang, p.kind) for p in pairs)


@dataclass
class Report:
    """Precision and recall of one run over the set, overall, by split, language and kind."""

    pairs: int = 0
    hits: Counter[str] = field(default_factory=Counter)  # kind -> hits
    totals: Counter[str] = field(default_factory=Counter)  # kind -> pairs
    tp: Counter[str] = field(default_factory=Counter)  # "all", split, lang -> true hits
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    false_hits: list[str] = field(default_factory=list)

    def precision(self, part: str = "all") -> float:
        hits = self.tp[part] + self.fp[part]
        return self.tp[part] / hits if hits else 1.0

    def recall(self, part: str = "all") -> float:
        positives = self.tp[part] + self.fn[part]
        return self.tp[part] / positives if positives else 0.0

    def summary(self) -> str:
        parts = ["all", "tune", "heldout", "en", "zh"]
        return "; ".join(
            f"{p}: precision {self.precision(p):.3f}, recall {self.recall(p):.3f}" for p in parts
        )

    def kinds_table(self) -> list[str]:
        rows = ["| kind | pairs | hits | rate |", "|---|---:|---:|---:|"]
        for kind in KINDS:
            n, h = self.totals[kind], self.hits[kind]
            label = "recall" if kind in POSITIVE_KINDS else "false hits"
            rows.append(f"| {kind} ({label}) | {n} | {h} | {h / n if n else 0:.2f} |")
        return rows


def evaluate(make_cache: Any, pairs: list[Pair], settle: Any = None) -> Report:
    """Store each pair's prompt in a fresh scope of one cache, then look the other one up."""
    from sidecar.cache import CacheScope

    cache = make_cache()
    report = Report(pairs=len(pairs))
    scopes = [CacheScope("t", "labelled", None, f"pair-{i}") for i in range(len(pairs))]
    for i, p in enumerate(pairs):
        cache.store(scopes[i], p.stored, {"answer": i})
    if settle is not None:
        settle(cache)
    for i, p in enumerate(pairs):
        result = cache.lookup(scopes[i], p.asked)
        hit = result.hit
        if hit:
            assert result.value == {"answer": i}
        report.totals[p.kind] += 1
        report.hits[p.kind] += hit
        for part in ("all", p.split, p.lang):
            if p.same:
                report.tp[part] += hit
                report.fn[part] += not hit
            else:
                report.fp[part] += hit
        if hit and not p.same and p.split == "tune":
            report.false_hits.append(f"{p.kind}: {p.stored!r} -> {p.asked!r} ({result.match})")
    return report

"""Semantic cache lookups at 1k, 10k and 100k entries in one scope, against brute force.

Prompts come from 24 templates over varied vocabularies (cities, languages, tasks, foods,
drugs, dates, amounts...), so the scope holds many different questions, not near-duplicates of
one. Queries are a mix of
- rephrasings of stored prompts (filler words, case and punctuation, one transposition typo):
  the right answer is the stored one;
- the same prompt with one slot changed (another city, number, language...): the right answer
  is a miss, unless that prompt happens to be stored too.
Hit precision is the share of hits that return the right answer. Our lookups run three times
over the same queries and the run with the median p99 is reported. The baselines are rapidfuzz
``process.extractOne`` over every prompt of the scope with ``fuzz.ratio`` and ``fuzz.WRatio``
(cut-off 90), on the same queries in the same run.
"""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from sidecar.cache import CacheConfig, CacheScope, SemanticCache, SemanticConfig


def _w(words: str) -> list[str]:
    return words.split()


V = {
    "city": _w(
        "Paris London Berlin Madrid Rome Lisbon Vienna Prague Warsaw Dublin Oslo Stockholm "
        "Helsinki Athens Istanbul Cairo Nairobi Lagos Johannesburg Mumbai Delhi Bangkok "
        "Jakarta Manila Tokyo Osaka Seoul Beijing Shanghai Sydney Melbourne Auckland Toronto "
        "Vancouver Montreal Chicago Boston Seattle Denver Austin Miami Atlanta Houston "
        "Phoenix Lima Bogota Santiago Quito Havana Reykjavik Tallinn Riga Vilnius Zagreb "
        "Belgrade Sofia Bucharest Budapest"
    ),
    "lang": _w(
        "Python JavaScript TypeScript Rust Go Java Kotlin Swift Ruby PHP Haskell Scala Elixir "
        "Clojure Julia Perl Lua Dart Zig OCaml"
    ),
    "task": [
        "read a CSV file",
        "parse JSON",
        "sort a dictionary by value",
        "reverse a string",
        "merge two lists",
        "remove duplicates from a list",
        "send an HTTP request",
        "write unit tests",
        "handle exceptions",
        "connect to PostgreSQL",
        "format a date",
        "read environment variables",
        "spawn a thread",
        "hash a password",
        "compress a file",
        "parse command line arguments",
        "generate a random number",
        "measure execution time",
        "create a REST API",
        "validate an email address",
        "download a file",
        "zip two lists",
        "flatten a nested list",
        "count word frequencies",
        "read a file line by line",
        "convert a string to an integer",
        "check if a key exists",
        "deep copy an object",
        "log to a file",
        "schedule a recurring job",
    ],
    "food": _w(
        "lasagna risotto paella curry ramen tacos pancakes brownies falafel hummus goulash "
        "moussaka pierogi gnocchi bibimbap pho biryani shakshuka ceviche empanadas"
    ),
    "diet": _w("vegan vegetarian gluten-free keto low-sodium dairy-free halal kosher"),
    "drug": _w(
        "ibuprofen paracetamol aspirin metformin amoxicillin lisinopril atorvastatin "
        "omeprazole sertraline cetirizine"
    ),
    "group": ["children", "pregnant women", "older adults", "athletes", "teenagers", "diabetics"],
    "topic": [
        "the Roman Empire",
        "the French Revolution",
        "quantum computing",
        "black holes",
        "climate change",
        "the Silk Road",
        "jazz",
        "impressionism",
        "machine learning",
        "the Cold War",
        "photosynthesis",
        "volcanoes",
        "the printing press",
        "the Renaissance",
        "cryptography",
        "game theory",
        "plate tectonics",
    ],
    "audience": [
        "a five year old",
        "a high school student",
        "a software engineer",
        "a lawyer",
        "a nurse",
        "a CEO",
        "a beginner",
        "an expert",
    ],
    "product": _w(
        "iPhone Pixel Galaxy ThinkPad MacBook Kindle PlayStation Xbox Switch Fitbit GoPro Roomba"
    ),
    "language": _w(
        "French Spanish German Italian Portuguese Japanese Korean Chinese Arabic Hindi "
        "Russian Dutch Swedish Greek Turkish Polish"
    ),
    "phrase": [
        "good morning",
        "where is the train station",
        "how much does this cost",
        "thank you",
        "I am allergic to nuts",
        "the bill please",
        "nice to meet you",
        "I need a doctor",
    ],
    "device": _w("laptop phone printer router dishwasher car fridge tablet smartwatch headphones"),
    "problem": [
        "overheats",
        "shuts down randomly",
        "drains the battery",
        "makes a clicking noise",
        "disconnects from wifi",
        "freezes",
    ],
    "event": ["a software update", "a power cut", "a drop", "getting wet", "a factory reset"],
    "month": _w(
        "January February March April May June July August September October November December"
    ),
    "unit": _w("miles kilometres pounds kilograms ounces grams litres gallons feet metres"),
    "person": _w("Alice Bob Carmen Dmitri Emeka Fatima Gustavo Hana Ingrid Jamal Keiko Lars"),
    "meeting": [
        "quarterly review",
        "budget meeting",
        "product launch",
        "team offsite",
        "hiring committee",
        "board meeting",
    ],
}
TEMPLATES = [
    "What is the weather forecast for {city} on {month} {day}?",
    "How do I {task} in {lang}?",
    "Give me a {diet} recipe for {food} that serves {n}",
    "What are the side effects of {drug} for {group}?",
    "Summarise the history of {topic} in {n} sentences",
    "Explain {topic} to {audience}",
    "Translate '{phrase}' into {language}",
    "Find flights from {city} to {city2} on {month} {day}",
    "Compare the {product} and the {product2} for travel",
    "Why does my {device} {problem} after {event}?",
    "How many {unit} are in {n} {unit2}?",
    "Write an email to {person} about the {meeting} on {month} {day}",
    "What is the population of {city} in {year}?",
    "Recommend {n} books about {topic} for {audience}",
    "What is the best time of year to visit {city}?",
    "Is it safe to take {drug} with {drug2}?",
    "What is the difference between {lang} and {lang2} for {task}?",
    "Plan a {n} day trip to {city} on a budget of ${amount}",
    "How long does it take to learn {language} for {audience}?",
    "Convert {n} {unit} to {unit2}",
    "What happened in {city} in {year}?",
    "Write a {n} line poem about {food} in the style of {person}",
    "How much does a {product} cost in {city}?",
    "Create a {n} week training plan for a {diet} athlete",
]
FILLERS = ["Hey, ", "Please ", "Quick question: ", "hi! could you tell me ", ""]
ENDINGS = [" please", " thanks!", "??", "", " pls"]


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format(**slots)


def _slots(rng: random.Random) -> dict[str, str]:
    slots = {k: rng.choice(v) for k, v in V.items()}
    for k, v in list(V.items()):
        slots[k + "2"] = rng.choice(v)
    slots.update(
        n=str(rng.randint(2, 40)),
        day=str(rng.randint(1, 28)),
        year=str(rng.randint(1800, 2024)),
        amount=str(rng.randrange(200, 5000, 50)),
    )
    return slots


def _iter_prompts(count: int, seed: int) -> Iterator[tuple[str, int, dict[str, str]]]:
    """``count`` distinct prompts with their template and slots, generated one at a time."""
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        t = rng.randrange(len(TEMPLATES))
        slots = _slots(rng)
        text = _fill(TEMPLATES[t], slots)
        if text not in seen:
            seen.add(text)
            yield text, t, slots


def _prompts(count: int, seed: int) -> list[tuple[str, int, dict[str, str]]]:
    return list(_iter_prompts(count, seed))


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    longs = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) >= 7]
    if not longs:
        return text
    i = rng.choice(longs)
    w = words[i]
    j = rng.randrange(2, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


# Templates whose two slots may trade places without changing the question: "the difference
# between Go and Zig" is "the difference between Zig and Go".
SYMMETRIC = {
    "Compare the {product} and the {product2} for travel": ("product", "product2"),
    "Is it safe to take {drug} with {drug2}?": ("drug", "drug2"),
    "What is the difference between {lang} and {lang2} for {task}?": ("lang", "lang2"),
}


# Templates that ask the same question in other words.
EQUIVALENT = {
    "How many {unit} are in {n} {unit2}?": "Convert {n} {unit2} to {unit}",
    "Convert {n} {unit} to {unit2}": "How many {unit2} are in {n} {unit}?",
}


def _same_question(template: str, slots: dict[str, str]) -> list[str]:
    """The texts that ask what ``template`` filled with ``slots`` asks."""
    texts = [_fill(template, slots)]
    if template in EQUIVALENT:
        texts.append(_fill(EQUIVALENT[template], slots))
    pair = SYMMETRIC.get(template)
    if pair is not None:
        a, b = pair
        texts.append(_fill(template, {**slots, a: slots[b], b: slots[a]}))
    return texts


def _queries(
    stored: list[tuple[str, int, dict[str, str]]], count: int, seed: int
) -> list[tuple[str, str | None]]:
    """(query, the stored prompt that is the right answer or None for a miss)."""
    rng = random.Random(seed)
    texts = {p for p, _, _ in stored}
    out: list[tuple[str, str | None]] = []
    while len(out) < count:
        text, t, slots = rng.choice(stored)
        if any(x != text and x in texts for x in _same_question(TEMPLATES[t], slots)):
            continue  # its twin is stored too: either would be a right answer
        kind = rng.random()
        if kind < 0.5:
            variant = rng.choice(FILLERS) + text.rstrip("?") + rng.choice(ENDINGS)
            if rng.random() < 0.4:
                variant = variant.lower()
            if rng.random() < 0.4:
                variant = _typo(variant, rng)
            out.append((variant, text))
        else:
            changed = dict(slots)
            key = rng.choice([k for k in slots if "{" + k + "}" in TEMPLATES[t]])
            while changed[key] == slots[key]:  # every vocabulary has 2+ values
                changed[key] = _slots(rng)[key]
            swapped = _fill(TEMPLATES[t], changed)
            right = [x for x in _same_question(TEMPLATES[t], changed) if x in texts]
            out.append((swapped, right[0] if right else None))
    return out


def _pct(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _time_lookups(
    fn: Callable[[str], str | None], queries: list[tuple[str, str | None]]
) -> dict[str, float]:
    times: list[float] = []
    cpu: list[float] = []
    hits = right_hits = positives = right_pos = 0
    for q, expected in queries:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        got = fn(q)
        times.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        if expected is not None:
            positives += 1
        if got is not None:
            hits += 1
            if got == expected:
                right_hits += 1
                right_pos += 1
    times.sort()
    cpu.sort()
    return {
        "p50": _pct(times, 0.5),
        "p99": _pct(times, 0.99),
        "cpu_p50": _pct(cpu, 0.5),
        "cpu_p99": _pct(cpu, 0.99),
        "precision": right_hits / hits if hits else 1.0,
        "recall": right_pos / positives if positives else 0.0,
        "n": len(queries),
    }


def _median_run(
    fn: Callable[[str], str | None], queries: list[tuple[str, str | None]], repeats: int
) -> dict[str, float]:
    """The run with the median p99 of ``repeats`` runs over the same queries."""
    runs = sorted((_time_lookups(fn, queries) for _ in range(repeats)), key=lambda r: r["p99"])
    return runs[len(runs) // 2]


def _bench_size(size: int, n_queries: int, n_brute: int) -> dict[str, Any]:
    stored = _prompts(size, seed=size)
    config = CacheConfig(max_entries=size + 1, max_entries_per_scope=size + 1,
                         max_bytes=2**31, max_bytes_per_scope=2**31)  # fmt: skip
    gc.collect()
    rss0 = _rss_mb()
    cache = SemanticCache(config)
    scope = CacheScope("bench", "prompts", "gpt-4o", "u1")
    for text, _, _ in stored:
        cache.store(scope, text, text)  # the value names its prompt, to check answers
    gc.collect()
    rss = _rss_mb() - rss0
    queries = _queries(stored, n_queries, seed=size + 1)

    def ours(q: str) -> str | None:
        result = cache.lookup(scope, q)
        return result.value if result.hit else None

    choices = [text for text, _, _ in stored]

    def brute(scorer: Callable[..., float]) -> Callable[[str], str | None]:
        def lookup(q: str) -> str | None:
            found = process.extractOne(q, choices, scorer=scorer, score_cutoff=90)
            return found[0] if found else None

        return lookup

    return {
        "size": size,
        "ours": _median_run(ours, queries, repeats=3),
        "ratio": _time_lookups(brute(fuzz.ratio), queries[:n_brute]),
        "wratio": _time_lookups(brute(fuzz.WRatio), queries[: max(10, n_brute // 4)]),
        "bytes_per_entry": rss * 2**20 / size,
    }


def _many_users_rss(entries: int, users: int) -> tuple[float, float]:
    """(RSS growth, total RSS) in MB of a fresh process holding ``entries`` over ``users``."""
    gc.collect()
    rss0 = _rss_mb()
    cache = SemanticCache(CacheConfig(max_entries=entries + 1))
    for i, (text, _, _) in enumerate(_iter_prompts(entries, seed=7)):
        answer = f"A typical answer of a couple of sentences for prompt {i}, " + text
        cache.store(CacheScope("bench", "chat", "gpt-4o", f"user-{i % users}"), text, answer)
    gc.collect()
    return _rss_mb() - rss0, _rss_mb()


def _many_users_rss_in_child(entries: int, users: int) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_cache", "--rss", str(entries), str(users)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    growth, total = out.stdout.split()
    return float(growth), float(total)


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_cache", *args],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _semantic_child(size: int, n_queries: int, semantic: bool) -> dict[str, Any]:
    """In a fresh process: store ``size`` prompts in one scope (embedding them when
    ``semantic``), then time lookups; RSS at the end; with ``semantic`` also brute-force
    cosine over every vector (numpy, float32), query embedding included."""
    stored = _prompts(size, seed=size)
    queries = _queries(stored, n_queries, seed=size + 1)
    config = CacheConfig(max_entries=size + 1, max_entries_per_scope=size + 1, max_bytes=2**31,
                         max_bytes_per_scope=2**31,
                         semantic=SemanticConfig(enabled=semantic,
                                                 max_pending=size + 1))  # fmt: skip
    gc.collect()
    rss0 = _rss_mb()
    cache = SemanticCache.open(config)
    scope = CacheScope("bench", "prompts", "gpt-4o", "u1")
    if semantic:
        assert cache.semantic.wait_ready(600)
    t0 = time.perf_counter()
    for text, _, _ in stored:
        cache.store(scope, text, text)
    if semantic:
        assert cache.semantic.wait_idle(3600)
    store_s = time.perf_counter() - t0

    def ours(q: str) -> str | None:
        result = cache.lookup(scope, q)
        return result.value if result.hit else None

    row: dict[str, Any] = {
        "size": size,
        "stores_per_s": size / store_s,
        "ours": _median_run(ours, queries, repeats=3 if size < 100_000 else 1),
    }
    gc.collect()
    row["rss_mb"] = _rss_mb() - rss0  # the cache (and the tier), not the generated prompts
    if semantic:
        import numpy as np

        from sidecar.cache.embedding import dequantise

        tier = cache.semantic
        entries = [e for e in cache._lru.values() if e.in_tier]
        texts = [e.key for e in entries]
        matrix = np.stack([dequantise(tier.vector(e)) for e in entries])
        row["vectors"] = len(entries)

        def cosine(q: str) -> str | None:
            v = tier.embed(q)
            scores = matrix @ v
            best = int(np.argmax(scores))
            return texts[best] if scores[best] >= 0.8 else None

        row["cosine"] = _time_lookups(cosine, queries[: max(20, n_queries // 10)])

        def embed_only(q: str) -> None:
            tier.embed(q)

        row["embed"] = _time_lookups(embed_only, queries[:200])
    return row


def _labelled_tables(semantic: bool) -> list[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.cache.labelled_set import evaluate, labelled_set

    config = CacheConfig(semantic=SemanticConfig(enabled=semantic))
    holder: list[SemanticCache] = []

    def make() -> SemanticCache:
        holder.append(SemanticCache.open(config))
        return holder[-1]

    def settle(cache: SemanticCache) -> None:
        if cache.semantic is not None:
            cache.semantic.wait_idle(1200)

    report = evaluate(make, labelled_set(), settle=settle)
    holder[-1].close()
    title = "lexical tier alone" if not semantic else "with the semantic tier"
    return [f"Labelled set ({report.pairs} pairs), {title}: {report.summary()}.", "",
            *report.kinds_table(), ""]  # fmt: skip


def _semantic_section(quick: bool) -> list[str]:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    n_queries = 200 if quick else 1_000
    lines = [
        "## Semantic cache tiers",
        "",
        "The same prompts and queries as above, one scope, each size in a fresh process: the "
        "lexical tiers alone, then with the semantic tier (all-MiniLM-L6-v2 int8 on ONNX Runtime,"
        " one thread; the lookup time includes embedding the query). Brute-force cosine: the "
        "query's embedding against every vector (numpy float32, threshold 0.8), same run. "
        "Stores/s include computing the embeddings (in batches, in the worker thread). CPU "
        "times are the lookup thread's own (not inflated by waiting for a core on a shared "
        "machine); RSS growth is measured after the stores, before the brute-force matrix.",
        "",
        "| entries | lookup | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | hit precision | recall "
        "| stores/s | RSS growth MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        plain = _child("--semantic", str(size), str(n_queries), "0")
        sem = _child("--semantic", str(size), str(n_queries), "1")
        for name, r, m in (("lexical", plain, plain["ours"]), ("with semantic", sem, sem["ours"]),
                           ("query embedding alone (floor)", sem, sem["embed"]),
                           ("brute-force cosine", sem, sem["cosine"])):  # fmt: skip
            lines.append(
                f"| {size:,} | {name} | {m['p50']:.3f} | {m['p99']:.3f} | {m['cpu_p50']:.3f} "
                f"| {m['cpu_p99']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} "
                f"| {r['stores_per_s']:,.0f} | {r['rss_mb']:.0f} |"
            )
        added = sem["rss_mb"] - plain["rss_mb"]
        lines.append(f"| {size:,} | RSS added by the semantic tier | | | | | | | | {added:.0f} |")
    lines += ["", "Budget: p99 <= 20 ms at 100,000 entries with the semantic tier, <= 150 MB RSS "
              "added at 100,000 entries.", ""]  # fmt: skip
    lines += _labelled_tables(False) + _labelled_tables(True)
    return lines


def run(quick: bool = False) -> str:
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    n_queries = 400 if quick else 2_000
    n_brute = 40 if quick else 200
    rows = [_bench_size(size, n_queries, n_brute) for size in sizes]
    lines = [
        "## Semantic cache lookup",
        "",
        "One scope of N varied prompts (24 templates over varied vocabularies); queries are half "
        "rephrasings of stored prompts (fillers, case, typos) and half the same prompt with one "
        "slot changed (a different city, number, drug...), whose right answer is a miss. "
        "Precision: share of hits that return the right answer. Brute force: rapidfuzz "
        "`process.extractOne` over all N prompts, cut-off 90, same queries, same run.",
        "",
        "| entries | lookup | p50 ms | p99 ms | hit precision | recall | queries |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        for name, key in (("SemanticCache (ours)", "ours"), ("extractOne ratio", "ratio"),
                          ("extractOne WRatio", "wratio")):  # fmt: skip
            m = r[key]
            lines.append(
                f"| {r['size']:,} | {name} | {m['p50']:.3f} | {m['p99']:.3f} | "
                f"{m['precision']:.3f} | {m['recall']:.3f} | {m['n']} |"
            )
    big = rows[-1]
    speedup = big["ratio"]["p99"] / big["ours"]["p99"]
    lines += [
        "",
        f"At {big['size']:,} entries our p99 is {speedup:.0f}x lower than brute-force "
        f"`extractOne(ratio)` (aim: p99 <= 5 ms at 100,000 entries).",
        "",
        "Memory per entry (RSS growth / entries, prompt of ~60 characters, value = the prompt): "
        + ", ".join(f"{r['size']:,}: {r['bytes_per_entry'] / 1024:.2f} KiB" for r in rows)
        + ".",
    ]
    if not quick:
        growth, total = _many_users_rss_in_child(100_000, 10_000)
        lines.append(
            f"100,000 entries over 10,000 user scopes with ~150-byte answers, in a fresh process: "
            f"{growth:.0f} MB RSS growth, {total:.0f} MB RSS in all (bar: <= 300 MB)."
        )
    lines += ["", "Command: `python -m bench.bench_cache` (quick: `run(quick=True)`).", ""]
    lines += _semantic_section(quick)
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        print(*_many_users_rss(int(sys.argv[2]), int(sys.argv[3])))
    elif sys.argv[1:2] == ["--semantic"]:
        size, n, semantic = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
        print(json.dumps(_semantic_child(size, n, semantic)))
    else:
        print(run(quick="--quick" in sys.argv))

"""Redaction throughput on 1 KB agent-log texts: this redactor vs a naive multi-regex pass.

Run: ``python -m bench.bench_redact`` (``quick=True`` for a short run). One core, one process;
the baseline runs in the same process on the same texts. Presidio is not measured: its
analyzer needs spaCy and a language model, which are not installed here (it is reported at about
0.06 MB/s for it with a blank spaCy pipeline).
"""

from __future__ import annotations

import random
import re
import statistics
import string
import time
from collections.abc import Callable

from sidecar.guard import InjectionScorer
from sidecar.redact import RedactConfig, Redactor, hyperscan_available

# A naive baseline: one regex per type, each run over the whole text (what most projects ship).
NAIVE_PATTERNS = [
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}",
    r"\b(?:\d[ -]?){13,19}\b",
    r"\b\d{3}-\d{2}-\d{4}\b",
    r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    r"\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}\b",
    r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
    r"\b(?:sk-[A-Za-z0-9_-]{20,}|AKIA[A-Z0-9]{16}|gh[pousr]_[A-Za-z0-9]{36}|AIza[0-9A-Za-z_-]{35})\b",
    r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
    r"\b1[3-9]\d{9}\b",
    r"\b\d{17}[\dXx]\b",
    r"://[^\s:/]+:([^\s@/]+)@",
]


class NaiveRedactor:
    """The baseline: twelve independent regexes, then masking."""

    def __init__(self) -> None:
        self.patterns = [re.compile(p) for p in NAIVE_PATTERNS]

    def redact_text(self, text: str) -> str:
        spans: list[tuple[int, int]] = []
        for pattern in self.patterns:
            spans.extend(m.span() for m in pattern.finditer(text))
        if not spans:
            return text
        spans.sort()
        out, pos = [], 0
        for start, end in spans:
            if start >= pos:
                out.append(text[pos:start])
                out.append("[PII]")
                pos = end
        out.append(text[pos:])
        return "".join(out)


PII: list[Callable[[random.Random], str]] = [
    lambda r: f"{r.choice(['bob', 'alice', 'li.wei'])}{r.randint(1, 99)}@example.com",
    lambda r: f"+1 415 555 {r.randint(1000, 9999)}",
    lambda _: "4111 1111 1111 1111",
    lambda r: f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
    lambda _: "sk-proj-" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z",
    lambda r: f"138{r.randint(10_000_000, 99_999_999)}",
    lambda _: "GB29 NWBK 6016 1331 9268 19",
]


def agent_log_texts(count: int, pii_share: float, seed: int = 7) -> list[str]:
    """~1 KB texts shaped like agent logs: JSON lines with ids, timestamps, numbers, prose."""
    rng = random.Random(seed)
    words = ["the", "user", "asked", "for", "weather", "forecast", "and", "agent", "called"]
    words += ["search", "then", "summarised", "results", "in", "Paris"]
    texts = []
    for _ in range(count):
        lines: list[str] = []
        while sum(len(line) + 1 for line in lines) < 1000:
            rid = "".join(rng.choice(string.hexdigits.lower()) for _ in range(16))
            prose = " ".join(rng.choice(words) for _ in range(rng.randint(5, 14)))
            lines.append(
                f'{{"ts": "2024-06-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:'
                f'{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z", '
                f'"level": "info", "request_id": "{rid}", "step": {rng.randint(1, 30)}, '
                f'"tokens": {rng.randint(10, 4000)}, "latency_ms": {rng.uniform(1, 900):.1f}, '
                f'"msg": "{prose}"}}'
            )
        text = "\n".join(lines)[:1024]
        if rng.random() < pii_share:
            cut = rng.randint(0, len(text) - 60)
            text = text[:cut] + " " + rng.choice(PII)(rng) + " " + text[cut + 40 :]
        texts.append(text[:1024])
    return texts


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        total = 0
        for index, ch in enumerate(reversed(body + check)):
            digit = int(ch) * (2 if index % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return body + check
    raise AssertionError(body)


def _luhn_invalid(body: str) -> str:
    valid = _luhn_complete(body)
    return valid[:-1] + str((int(valid[-1]) + 1) % 10)


LOOKALIKES = [
    lambda r: (
        f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:"
        f"{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}Z"
    ),
    lambda r: f"ts={r.randint(1_600_000_000_000, 1_800_000_000_000)}",
    lambda r: f"v{r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}.{r.randint(0, 9999)}",
    lambda r: f"order {_luhn_complete('4' + str(r.randint(10**13, 10**14 - 1)))}",
    lambda r: f"id={r.randint(100_000_000, 999_999_999)}",
    lambda r: f"seq 0{r.randint(100, 999)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
    lambda r: f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2024 {r.randint(0, 23):02d}:00",
    lambda r: f"score={r.random():.16f}",
    lambda r: f"amount {r.randint(1, 999)} {r.randint(100, 999)},{r.randint(10, 99)} EUR",
    lambda r: (
        f"peer 0{r.randint(10, 99)}.{r.randint(0, 255):03d}.{r.randint(0, 255):03d}"
        f".00{r.randint(1, 9)}"
    ),
    lambda r: ":".join(f"{r.randint(0, 255):02x}" for _ in range(6)),
    lambda r: f"sha {r.getrandbits(160):040x}",
    lambda r: (
        f"uuid {r.getrandbits(32):08x}-{r.getrandbits(16):04x}-4{r.getrandbits(12):03x}-"
        f"a{r.getrandbits(12):03x}-{r.getrandbits(48):012x}"
    ),
    lambda r: (
        "next_page_token=eyJvZmZzZXQiOj" + "".join(r.choice("ABCDEFGHIJKLMNOP") for _ in range(8))
    ),
    lambda r: f"ISBN 978-0-{r.randint(100, 999)}-{r.randint(10000, 99999)}-{r.randint(0, 9)}",
    lambda r: f"tel verified, call_id={r.randint(10**9, 10**10)}",
    lambda r: f"invoice 0{r.randint(100, 999)} {r.randint(100, 999)} {r.randint(100, 999)}",
    lambda r: (
        f"{r.randint(2020, 2025)}{r.randint(1, 12):02d}{r.randint(1, 28):02d},"
        f"{r.randint(10**11, 10**12 - 1)},{_luhn_invalid(str(r.randint(10**14, 10**15 - 1)))}"
    ),
]


def dense_texts(count: int, pii_per_text: int, seed: int = 11) -> list[str]:
    """~1 KB texts made only of look-alikes (timestamps, versions, Luhn-valid order numbers,
    9-digit ids, zero-padded counters, European dates and amounts, padded IP-like quads,
    MACs, SHAs, UUIDs, base64 cursors, ISBNs, CSV rows of long numbers), with
    ``pii_per_text`` real values mixed in."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1024:
            parts.append(rng.choice(LOOKALIKES)(rng))
        for _ in range(pii_per_text):
            parts.insert(rng.randrange(len(parts)), rng.choice(PII)(rng))
        texts.append(" ".join(parts)[:1024])
    return texts


def _throughput(fn: Callable[[str], object], texts: list[str], repeats: int) -> tuple[float, float]:
    size = sum(len(t.encode()) for t in texts)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        runs.append(time.perf_counter() - start)
    elapsed = statistics.median(runs)
    return size / elapsed / 1e6, len(texts) / elapsed


def run(quick: bool = False) -> str:
    """Markdown section with medians of ``repeats`` runs per engine and workload."""
    count, repeats = (300, 3) if quick else (2000, 5)
    workloads = {
        "typical (20% of texts with one PII value)": agent_log_texts(count, 0.2),
        "clean (no PII)": agent_log_texts(count, 0.0, seed=8),
        "every text with one PII value": agent_log_texts(count, 1.0, seed=9),
        "dense look-alikes (no PII)": dense_texts(count, 0),
        "dense look-alikes, 3 PII values per text": dense_texts(count, 3, seed=12),
    }
    fast = Redactor(RedactConfig(fast_prefilter=True))
    portable = Redactor(RedactConfig(fast_prefilter=False))
    naive = NaiveRedactor()
    engines: list[tuple[str, Callable[[str], object]]] = [
        (
            "agent-sidecar redactor" + (" (Hyperscan pre-filter)" if hyperscan_available() else ""),
            fast.redact_text,
        ),
        ("agent-sidecar redactor, pure Python (no pre-filter)", portable.redact_text),
        ("naive multi-regex baseline (12 patterns)", naive.redact_text),
    ]
    lines = [
        "## Redaction throughput",
        "",
        f"1 KB agent-log texts (JSON lines with ids, timestamps, numbers), {count} texts per "
        f"workload, median of {repeats} runs, one core. Presidio not measured (needs spaCy and "
        "a model, not installed here).",
        "",
        "| workload | engine | MB/s | texts/s | vs naive |",
        "|---|---|---:|---:|---:|",
    ]
    for workload, texts in workloads.items():
        results = [(name, *_throughput(fn, texts, repeats)) for name, fn in engines]
        naive_mbs = results[-1][1]
        for name, mbs, tps in results:
            lines.append(
                f"| {workload} | {name} | {mbs:.1f} | {tps:,.0f} | {mbs / naive_mbs:.1f}x |"
            )
    scorer = InjectionScorer()
    guard_mbs, guard_tps = _throughput(
        scorer.score, workloads["typical (20% of texts with one PII value)"], repeats
    )
    lines += [
        "",
        f"Injection scorer on the typical workload: {guard_mbs:.1f} MB/s, "
        f"{guard_tps:,.0f} texts/s.",
        "",
        "Command: `python -m bench.bench_redact`",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())

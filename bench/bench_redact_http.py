"""``POST /v1/redact`` over HTTP: one text per request against batches (``{"texts": [...]}``).

The sidecar runs in its own process on the default configuration; one aiohttp client process
with 4 concurrent senders posts 350-byte agent texts (one in five with an email or a phone
number). MB/s counts the input texts' UTF-8 bytes redacted per second of wall time.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import msgspec

from bench.bench_footprint import Sidecar
from bench.harness import median

TEXT_BYTES = 350
SENDERS = 4
_PHRASE = (
    "the agent called the search tool and got three results about the quarterly report "
    "then it summarised the findings for the user and asked whether to open a ticket in the "
    "tracker with the status of the deployment and the logs from the last run of the job"
)
_WORDS = _PHRASE.split()


def texts(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < TEXT_BYTES - 40:
            words.append(rng.choice(_WORDS))
        if i % 5 == 0:
            words.insert(rng.randrange(len(words)), f"mail user{i}@example.com")
        elif i % 5 == 1:
            words.insert(rng.randrange(len(words)), f"call +1 415 555 {1000 + i % 9000:04d}")
        out.append(" ".join(words)[:TEXT_BYTES].ljust(TEXT_BYTES, "."))
    return out


async def _rate(url: str, bodies: list[bytes], payload_bytes: int) -> float:
    queue = list(bodies)
    headers = {"Content-Type": "application/json"}

    async def sender(session: aiohttp.ClientSession) -> None:
        while queue:
            body = queue.pop()
            async with session.post(url, data=body, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
                await response.read()

    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(SENDERS)))
        elapsed = time.perf_counter() - started
    return payload_bytes / elapsed / 1e6


def measure(single: int, batches: int, batch_size: int, rounds: int) -> dict[str, float]:
    one = texts(single)
    many = texts(batches * batch_size, seed=11)
    single_bodies = [msgspec.json.encode({"text": t}) for t in one]
    batch_bodies = [
        msgspec.json.encode({"texts": many[i : i + batch_size]})
        for i in range(0, len(many), batch_size)
    ]
    single_bytes = sum(len(t.encode()) for t in one)
    batch_bytes = sum(len(t.encode()) for t in many)
    per_text, batched = [], []
    with tempfile.TemporaryDirectory() as name, Sidecar(Path(name)) as sidecar:
        url = sidecar.url + "/v1/redact"
        asyncio.run(_rate(url, single_bodies[:200], 1))  # warm-up
        for _ in range(rounds):
            per_text.append(asyncio.run(_rate(url, single_bodies, single_bytes)))
            batched.append(asyncio.run(_rate(url, batch_bodies, batch_bytes)))
    return {"per_text": median(per_text), "batch": median(batched)}


def run(quick: bool = False) -> str:
    single, batches, batch_size, rounds = (1000, 10, 1000, 2) if quick else (4000, 40, 1000, 5)
    figures = measure(single, batches, batch_size, rounds)
    ratio = figures["batch"] / figures["per_text"]
    lines = [
        "## Redaction over HTTP: one text per request against batches",
        "",
        f"`POST /v1/redact` on the default configuration, {TEXT_BYTES}-byte agent texts (one in "
        f"five with an email or a phone number), {SENDERS} concurrent senders in one aiohttp "
        f"client process; {single:,} single-text requests against {batches} requests of "
        f'{batch_size:,} texts (`{{"texts": [...]}}`), medians of {rounds} rounds, both in '
        "the same run. MB/s of input text redacted. Command: `python -m bench redact_http`.",
        "",
        "| route | MB/s (median) | vs one text per request |",
        "|---|---:|---:|",
        f"| one text per request | {figures['per_text']:.2f} | 1.0 |",
        f"| batch of {batch_size:,} texts | {figures['batch']:.2f} | {ratio:.1f} |",
        "",
        "Target: a batch at least 10x the MB/s of one text per request.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))

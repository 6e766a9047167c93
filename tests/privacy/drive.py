"""Drives a running sidecar over HTTP: planted events in, bad bodies, read-backs, the cache.

Every answer body is kept (``Seen.bodies``) so the test can search all of them for canaries.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from yarl import URL

from .canaries import Canary
from .plant import Planter

GROUPS = ("model", "tool", "user", "agent", "provider", "tenant", "type", "session")


@dataclass
class Seen:
    """What the sidecar answered: every body, and the stored events read back."""

    bodies: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    async def call(
        self,
        http: aiohttp.ClientSession,
        method: str,
        url: str | URL,
        *,
        expect: int | None = None,
        record: bool = True,
        **kwargs: Any,
    ) -> tuple[int, str]:
        """One request; its answer is kept for the scan unless ``record`` is false."""
        async with http.request(method, url, **kwargs) as response:
            text = await response.text()
        if record:
            self.bodies.append(f"{method} {url} -> {response.status}: {text}")
        if expect is not None:
            assert response.status == expect, f"{method} {url}: {response.status} {text[:300]}"
        return response.status, text

    @property
    def text(self) -> str:
        return "\n".join(self.bodies)


async def send_planted(
    http: aiohttp.ClientSession, url: str, canaries: list[Canary], planter: Planter, seen: Seen
) -> int:
    """POST the planted events as JSON, NDJSON and OTLP; the number of events stored."""
    batch = [e for c in canaries for e in planter.events(c, 0)]
    _, text = await seen.call(http, "POST", f"{url}/v1/events", json=batch, expect=202)
    assert json.loads(text) == {"accepted": len(batch), "duplicates": 0}
    lines = [e for c in canaries for e in planter.events(c, 1)]
    ndjson = "\n".join(json.dumps(e) for e in lines).encode()
    _, text = await seen.call(
        http,
        "POST",
        f"{url}/v1/events",
        data=ndjson,
        expect=202,
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert json.loads(text) == {"accepted": len(lines), "duplicates": 0}
    body, spans = planter.otlp_request(canaries)
    await seen.call(
        http,
        "POST",
        f"{url}/v1/traces",
        data=body,
        expect=200,
        headers={"Content-Type": "application/x-protobuf"},
    )
    return len(batch) + len(lines) + spans


async def send_bad_bodies(
    http: aiohttp.ClientSession,
    url: str,
    canaries: list[Canary],
    planter: Planter,
    seen: Seen,
    *,
    oversize: int,
    overload: int | None = None,
) -> None:
    """Rejected bodies that carry canaries in the very values the errors are about: 400, 413,
    422, a rejected OTLP span, and (``overload``: the store's queue bound) a 503."""
    json_h = {"Content-Type": "application/json"}
    for canary in canaries:
        good = planter.events(canary, 0)[0]
        value = canary.value
        for bad in (
            {**good, "status": value},
            {**good, "type": value},
            {**good, value: 1, "stream": value},
            {**good, "trace_id": value},
        ):
            await seen.call(http, "POST", f"{url}/v1/events", json=[good, bad], expect=422)
        ndjson = f"{json.dumps(good)}\n{json.dumps({**good, 'input_tokens': value})}\n"
        await seen.call(
            http,
            "POST",
            f"{url}/v1/events",
            data=ndjson.encode(),
            expect=422,
            headers={"Content-Type": "application/x-ndjson"},
        )
        await seen.call(
            http,
            "POST",
            f"{url}/v1/events",
            expect=400,
            headers=json_h,
            data=f'{{"type": "llm_call", "input": "{value}" '.encode(),
        )
        await seen.call(
            http, "POST", f"{url}/v1/redact", json={"text": value, "mode": value}, expect=422
        )
        await seen.call(
            http,
            "POST",
            f"{url}/v1/cache/store",
            expect=422,
            json={"namespace": "faq", "key": value, value: value},
        )
        await seen.call(
            http, "POST", f"{url}/v1/admit", json={"kind": value, "user_id": value}, expect=422
        )
        otlp = {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {"spans": [{"traceId": value, "spanId": "00000000000000a1", "name": value}]}
                    ]
                }
            ]
        }
        status, _ = await seen.call(http, "POST", f"{url}/v1/traces", json=otlp)
        assert status in (200, 400)  # digits-only canaries are valid hex: the span is ignored
        rejected = {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": "0" * 31 + "1",
                                    "spanId": "0" * 15 + "1",
                                    "name": f"chat {value}",
                                    "attributes": [
                                        {
                                            "key": "gen_ai.operation.name",
                                            "value": {"stringValue": "chat"},
                                        },
                                        {
                                            "key": "gen_ai.request.model",
                                            "value": {"stringValue": value},
                                        },
                                        {
                                            "key": "gen_ai.usage.input_tokens",
                                            "value": {"stringValue": value},
                                        },
                                    ],
                                }
                            ]
                        }
                    ]
                }
            ]
        }
        _, text = await seen.call(http, "POST", f"{url}/v1/traces", json=rejected, expect=200)
        assert json.loads(text)["partialSuccess"]["rejectedSpans"] == "1"
    stuffing = " ".join(c.value for c in canaries)
    big = [planter.events(canaries[0], 0)[0] | {"output": stuffing}] * (oversize // 1000)
    await seen.call(http, "POST", f"{url}/v1/events", json=big, expect=413)
    if overload is not None:
        now = time.time()
        flood = [
            {
                "type": "run",
                "id": f"flood-{n}",
                "ts": now,
                "start_ts": now,
                "request_id": f"r {c.value}",
                "error_message": f"failed for {c.value}",
            }
            for n in range(overload + 1)
            for c in [canaries[n % len(canaries)]]
        ]
        await seen.call(http, "POST", f"{url}/v1/events", json=flood, expect=503)


async def read_back(http: aiohttp.ClientSession, url: str, seen: Seen) -> None:
    """Every stored event (paged), every aggregate grouping, the percentiles, the metrics."""
    cursor: str | None = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        _, text = await seen.call(http, "GET", f"{url}/v1/events", params=params, expect=200)
        page = json.loads(text)
        seen.events += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    for group in GROUPS:
        await seen.call(http, "GET", f"{url}/v1/aggregate", params={"group_by": group}, expect=200)
    await seen.call(
        http,
        "GET",
        f"{url}/v1/stats",
        params={"window": "all", "group_by": "model,provider,agent,tool,operation"},
        expect=200,
    )
    await seen.call(http, "GET", f"{url}/metrics", expect=200)


async def exercise_cache(
    http: aiohttp.ClientSession, url: str, canaries: list[Canary], seen: Seen
) -> None:
    """User A caches a canary in a namespace shared across users: A gets it back, B never.

    A canary-free value stored the same way *is* shared with B (the namespace really is shared,
    so B's misses prove the PII rule, not a per-user namespace).
    """
    store, lookup = f"{url}/v1/cache/store", f"{url}/v1/cache/lookup"
    await seen.call(
        http,
        "POST",
        store,
        expect=200,
        json={
            "namespace": "faq",
            "user_id": "alice",
            "key": "what are your opening hours",
            "value": "nine to five, every weekday",
        },
    )
    _, text = await seen.call(
        http,
        "POST",
        lookup,
        expect=200,
        json={"namespace": "faq", "user_id": "bob", "key": "what are your opening hours"},
    )
    assert json.loads(text)["value"] == "nine to five, every weekday"
    for n, canary in enumerate(canaries):
        for key, value in (
            (f"what is on my account number {n}", f"your saved value is {canary.value}"),
            (f"please remember {canary.value}", {"answer": "noted", "n": n}),
        ):
            await seen.call(
                http,
                "POST",
                store,
                expect=200,
                json={"namespace": "faq", "user_id": "alice", "key": key, "value": value},
            )
            for user, hit in (("bob", False), ("alice", True)):
                # Alice's own answer holds her value: the one body left out of the scan.
                _, text = await seen.call(
                    http,
                    "POST",
                    lookup,
                    expect=200,
                    record=not hit,
                    json={"namespace": "faq", "user_id": user, "key": key},
                )
                answer = json.loads(text)
                assert answer["hit"] is hit, (user, key, answer)
                if hit:
                    assert answer["value"] == value
            _, text = await seen.call(
                http,
                "POST",
                lookup,
                expect=200,
                json={"namespace": "faq", "user_id": "bob", "key": key.replace("my", "the")},
            )
            assert json.loads(text)["hit"] is False

"""The headline guarantee over real HTTP: three sidecar processes on one PostgreSQL database,
300 concurrent admits of 1,000 tokens against one user's 100,000-token budget: exactly 100
granted, no overspend; settling below the estimate frees the difference for new admits."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.conftest import SidecarProcess

POLICY = "[{scope: user, id: u-hot, window: 1d, max_tokens: 100000}]"


async def test_three_sidecars_share_one_budget_exactly(pg_url: str) -> None:
    env = {"SIDECAR_BUDGETS__POLICIES": POLICY}
    sidecars = [SidecarProcess(pg_url, env=env) for _ in range(3)]
    try:
        for sidecar in sidecars:
            sidecar.start()
        async with aiohttp.ClientSession() as http:

            async def admit(url: str, n: int) -> tuple[int, Any]:
                async with http.post(
                    url + "/v1/admit",
                    json={
                        "request_id": f"req-{n}",
                        "user_id": "u-hot",
                        "model": "gpt-4o",
                        "input_tokens": 1000,
                        "max_output_tokens": 0,
                    },
                ) as response:
                    return response.status, await response.json()

            answers = await asyncio.gather(*(admit(sidecars[n % 3].url, n) for n in range(300)))
            granted = [body for status, body in answers if status == 200]
            denied = [body for status, body in answers if status == 429]
            assert len(granted) == 100 and len(denied) == 200
            assert {b["reason"] for b in denied} == {"token_budget_exceeded"}
            assert all(b.get("retry_after_s", 0) > 0 for b in denied)
            for sidecar in sidecars:
                async with http.get(sidecar.url + "/v1/usage/user/u-hot") as response:
                    usage = await response.json()
                assert usage["tokens_reserved"] == 100_000 and usage["remaining_tokens"] == 0

            # Ten calls used 100 tokens each instead of 1,000: 9,000 tokens come back.
            for body in granted[:10]:
                async with http.post(
                    sidecars[2].url + "/v1/budgets/settle",
                    json={
                        "reservation_id": body["reservation_id"],
                        "input_tokens": 60,
                        "output_tokens": 40,
                    },
                ) as response:
                    assert (await response.json())["settled"] is True
            again = await asyncio.gather(*(admit(sidecars[n % 3].url, 1000 + n) for n in range(20)))
            assert sum(1 for status, _ in again if status == 200) == 9
            async with http.get(sidecars[0].url + "/v1/usage/user/u-hot") as response:
                usage = await response.json()
            assert usage["tokens_used"] + usage["tokens_reserved"] == 100_000  # full, exactly
            assert usage["tokens_used"] == 1_000
    finally:
        for sidecar in sidecars:
            sidecar.stop()

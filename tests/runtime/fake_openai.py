"""A fake OpenAI-compatible provider on loopback (real aiohttp, the real wire format).

``POST /v1/chat/completions`` answers a fixed reply, streamed as server-sent events when
``stream`` is true (a role delta, content deltas, the finish reason, then, when
``stream_options.include_usage`` is set, a final chunk with ``usage``), else as one JSON body.
Usage is what a provider reports: ``prompt_tokens`` from the request's size, a fixed
``completion_tokens``. Every usage reported is kept in :attr:`FakeOpenAI.reported`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

REPLY = ["Refunds ", "are accepted ", "within 30 days."]
COMPLETION_TOKENS = 9


class FakeOpenAI:
    def __init__(self) -> None:
        self.reported: list[dict[str, int]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.completions)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    @property
    def tokens(self) -> int:
        return sum(u["prompt_tokens"] + u["completion_tokens"] for u in self.reported)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body: dict[str, Any] = await request.json()
        prompt = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
        usage = {"prompt_tokens": 20 + prompt // 4, "completion_tokens": COMPLETION_TOKENS}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self.reported.append(usage)
        base = {"id": "chatcmpl-" + uuid.uuid4().hex[:12], "created": int(time.time()),
                "model": "gpt-4o-2024-08-06"}  # fmt: skip
        if not body.get("stream"):
            return web.json_response({
                **base, "object": "chat.completion", "usage": usage,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "".join(REPLY)}}],
            })  # fmt: skip
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def send(choices: list[Any], **extra: Any) -> None:
            chunk = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}}])
        for part in REPLY:
            await send([{"index": 0, "delta": {"content": part}}])
        await send([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

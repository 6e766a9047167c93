"""A fake OpenAI-compatible provider on loopback, stdlib only (it runs in either virtualenv).

``POST /v1/chat/completions`` answers like OpenAI's API, paced so that durations and time to
first token are measurable: the first byte of a stream comes after ``FIRST_CHUNK_S``, each
further chunk ``CHUNK_GAP_S`` later; a non-streaming answer after ``NON_STREAM_S``, an error after
``ERROR_S``. The behaviour is chosen by the request, as a real provider's would be:

- ``stream: true`` streams ``CHUNKS`` content deltas; a final usage chunk follows only when the
  request asks for it (``stream_options.include_usage``), as OpenAI does;
- a request with ``tools`` is answered with one tool call (``finish_reason: tool_calls``), unless
  its last message is a tool result (then with text, so an agent loop ends);
- model ``fail-400`` / ``fail-429`` / ``fail-500`` / ``fail-503`` answers that status with an
  OpenAI error body.

The response model is the requested one plus ``-2024-08-06`` (as OpenAI names snapshots), and
each answer has a fresh ``chatcmpl-N`` id. Usage is ``PROMPT_TOKENS`` in and ``CHUNKS`` (or
``COMPLETION_TOKENS`` when not streaming) out.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FIRST_CHUNK_S = 0.8
CHUNK_GAP_S = 0.02
CHUNKS = 8
NON_STREAM_S = 0.8
ERROR_S = 0.6
PROMPT_TOKENS = 17
COMPLETION_TOKENS = 9
SNAPSHOT = "-2024-08-06"
_ERRORS = {
    "fail-400": (400, "invalid_request_error", "bad request"),
    "fail-429": (429, "rate_limit_exceeded", "rate limited"),
    "fail-500": (500, "server_error", "internal error"),
    "fail-503": (503, "server_error", "overloaded"),
}
_ids = itertools.count(1)


def _usage(completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": completion,
        "total_tokens": PROMPT_TOKENS + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        model = str(request.get("model", "gpt-4o-mini"))
        if model in _ERRORS:
            status, code, message = _ERRORS[model]
            time.sleep(ERROR_S)
            body = json.dumps(
                {"error": {"message": message, "type": code, "code": code, "param": None}}
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        answer_id = f"chatcmpl-{next(_ids)}"
        response_model = model + SNAPSHOT
        messages = request.get("messages") or [{}]
        tool_call = bool(request.get("tools")) and messages[-1].get("role") != "tool"
        if request.get("stream"):
            include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
            self._stream(answer_id, response_model, tool_call, include_usage)
        else:
            self._complete(answer_id, response_model, tool_call)

    def _complete(self, answer_id: str, model: str, tool_call: bool) -> None:
        time.sleep(NON_STREAM_S)
        message: dict[str, Any] = {"role": "assistant", "content": "Hello there, how can I help?"}
        finish = "stop"
        if tool_call:
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_lookup_1",
                        "type": "function",
                        "function": {"name": "lookup_order", "arguments": '{"order_id": "42"}'},
                    }
                ],
            }
            finish = "tool_calls"
        body = json.dumps(
            {
                "id": answer_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                ],
                "usage": _usage(COMPLETION_TOKENS),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, answer_id: str, model: str, tool_call: bool, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        time.sleep(FIRST_CHUNK_S)
        base = {
            "id": answer_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        if tool_call:
            deltas: list[dict[str, Any]] = [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_lookup_1",
                            "type": "function",
                            "function": {"name": "lookup_order", "arguments": ""},
                        }
                    ],
                },
                *(
                    {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
                    for part in ('{"order_id"', ': "42"}')
                ),
            ]
            finish = "tool_calls"
        else:
            deltas = [{"role": "assistant", "content": "Hello"}] + [
                {"content": f" w{i}"} for i in range(1, CHUNKS)
            ]
            finish = "stop"
        for index, delta in enumerate(deltas):
            if index:
                time.sleep(CHUNK_GAP_S)
            self._event(
                {
                    **base,
                    "choices": [
                        {"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}
                    ],
                }
            )
        self._event(
            {
                **base,
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish, "logprobs": None}],
            }
        )
        if include_usage:
            self._event({**base, "choices": [], "usage": _usage(len(deltas))})
        self._write(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> None:
        self._write(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class FakeProvider:
    """The provider on an ephemeral loopback port, in a daemon thread."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

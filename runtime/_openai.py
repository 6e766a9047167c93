"""Instrumenting OpenAI-compatible clients: ``chat.completions.create``, streaming or not.

``wrap_openai(client, sidecar)`` returns a proxy whose ``chat.completions.create`` times the call,
marks TTFT at the first content delta of a stream, reads usage from the response (and asks for
it on streams with ``stream_options.include_usage``; a stream that ends without it is marked
``usage_unknown``), and emits an ``llm_call`` event inside the current run (or a one-call run
when there is none). The event's ``model`` is the model asked for; the one that answered
(``gpt-4o-2024-08-06``) is its ``response_model``. Works with the sync and the async client;
everything else on the client passes through untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol, TypeVar, cast

from runtime._contexts import LlmCallContext, RunContext, current_run

ClientT = TypeVar("ClientT")


class RunFactory(Protocol):
    """What ``wrap_openai`` needs of a sidecar client: :class:`~runtime.SidecarClient` and
    :class:`~runtime.SyncSidecarClient` both are one."""

    def run(self) -> RunContext: ...


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _record_usage(call: LlmCallContext, usage: Any) -> None:
    if usage is None:
        return
    details = _get(usage, "prompt_tokens_details")
    cached = _get(details, "cached_tokens") if details is not None else None
    call.set_usage(
        _get(usage, "prompt_tokens", 0) or 0, _get(usage, "completion_tokens", 0) or 0, cached
    )


def _record_response(call: LlmCallContext, response: Any) -> None:
    _record_usage(call, _get(response, "usage"))
    call.response_model = _get(response, "model") or None
    choices = _get(response, "choices") or []
    if choices:
        message = _get(choices[0], "message")
        call.set_output(_get(message, "content"), _get(choices[0], "finish_reason"))


def _record_chunk(call: LlmCallContext, chunk: Any, parts: list[str]) -> bool:
    """Record one stream chunk; True when it carried the usage."""
    choices = _get(chunk, "choices") or []
    if choices:
        delta = _get(choices[0], "delta")
        content = _get(delta, "content") if delta is not None else None
        call.chunk(content)
        if content:
            parts.append(content)
        reason = _get(choices[0], "finish_reason")
        if reason:
            call.finish_reason = reason
    if _get(chunk, "model"):
        call.response_model = _get(chunk, "model")
    if _get(chunk, "usage") is None:
        return False
    _record_usage(call, _get(chunk, "usage"))
    return True


class _Completions:
    def __init__(
        self, inner: Any, sidecar: RunFactory, provider: str, apply_suggestions: bool
    ) -> None:
        self._inner = inner
        self._sidecar = sidecar
        self._provider = provider
        self._apply = apply_suggestions

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _begin(self, kwargs: dict[str, Any]) -> tuple[LlmCallContext, RunContext | None]:
        run = current_run.get()
        if self._apply and run is not None and "model" in kwargs:
            cheaper = run.suggested_model(kwargs["model"])
            if cheaper:
                kwargs["model"] = cheaper
        own_run = None
        if run is None:
            own_run = run = self._sidecar.run()
            own_run.__enter__()
        stream = bool(kwargs.get("stream"))
        if stream and "stream_options" not in kwargs:
            kwargs["stream_options"] = {"include_usage": True}
        call = run.llm_call(
            kwargs.get("model", "unknown"),
            self._provider,
            stream=stream,
            input=kwargs.get("messages"),
        )
        call.__enter__()
        return call, own_run

    @staticmethod
    def _end(call: LlmCallContext, own_run: RunContext | None, exc: BaseException | None) -> None:
        call.__exit__(type(exc) if exc else None, exc, None)
        if own_run is not None:
            own_run.__exit__(type(exc) if exc else None, exc, None)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        call, own_run = self._begin(kwargs)
        try:
            result = self._inner.create(*args, **kwargs)
        except BaseException as exc:
            self._end(call, own_run, exc)
            raise
        if inspect.isawaitable(result):
            return self._finish_async(result, call, own_run, bool(kwargs.get("stream")))
        if kwargs.get("stream"):
            return _SyncStream(result, call, own_run)
        _record_response(call, result)
        self._end(call, own_run, None)
        return result

    async def _finish_async(
        self, pending: Any, call: LlmCallContext, own_run: RunContext | None, stream: bool
    ) -> Any:
        try:
            result = await pending
        except BaseException as exc:
            self._end(call, own_run, exc)
            raise
        if stream:
            return _AsyncStream(result, call, own_run)
        _record_response(call, result)
        self._end(call, own_run, None)
        return result


class _StreamBase:
    def __init__(self, inner: Any, call: LlmCallContext, own_run: RunContext | None) -> None:
        self._inner = inner
        self._call = call
        self._own_run = own_run
        self._parts: list[str] = []
        self._done = False
        self._usage = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _finish(self, exc: BaseException | None) -> None:
        if self._done:
            return
        self._done = True
        if exc is None and not self._usage:  # the stream ended without a usage chunk
            self._call.usage_unknown = True
        if self._call.output is None and self._parts:
            self._call.output = "".join(self._parts)
        _Completions._end(self._call, self._own_run, exc)


class _SyncStream(_StreamBase):
    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self._inner:
                self._usage |= _record_chunk(self._call, chunk, self._parts)
                yield chunk
        except BaseException as exc:
            self._finish(exc)
            raise
        self._finish(None)

    def __enter__(self) -> _SyncStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._finish(exc[1])


class _AsyncStream(_StreamBase):
    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for chunk in self._inner:
                self._usage |= _record_chunk(self._call, chunk, self._parts)
                yield chunk
        except BaseException as exc:
            self._finish(exc)
            raise
        self._finish(None)

    async def __aenter__(self) -> _AsyncStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._finish(exc[1])


class _Chat:
    def __init__(self, inner: Any, sidecar: RunFactory, provider: str, apply: bool) -> None:
        self._inner = inner
        self.completions = _Completions(inner.completions, sidecar, provider, apply)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Wrapped:
    def __init__(self, inner: Any, sidecar: RunFactory, provider: str, apply: bool) -> None:
        self._inner = inner
        self.chat = _Chat(inner.chat, sidecar, provider, apply)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def wrap_openai(
    client: ClientT,
    sidecar: RunFactory,
    *,
    provider: str = "openai",
    apply_suggestions: bool = False,
) -> ClientT:
    """Return ``client`` with ``chat.completions.create`` instrumented (see module docstring).

    The proxy is typed as the client it wraps, so editors complete its methods as before. With
    ``apply_suggestions=True``, a call inside a run whose last ``admit_llm`` of that model got a
    ``suggested_model`` (a budget's degradation ladder) is made with the cheaper model."""
    return cast(ClientT, _Wrapped(client, sidecar, provider, apply_suggestions))

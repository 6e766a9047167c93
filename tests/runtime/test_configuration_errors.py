"""A sidecar answering 401, 403 or 404 is a configuration error for the SDK, never an outage.

Paths, against a real sidecar with tenant tokens on loopback (and a plain HTTP server answering
404 in text for a URL that is not a sidecar): ``admit_llm``/``admit_tool``, ``cached`` (lookup),
``settle``, events sent in the background (raised by the next ``run()``, ``flush()`` and
``close()``), the ``SyncSidecarClient``; each under fail-open and fail-closed. A sidecar that is
down still fails open (no exception, counted).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from runtime import SidecarClient, SidecarConfigurationError, SidecarUnavailable, SyncSidecarClient
from tests.conftest import free_port
from tests.hardening.tenants import secret, tenant_sidecar


@pytest.fixture
async def not_a_sidecar() -> AsyncIterator[str]:
    """A web server that answers every request with a text 404."""

    async def nope(_: web.Request) -> web.Response:
        return web.Response(status=404, text="nope")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", nope)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture(params=[True, False], ids=["fail_open", "fail_closed"])
async def refused(
    request: pytest.FixtureRequest, tmp_path: Path, not_a_sidecar: str
) -> AsyncIterator[list[tuple[SidecarClient, int]]]:
    """Started clients the sidecar refuses, with the status it answers them."""
    async with tenant_sidecar(tmp_path) as running:
        url = running.url
        cases = [
            (url, "wrong-token-1234", 401),
            (url, None, 401),
            (url, secret("a-reader"), 403),
            (url + "/no/such/prefix", secret("a-agent"), 404),
            (not_a_sidecar, secret("a-agent"), 404),
        ]
        yield [
            (await SidecarClient(u, token=token, fail_open=request.param).start(), status)
            for u, token, status in cases
        ]


async def test_every_call_raises_on_401_403_404(
    refused: list[tuple[SidecarClient, int]],
) -> None:
    for client, status in refused:
        async with client.run() as run:
            with pytest.raises(SidecarConfigurationError) as raised:
                await run.admit_llm("gpt-4o", input_tokens=10)
            assert raised.value.status == status
            with pytest.raises(SidecarConfigurationError):
                await run.admit_tool("search")
        with pytest.raises(SidecarConfigurationError):
            await client.cached("faq", "q", lambda: "computed")
        with pytest.raises(SidecarConfigurationError):
            await client.settle("r-1", input_tokens=1, output_tokens=1)
        with pytest.raises(SidecarConfigurationError) as raised:
            await client.close()
        assert raised.value.status == status and not isinstance(raised.value, SidecarUnavailable)
        assert client.stats.admits_degraded == 0


async def test_events_refused_raise_on_the_next_run_flush_and_close(
    refused: list[tuple[SidecarClient, int]],
) -> None:
    for client, status in refused:
        async with client.run(user_id="u-1") as run:
            async with run.tool_call("search") as tool:
                tool.set_result("ok")
        with pytest.raises(SidecarConfigurationError) as raised:
            await client.flush()
        assert raised.value.status == status, client.base_url
        assert client.stats.rejected == 2 and client.stats.dropped_after_retries == 0
        with pytest.raises(SidecarConfigurationError):
            client.run()
        with pytest.raises(SidecarConfigurationError):
            await client.close()


async def test_the_agents_own_exception_is_not_replaced(tmp_path: Path) -> None:
    async with tenant_sidecar(tmp_path) as running:
        with pytest.raises(KeyError):
            async with SidecarClient(running.url, token="wrong-token-1234") as client:
                client.emit({"type": "run", "request_id": "r", "ts": 1.0, "start_ts": 1.0})
                await client._transport.flush()
                raise KeyError("the agent's")
        assert client.configuration_error is not None


def test_sync_client_raises_too(tmp_path: Path) -> None:
    import asyncio
    import threading

    ready = threading.Event()
    holder: dict[str, object] = {}

    async def serve() -> None:
        async with tenant_sidecar(tmp_path) as running:
            holder["url"] = running.url
            holder["stop"] = stop = asyncio.Event()
            holder["loop"] = asyncio.get_running_loop()
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        client = SyncSidecarClient(str(holder["url"]), token="wrong-token-1234")
        run = client.run()
        with pytest.raises(SidecarConfigurationError) as raised:
            client.admit_llm(run, "gpt-4o", input_tokens=10)
        assert raised.value.status == 401
        with pytest.raises(SidecarConfigurationError):
            client.close()
        assert client.configuration_error is not None
    finally:
        loop = holder["loop"]
        loop.call_soon_threadsafe(holder["stop"].set)  # type: ignore[attr-defined]
        thread.join(10)


async def test_a_sidecar_that_is_down_still_fails_open() -> None:
    async with SidecarClient(f"http://127.0.0.1:{free_port()}", max_retries=0) as client:
        async with client.run() as run:
            grant = await run.admit_llm("gpt-4o", input_tokens=10)
            assert grant.allowed and grant.degraded
        await client.flush()
    assert client.configuration_error is None and client.stats.dropped_after_retries >= 1

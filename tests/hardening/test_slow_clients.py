"""Slowloris: connections that dribble request headers are cut off after
``protection.keepalive_timeout_s``, while a normal client on the same sidecar is served
throughout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from tests.conftest import make_settings, start_sidecar


async def test_slow_header_clients_are_cut_off_and_others_served(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    settings = make_settings(tmp_path, protection={"keepalive_timeout_s": 1.0})
    running, runner = await start_sidecar(settings)
    port = int(running.url.rsplit(":", 1)[1])
    try:
        attackers = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        for _reader, writer in attackers:
            writer.write(b"POST /v1/events HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()

        async def dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
            """Send one header byte every 0.2 s; True once the server has closed on us."""
            for _ in range(100):  # the attack itself is slow on purpose (20 s at most)
                try:
                    writer.write(b"X")
                    await writer.drain()
                except (ConnectionError, OSError):
                    return True
                if reader.at_eof():
                    return True
                try:
                    if await asyncio.wait_for(reader.read(1), timeout=0.2) == b"":
                        return True
                except TimeoutError:
                    continue
            return False

        started = asyncio.get_running_loop().time()
        attack = asyncio.gather(*(dribble(r, w) for r, w in attackers))
        for _ in range(5):  # a well-behaved client keeps getting answers meanwhile
            async with http.get(running.url + "/health") as response:
                assert response.status == 200
        closed = await attack
        assert all(closed), f"{closed.count(False)} slow connections still open"
        assert asyncio.get_running_loop().time() - started < 10  # 1 s limit, generous margin
    finally:
        await runner.cleanup()

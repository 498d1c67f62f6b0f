"""The fault proxy on a local echo server: it passes bytes, cuts connections, refuses new ones."""

import asyncio
import time

import pytest

from deploy.local.ports import free_port
from faults.proxy import Proxy


@pytest.fixture
async def echo():
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
async def proxy(echo):
    proxy = Proxy(free_port(), echo)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def roundtrip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), 5)
    finally:
        writer.close()


async def timed_roundtrip(port: int, payload: bytes) -> float:
    began = time.monotonic()
    assert await roundtrip(port, payload) == payload
    return time.monotonic() - began


async def test_bytes_pass_through_and_a_delay_delays_them(proxy):
    """A delay of N adds at least N to a round trip (each direction waits N: 2N in all). Only a
    lower bound is asserted, against the fastest of three undelayed round trips measured here, so a
    slow machine can make the test slower but never make it fail."""
    baseline = min([await timed_roundtrip(proxy.listen_port, b"hello") for _ in range(3)])
    delay = 0.25
    proxy.delay = delay
    delayed = await timed_roundtrip(proxy.listen_port, b"later")
    assert delayed >= baseline + delay, (
        f"round trip {delayed:.3f}s with a {delay}s delay, {baseline:.3f}s without"
    )
    assert proxy.connections == 4


async def test_a_cut_resets_open_connections_and_refusing_turns_new_ones_away(proxy):
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.listen_port)
    writer.write(b"x")
    await writer.drain()
    assert await reader.readexactly(1) == b"x"
    proxy.refusing = True
    assert proxy.drop_all() == 1
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), 5)
    writer.close()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        await roundtrip(proxy.listen_port, b"y")
    proxy.refusing = False
    assert await roundtrip(proxy.listen_port, b"z") == b"z"

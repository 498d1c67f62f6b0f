"""The fault proxy on a local echo server: it passes bytes, cuts connections, refuses new ones."""

import asyncio

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


async def test_bytes_pass_through_and_with_a_delay(proxy):
    assert await roundtrip(proxy.listen_port, b"hello") == b"hello"
    proxy.delay = 0.05
    assert await roundtrip(proxy.listen_port, b"later") == b"later"
    assert proxy.connections == 2


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

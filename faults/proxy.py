"""A TCP proxy between Kafka clients and the broker, to break the network on purpose.

In-process asyncio, so the fault schedule can switch it at any moment without another tool: pass
bytes through, delay every chunk, or cut every open connection (and refuse new ones for a while),
which is what a flaky network or a restarting load balancer does to a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


class Proxy:
    """Forwards 127.0.0.1:`listen_port` to 127.0.0.1:`target_port`."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port = listen_port
        self.target_port = target_port
        self.delay = 0.0
        self.refusing = False
        self.connections = 0
        self.cut = 0
        self._server: asyncio.Server | None = None
        self._open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()  # client, broker

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.drop_all()
            await self._server.wait_closed()
            self._server = None

    def drop_all(self) -> int:
        """Reset every open connection, both its sides (RST, not FIN: the client sees a broken
        connection); returns how many connections."""
        pairs = list(self._open)
        for pair in pairs:
            for writer in pair:
                with contextlib.suppress(Exception):
                    writer.transport.abort()
        self._open.clear()
        self.cut += len(pairs)
        return len(pairs)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            client_writer.transport.abort()
            return
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        pair = (client_writer, broker_writer)
        self._open.add(pair)
        try:
            await asyncio.gather(
                self._pipe(client_reader, broker_writer), self._pipe(broker_reader, client_writer)
            )
        finally:
            self._open.discard(pair)
            for writer in pair:
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(_CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)  # the fault itself: latency on every chunk
                writer.write(chunk)
                await writer.drain()
        writer.transport.abort()  # one side gone: the other goes too, as a dead link would

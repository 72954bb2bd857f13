"""The MLLP listener: HL7 v2 messages over TCP, one ACK per message on the same connection.

    asyncio.run(serve(receiver, host="127.0.0.1", port=2575))

Framing is python-hl7's MLLP streams (a block is ``0x0B`` message ``0x1C 0x0D``). Each
message is handled in a worker thread (the store is synchronous) and answered only after
`Receiver.handle` returned, i.e. after its transaction committed; messages of one
connection are handled in order. Killing the process loses nothing acknowledged: an ACK is
written only for a committed message, and a message without its ACK is resent by the sender
(and recognised by its MSH-10 if it had been committed after all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from hl7.mllp import InvalidBlockError, start_hl7_server
from hl7.mllp.streams import HL7StreamReader, HL7StreamWriter

from neurocart.interop.hl7.receiver import Receiver

log = logging.getLogger(__name__)
ENCODING = "utf-8"


CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "UNICODE UTF-8": "utf-8",
    "UNICODE": "utf-8",
    "GB 18030-2000": "gb18030",
    "BIG-5": "big5",
    "KS X 1001": "euc-kr",
}
"""HL7 table 0211 (MSH-18 character set) → Python codec, for the sets a site may meet."""


def declared_charset(block: bytes) -> str | None:
    """The codec MSH-18 names, if any (the header is ASCII whatever the body is)."""
    header = block.split(b"\r", 1)[0]
    if not header.startswith(b"MSH") or len(header) < 4:
        return None
    fields = header.split(header[3:4])
    if len(fields) <= 17:
        return None
    name = fields[17].split(b"~")[0].decode("ascii", "replace").strip().upper()
    return CHARSETS.get(name)


def decode(block: bytes, charset: str = ENCODING) -> str:
    """The message text: the character set MSH-18 declares, else `charset` (UTF-8 by
    default; GB18030 for many Chinese LIS), falling back to Latin-1 so a mis-declared byte
    never leaves a message unanswered."""
    for codec in (declared_charset(block), charset):
        if codec is None:
            continue
        try:
            return block.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return block.decode("latin-1")


async def serve(
    receiver: Receiver,
    *,
    host: str = "127.0.0.1",
    port: int = 2575,
    charset: str = ENCODING,
    ready: Callable[[int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Listen until `stop` is set (or forever); `ready(port)` is called once listening."""

    clients: set[asyncio.Task[None]] = set()

    async def on_client(reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            clients.add(task)
            task.add_done_callback(clients.discard)
        try:
            while True:
                try:
                    block = await reader.readblock()
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except (InvalidBlockError, ValueError) as exc:
                    log.warning("hl7: dropped a malformed MLLP block: %s", exc)
                    continue
                text = decode(block, charset)
                ack = await asyncio.to_thread(receiver.handle, text)
                writer.writeblock(ack.encode(charset, "replace"))
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    server = await start_hl7_server(on_client, host, port, encoding=charset)
    bound = server.sockets[0].getsockname()[1]
    if ready is not None:
        ready(bound)
    async with server:
        try:
            if stop is None:
                await server.serve_forever()
            else:
                await stop.wait()
        finally:
            for task in list(clients):  # connections still open: a message in flight is
                task.cancel()  # answered by nobody, so its sender resends it
            await asyncio.gather(*clients, return_exceptions=True)

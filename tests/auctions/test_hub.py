"""The per-process fan-out hub against real Redis: concurrent joins, one frame to every watcher, slow watchers
dropped without holding up the rest."""

import asyncio
import json
import uuid
from types import SimpleNamespace
from typing import Any, cast

import redis
from channels.sessions import InstanceSessionWrapper
from uvicorn.config import Config
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from auctions import broadcast, realtime


def test_watchers_joining_at_once_all_get_every_event_and_a_slow_one_is_dropped(monkeypatch):
    monkeypatch.setattr(realtime, "QUEUE_LIMIT", 3)
    received: dict[int, list[str]] = {}
    closed: list[tuple[int, int]] = []

    async def scenario() -> None:
        hub = realtime.Hub()
        watchers = []
        for i in range(50):
            received[i] = []

            async def send(text: str, i: int = i) -> None:
                if i == 0:
                    await asyncio.sleep(3600)  # a client that never reads
                received[i].append(text)

            async def close(code: int, i: int = i) -> None:
                closed.append((i, code))

            watchers.append(realtime.Watcher(send, close))
        await asyncio.gather(*(hub.join("auction:424242", w) for w in watchers))  # concurrently, as sockets do
        for watcher in watchers:
            watcher.start(since=0)
        for seq in range(1, 6):
            await asyncio.to_thread(broadcast.publish, "auction:424242", {"type": "bid", "seq": seq})
        for _ in range(50):
            if all(len(received[i]) == 5 for i in range(1, 50)):
                break
            await asyncio.sleep(0.1)
        for watcher in watchers:
            await hub.leave("auction:424242", watcher)
            watcher.stop()

    asyncio.run(scenario())
    assert all(received[i] == [f'{{"type":"bid","seq":{s}}}' for s in range(1, 6)] for i in range(1, 50))
    assert closed == [(0, realtime.TOO_SLOW)]


def test_a_room_emptied_and_filled_again_still_gets_events():
    """The reader stops when the last watcher leaves; the next join must start it again (the counter task may
    still be asleep then)."""
    got: list[str] = []

    async def scenario() -> None:
        hub = realtime.Hub()

        async def send(text: str) -> None:
            got.append(text)

        async def close(code: int) -> None:
            return None

        first = realtime.Watcher(send, close)
        await hub.join("auction:434343", first)
        await hub.leave("auction:434343", first)
        await asyncio.sleep(1.2)  # the reader has noticed the empty process and stopped; the counter sleeps on
        second = realtime.Watcher(send, close)
        await hub.join("auction:434343", second)
        second.start(since=0)
        await asyncio.to_thread(broadcast.publish, "auction:434343", {"type": "bid", "seq": 7})
        for _ in range(30):
            if got:
                break
            await asyncio.sleep(0.1)
        await hub.leave("auction:434343", second)
        second.stop()

    asyncio.run(scenario())
    assert got == ['{"type":"bid","seq":7}']


class Transport:
    """What a raw socket's watcher uses of uvicorn's transport; `unsent` bytes stand for a client that stopped
    reading."""

    def __init__(self, unsent: int = 0) -> None:
        self.writes: list[bytes] = []
        self.unsent = unsent

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return self.unsent


def test_events_read_together_leave_a_raw_socket_in_one_write_and_a_stalled_client_is_dropped(settings):
    channel = f"auction:{uuid.uuid4().hex}"
    texts = [json.dumps({"type": "bid", "seq": seq}, separators=(",", ":")) for seq in range(1, 6)]
    reading = SimpleNamespace(transport=Transport(), conn=SimpleNamespace(state=State.OPEN))
    stalled = SimpleNamespace(transport=Transport(unsent=realtime.BUFFER_LIMIT + 1), conn=reading.conn)
    closed: list[tuple[object, int]] = []

    async def scenario() -> None:
        hub = realtime.Hub()
        watchers = []
        for socket in (reading, stalled):

            async def send(text: str) -> None:
                raise AssertionError("a raw socket's broadcast frames skip ASGI")

            async def close(code: int, socket: object = socket) -> None:
                closed.append((socket, code))

            watcher = realtime.Watcher(send, close, cast(Any, socket))
            await hub.join(channel, watcher)
            watcher.start(since=0)
            watchers.append(watcher)
        pipeline = redis.Redis.from_url(settings.REDIS_URL).pipeline(transaction=False)
        for text in texts:  # five events that reach the process together
            pipeline.publish(channel, text)
        await asyncio.to_thread(pipeline.execute)
        for _ in range(30):
            if reading.transport.writes:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)  # nothing else follows
        for watcher in watchers:
            await hub.leave(channel, watcher)
            watcher.stop()

    asyncio.run(scenario())
    frames = b"".join(Frame(Opcode.TEXT, text.encode()).serialize(mask=False) for text in texts)
    assert reading.transport.writes == [frames]
    assert stalled.transport.writes == []
    assert closed == [(stalled, realtime.TOO_SLOW)]


def test_the_raw_socket_is_found_behind_channels_session_wrapper_and_only_under_uvicorn_sansio():
    async def other_server_send(message: dict[str, Any]) -> None:
        return None

    async def scenario() -> None:
        config = Config(app="marketplace.asgi:application", ws="websockets-sansio")
        protocol = WebSocketsSansIOProtocol(config=config, server_state=ServerState(), app_state={})
        wrapped = InstanceSessionWrapper(
            {"type": "websocket", "cookies": {}}, protocol.send
        )  # as AuthMiddlewareStack hands it on
        assert realtime.raw_socket(wrapped.send) is protocol
        assert realtime.raw_socket(protocol.send) is protocol
        assert realtime.raw_socket(other_server_send) is None

    asyncio.run(scenario())

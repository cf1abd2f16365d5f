"""The per-process fan-out hub against real Redis: concurrent joins, one frame to every watcher, slow watchers
dropped without holding up the rest."""

import asyncio

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

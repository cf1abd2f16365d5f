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

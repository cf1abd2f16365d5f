"""The real-time path on real servers: snapshot, events in `seq` order, bids and resync over the socket, personal
outbid notices, and two ASGI processes sharing Redis."""

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils import timezone
from websockets.typing import Origin

from accounts.services import api_token_create
from auctions import services
from auctions.models import Auction, AuctionEvent, Bid
from tests import aio, processes

pytestmark = pytest.mark.django_db(transaction=True)


def ws_url(base: str, auction_id: int) -> str:
    return base.replace("http://", "ws://") + f"/ws/auctions/{auction_id}/"


async def receive(ws: Any, timeout: float = 10, *, counts: bool = False) -> dict[str, Any]:
    """The next message; the informational watcher counts (no `seq`) are skipped unless asked for."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if counts or message["type"] != "watchers":
            return message


async def until(ws: Any, kind: str) -> dict[str, Any]:
    while (message := await receive(ws, counts=kind == "watchers"))["type"] != kind:
        pass
    return message


def test_watch_bid_over_the_socket_outbid_notice_and_resync(live_server_url, market):
    auction = market.auction()
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    alice_key, bob_key = (api_token_create(user=u, name="ws")[1] for u in (alice, bob))
    staff = market.make_user("mod@marketplace.example.com", is_staff=True)
    connections.close_all()

    async def scenario() -> None:
        url, origin = ws_url(live_server_url, auction.pk), Origin(live_server_url)
        async with (
            websockets.connect(url, origin=origin) as anonymous,
            websockets.connect(url, additional_headers={"Authorization": f"Token {alice_key}"}) as alice_ws,
        ):
            snapshot = await receive(anonymous)
            assert snapshot["type"] == "snapshot" and snapshot["auction"]["min_next_bid"] == "10000.00"
            assert (await receive(alice_ws))["auction"]["deposit_status"] == "held"
            await anonymous.send(json.dumps({"type": "bid", "amount": "10000.00", "request_id": "a0"}))
            refused = await until(anonymous, "bid.rejected")
            assert (refused["code"], refused["request_id"]) == ("login_required", "a0")
            await alice_ws.send(json.dumps({"type": "bid", "amount": "10000.00", "request_id": "r-1"}))
            accepted = await until(alice_ws, "bid.accepted")
            assert accepted["request_id"] == "r-1"
            event = await until(anonymous, "bid")  # after `opened`, unless the worker opened it before we came
            assert (
                event["seq"]
                == accepted["seq"]
                == snapshot["seq"] + (1 if snapshot["auction"]["status"] == "live" else 2)
            )
            assert (event["amount"], event["bidder"], event["min_next_bid"]) == ("10000.00", "Bidder 1", "10100.00")
            await alice_ws.send(json.dumps({"type": "bid", "amount": "20000.00", "request_id": "r-2"}))
            low = await until(alice_ws, "bid.rejected")
            assert low["code"] == "already_leading"
            async with httpx.AsyncClient(base_url=live_server_url) as http:
                response = await http.post(
                    f"/api/v1/auctions/{auction.pk}/bids/",
                    json={"amount": "10500.00"},
                    headers={"Authorization": f"Token {bob_key}"},
                )
                assert response.status_code == 201, response.text
            outbid = await until(alice_ws, "outbid")
            assert outbid == {"type": "outbid", "auction": auction.pk, "current_price": "10500.00"}
            second = await until(anonymous, "bid")
            assert (second["seq"], second["amount"], second["bidder"]) == (event["seq"] + 1, "10500.00", "Bidder 2")
            await anonymous.send(json.dumps({"type": "resync", "since_seq": event["seq"] - 1}))
            replay = [await receive(anonymous), await receive(anonymous), await receive(anonymous)]
            assert [m["type"] for m in replay] == ["bid", "bid", "resync.done"]
            assert [m["seq"] for m in replay] == [event["seq"], second["seq"], second["seq"]]
            assert (await until(anonymous, "watchers"))["count"] == 2  # both sockets, counted across processes
            voided = await sync_to_async(Bid.objects.get)(auction=auction, seq=second["seq"])
            await sync_to_async(services.bid_void)(bid=voided, actor=staff, reason="shill bidding")
            # The worker thread's connection, which would keep the test's teardown from dropping the database.
            await sync_to_async(connections.close_all)()
            async with websockets.connect(url, origin=origin) as late:
                recent = (await receive(late))["bids"]
            async with httpx.AsyncClient(base_url=live_server_url) as http:
                ledger = (await http.get(f"/api/v1/auctions/{auction.pk}/bids/")).json()["results"]
            assert recent == ledger and [entry["voided"] for entry in recent] == [False, True]

    aio.run(scenario())


@pytest.mark.slow
def test_two_servers_deliver_every_event_of_a_500_bid_auction_in_order(live_server_url, market, settings):
    settings.BID_RATE_LIMIT = 10_000
    auction = market.auction(starting_price="1000.00", increment="10.00")
    buyers = [market.buyer(f"b{i}", deposit_on=auction) for i in range(2)]
    services.auction_open(auction_id=auction.pk)  # `opened` is event 1 (unless the worker was first); bids 2..501
    connections.close_all()
    with processes.asgi_server() as second_url:

        async def watch(base: str, stop_after: int | None = None) -> tuple[list[int], dict[str, Any]]:
            """Collect seqs until the 500th bid; `stop_after` drops the socket midway and reconnects with resync."""
            seqs: list[int] = []
            async with websockets.connect(ws_url(base, auction.pk), origin=Origin(base)) as ws:
                last = (await receive(ws))["seq"]
                while last < 501:
                    event = await receive(ws, timeout=60)
                    assert event["seq"] == last + 1, f"gap after {last}: {event}"
                    seqs.append(last := event["seq"])
                    if stop_after is not None and last == stop_after:
                        break
            if stop_after is None:
                return seqs, {}
            async with websockets.connect(ws_url(base, auction.pk), origin=Origin(base)) as ws:
                snapshot = await receive(ws)
                await ws.send(json.dumps({"type": "resync", "since_seq": last}))
                resyncing = True
                while last < 501:  # as the browser does: in order only; a jump asks for what is missing
                    event = await receive(ws, timeout=60)
                    if event["type"] == "resync.done":
                        resyncing = False
                    elif event["seq"] == last + 1:
                        seqs.append(last := event["seq"])
                    elif event["seq"] > last + 1 and not resyncing:  # live frames can overtake a replay
                        await ws.send(json.dumps({"type": "resync", "since_seq": last}))
                        resyncing = True
                return seqs, snapshot

        async def scenario() -> list[tuple[list[int], dict[str, Any]]]:
            watchers = [
                asyncio.create_task(watch(live_server_url)),
                asyncio.create_task(watch(second_url)),
                asyncio.create_task(watch(second_url, stop_after=200)),
            ]
            await asyncio.sleep(1)  # all three subscribed before the first bid

            def bid_500() -> None:
                amount = 1000
                for i in range(500):
                    services.bid_place(user=buyers[i % 2], auction_id=auction.pk, amount=f"{amount}.00")
                    amount += 10
                connections.close_all()

            await asyncio.to_thread(bid_500)
            return list(await asyncio.gather(*watchers))

        results = aio.run(scenario())
    expected = list(range(2, 502))
    assert AuctionEvent.objects.filter(auction=auction).count() == 501
    for seqs, _snapshot in results:
        assert seqs == expected


@pytest.mark.slow
def test_a_redis_outage_loses_no_bid_and_clients_converge(market):
    """The server gets a Redis of its own, which the test stops for 10 s in the middle of the auction."""
    auction = market.auction(starting_price="1000.00", increment="10.00")
    bidders = [market.buyer(f"b{i}", deposit_on=auction) for i in range(2)]
    keys = [api_token_create(user=b, name="http")[1] for b in bidders]
    services.auction_open(auction_id=auction.pk)
    connections.close_all()
    port = processes.free_port()
    redis_url = f"redis://127.0.0.1:{port}/0"
    state: dict[str, Any] = {"seq": 0, "price": None, "closes": 0, "running": True}

    async def client(base: str) -> None:
        """What the page's script does: apply events in order, reconnect with backoff, resync from `seq`."""
        while state["running"]:
            try:
                async with websockets.connect(ws_url(base, auction.pk), origin=Origin(base)) as ws:
                    snapshot = await receive(ws)
                    state["price"] = (
                        state["price"] if snapshot["seq"] <= state["seq"] else snapshot["auction"]["current_price"]
                    )
                    await ws.send(json.dumps({"type": "resync", "since_seq": state["seq"]}))
                    while state["running"]:
                        try:
                            event = await receive(ws, timeout=0.5)
                        except TimeoutError:
                            continue
                        if event.get("seq") == state["seq"] + 1 and event["type"] in ("bid", "opened"):
                            state["seq"] = event["seq"]
                            state["price"] = event.get("current_price", state["price"])
            except (websockets.ConnectionClosed, OSError):
                state["closes"] += 1
                await asyncio.sleep(0.5)

    def bid(http: httpx.Client, index: int, amount: int) -> int:
        response = http.post(
            f"/api/v1/auctions/{auction.pk}/bids/",
            json={"amount": f"{amount}.00"},
            headers={"Authorization": f"Token {keys[index % 2]}"},
        )
        return response.status_code

    with processes.redis_server(port) as first_redis, processes.asgi_server(TEST_REDIS_URL=redis_url) as base:

        async def scenario() -> None:
            watcher = asyncio.create_task(client(base))
            with httpx.Client(base_url=base, timeout=10) as http:
                await asyncio.sleep(1)
                assert [await asyncio.to_thread(bid, http, i, 1000 + 10 * i) for i in range(3)] == [201] * 3
                processes.stop(first_redis)  # Redis is gone
                during = [await asyncio.to_thread(bid, http, i, 1000 + 10 * i) for i in range(3, 8)]
                assert during == [201] * 5, "bids must be accepted while Redis is down"
                await asyncio.sleep(10)
                with processes.redis_server(port):
                    assert await asyncio.to_thread(bid, http, 8, 1080) == 201
                    for _ in range(100):
                        if state["seq"] == 10:
                            break
                        await asyncio.sleep(0.2)
                    state["running"] = False
                    await watcher

        aio.run(scenario())
    assert state["closes"] >= 1, "the client should have seen the connection drop"
    assert (state["seq"], state["price"]) == (10, "1080.00")  # opened + 9 bids, nothing lost
    assert list(AuctionEvent.objects.filter(auction=auction).values_list("seq", flat=True)) == list(range(1, 11))


def test_bad_input_costs_only_the_sender_its_socket(live_server_url, market):
    auction = market.auction()
    bidder = market.buyer("bidder", deposit_on=auction)
    connections.close_all()

    def bid(amount: str) -> None:
        try:
            services.bid_place(user=bidder, auction_id=auction.pk, amount=amount)
        finally:
            connections.close_all()  # this thread's connection

    async def closed_with(ws: Any) -> int | None:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        return closed.value.rcvd.code if closed.value.rcvd else None

    async def scenario() -> None:
        url, origin = ws_url(live_server_url, auction.pk), Origin(live_server_url)
        async with websockets.connect(url, origin=origin) as bystander, websockets.connect(url, origin=origin) as bad:
            await receive(bystander), await receive(bad)
            await bad.send("not json")
            assert (await receive(bad))["code"] == "invalid"
            await bad.send(json.dumps({"type": "shout"}))
            assert (await receive(bad))["code"] == "unknown_type"
            await bad.send(json.dumps({"type": "resync", "since_seq": "x"}))
            assert (await receive(bad))["code"] == "invalid"
            await bad.send("x" * 1_000_000)
            assert await closed_with(bad) == 1009  # message too big
        async with websockets.connect(url, origin=origin) as bystander, websockets.connect(url, origin=origin) as flood:
            await receive(bystander), await receive(flood)
            for _ in range(200):  # 200 messages at once
                await flood.send(json.dumps({"type": "resync", "since_seq": 0}))
            assert await closed_with(flood) == 1008  # policy violation, after a rate_limited error
            await asyncio.to_thread(bid, "10000.00")
            event = await until(bystander, "bid")  # the others never noticed
            assert event["amount"] == "10000.00"
        async with websockets.connect(url, origin=origin) as later:
            assert (await receive(later))["auction"]["bid_count"] == 1  # and the server still serves

    aio.run(scenario())


def test_a_late_bid_extends_and_the_close_reaches_every_watcher(live_server_url, market):
    """`extended` and `closed` frames over a real socket, each with the next `seq`."""
    auction = market.auction(reserve_price="10000.00")
    alice = market.buyer("alice", deposit_on=auction)
    services.auction_open(auction_id=auction.pk)
    closes_at = timezone.now() + timedelta(seconds=30)  # inside the 5-minute soft-close window
    Auction.objects.filter(pk=auction.pk).update(closes_at=closes_at, ends_at=closes_at)
    connections.close_all()

    async def scenario() -> None:
        async with websockets.connect(ws_url(live_server_url, auction.pk), origin=Origin(live_server_url)) as ws:
            seq = (await receive(ws))["seq"]
            await sync_to_async(services.bid_place)(user=alice, auction_id=auction.pk, amount="10000.00")
            bid, extended = await until(ws, "bid"), await until(ws, "extended")
            assert (bid["seq"], extended["seq"]) == (seq + 1, seq + 2)
            assert datetime.fromisoformat(extended["closes_at"]) > closes_at + timedelta(minutes=4)
            now = timezone.now()
            await sync_to_async(Auction.objects.filter(pk=auction.pk).update)(closes_at=now, ends_at=now)
            assert await sync_to_async(services.auction_close)(auction_id=auction.pk)
            closed = await until(ws, "closed")
            assert closed == {"type": "closed", "seq": seq + 3, "result": "sold", "final_price": "10000.00"}

    try:
        aio.run(scenario())
    finally:
        aio.run(sync_to_async(connections.close_all)())  # the worker thread's connection

"""Closing moves the money on (local) Stripe exactly once: the winner's hold captured, every other hold cancelled;
the balance paid by card or bank transfer releases the debtor file; the seller is paid out once."""

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from celery.exceptions import Retry
from django.db.models import Sum

from auctions import services as auction_services
from auctions.models import Auction
from payments import ledger, services, tasks
from payments.models import Deposit, LedgerEntry, PayoutAccount, Settlement
from portfolios.models import PiiRelease
from tests.payments.conftest import close_now

pytestmark = pytest.mark.django_db


def intent_status(stripe_api, deposit):
    return stripe_api.v1.payment_intents.retrieve(Deposit.objects.get(pk=deposit.pk).payment_intent).status


def test_closing_captures_the_winners_hold_and_cancels_the_others(sold, stripe_api, django_capture_on_commit_callbacks):
    auction, (_alice, _bob, _carol), (d_alice, d_bob, d_carol) = sold
    close_now(auction, django_capture_on_commit_callbacks)

    assert [intent_status(stripe_api, d) for d in (d_alice, d_bob, d_carol)] == ["canceled", "succeeded", "canceled"]
    statuses = dict(Deposit.objects.values_list("user__email", "status"))
    assert statuses == {
        "alice@buyers.example.com": "released",
        "bob@buyers.example.com": "applied",
        "carol@buyers.example.com": "released",
    }
    assert not Deposit.objects.filter(stripe_done_at__isnull=True).exists()
    settlement = Settlement.objects.get()
    assert (settlement.deposit_applied, settlement.balance_due) == (Decimal("1000.00"), Decimal("11240.00"))
    services.settlement_open(auction_id=auction.pk)  # localstripe refuses a second capture or cancel: none is sent
    assert Settlement.objects.count() == 1


def test_a_crash_before_stripe_answers_is_finished_by_the_retry(
    sold, stripe_api, settings, django_capture_on_commit_callbacks
):
    auction, _buyers, (d_alice, d_bob, d_carol) = sold
    reachable = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE, settings.STRIPE_MAX_RETRIES = "http://127.0.0.1:9", 0  # Stripe unreachable
    with pytest.raises(Retry, match="APIConnectionError"):  # the task will run again
        close_now(auction, django_capture_on_commit_callbacks)
    assert Settlement.objects.exists()  # our decisions are committed ...
    assert [intent_status(stripe_api, d) for d in (d_alice, d_bob)] == ["requires_capture"] * 2  # ... Stripe not yet

    # Between the capture and recording it: Stripe captured, our row does not know.
    stripe_api.v1.payment_intents.capture(Deposit.objects.get(pk=d_bob.pk).payment_intent)
    settings.STRIPE_API_BASE = reachable
    services.settlement_open(auction_id=auction.pk)  # the task's retry
    assert [intent_status(stripe_api, d) for d in (d_alice, d_bob, d_carol)] == ["canceled", "succeeded", "canceled"]
    assert not Deposit.objects.filter(stripe_done_at__isnull=True).exists()


def test_cancelling_the_auction_cancels_every_hold(market, stripe_api, make_user, django_capture_on_commit_callbacks):
    auction = market.auction()
    deposit = services.deposit_hold(user=market.buyer("ivan"), auction_id=auction.pk, payment_method="pm_card_visa")
    with django_capture_on_commit_callbacks(execute=True):
        staff = make_user("staff@example.com", is_staff=True)
        auction_services.auction_cancel(auction=auction, actor=staff, reason="withdrawn")
    assert intent_status(stripe_api, deposit) == "canceled"
    assert Deposit.objects.get().status == "released"


def test_the_winner_pays_the_balance_by_card_and_receives_the_debtor_file(
    sold, client, stripe_api, django_capture_on_commit_callbacks
):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/settlements/{settlement.pk}/pay/",
            {"payment_method": "pm_card_visa"},
            content_type="application/json",
        )
    assert response.status_code == 200 and response.json()["status"] == "paid"
    settlement.refresh_from_db()
    intent = stripe_api.v1.payment_intents.retrieve(settlement.payment_intent)
    assert (intent.status, intent.amount) == ("succeeded", 1124000)
    assert PiiRelease.objects.get(portfolio=auction.portfolio).buyer == bob
    assert settlement.status == "paid"  # no connected account: the payout waits for staff
    mine = client.get("/api/v1/me/settlements/").json()["results"]
    assert [(row["auction"], row["status"], row["balance_due"]) for row in mine] == [(auction.pk, "paid", "11240.00")]


def test_only_the_winner_may_pay(sold, client, django_capture_on_commit_callbacks):
    auction, (alice, _bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    client.force_login(alice)
    settlement = Settlement.objects.get()
    response = client.post(f"/api/v1/settlements/{settlement.pk}/pay/", {}, content_type="application/json")
    assert response.status_code == 404 and not Settlement.objects.get().payment_intent


def test_staff_mark_a_bank_transfer_and_confirm_the_payout(sold, make_user, django_capture_on_commit_callbacks):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    staff = make_user("staff@example.com", is_staff=True)
    settlement = Settlement.objects.get()
    with pytest.raises(services.PaymentError, match="reference"):
        services.settlement_mark_paid(settlement_id=settlement.pk, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        services.settlement_mark_paid(settlement_id=settlement.pk, bank_reference="ICBC-2026-1123-77", actor=staff)
    assert PiiRelease.objects.get(portfolio=auction.portfolio).buyer == bob
    assert Auction.objects.get(pk=auction.pk).status == "settled"  # the engine hears it
    paid_out = services.settlement_payout_confirm(settlement_id=settlement.pk, reference="OUT-1", actor=staff)
    assert (paid_out.status, paid_out.payout_reference, paid_out.bank_reference) == (
        "paid_out",
        "OUT-1",
        "ICBC-2026-1123-77",
    )


class ConnectStandIn(BaseHTTPRequestHandler):
    """Stripe's POST /v1/transfers, which localstripe lacks: records each request, answers like Stripe (or fails the
    first `failures` requests with a 500, as Stripe does when it is in trouble)."""

    requests: list[dict] = []
    failures = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.requests.append({"path": self.path, "headers": dict(self.headers), "form": parse_qs(body)})
        if len(self.requests) <= self.failures:
            error = json.dumps({"error": {"type": "api_error", "message": "try again"}}).encode()
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        answer = json.dumps({"id": "tr_1StandIn", "object": "transfer", "amount": 1, "currency": "cny"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def connect_stand_in():
    ConnectStandIn.requests, ConnectStandIn.failures = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), ConnectStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", ConnectStandIn.requests
    server.shutdown()
    server.server_close()


def test_a_connected_seller_is_paid_by_one_transfer(
    sold, market, settings, connect_stand_in, django_capture_on_commit_callbacks
):
    auction, _buyers, _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    PayoutAccount.objects.create(organization=market.seller, stripe_account="acct_1JadeRiver")
    settlement = Settlement.objects.get()
    services.settlement_mark_paid(settlement_id=settlement.pk, bank_reference="HSBC-1", actor=market.trader)

    settings.STRIPE_API_BASE, requests = connect_stand_in
    services.settlement_payout(settlement_id=settlement.pk)
    services.settlement_payout(settlement_id=settlement.pk)  # again: nothing more is sent

    assert len(requests) == 1
    sent = requests[0]
    assert sent["path"] == "/v1/transfers"
    assert sent["form"] == {
        "amount": ["1164000"],  # 12,000 less 3 % commission, in fen
        "currency": ["cny"],
        "destination": ["acct_1JadeRiver"],
        "transfer_group": [f"settlement-{settlement.pk}"],
        "metadata[settlement]": [str(settlement.pk)],
        "metadata[auction]": [str(auction.pk)],
        "metadata[kind]": ["payout"],
    }
    assert sent["headers"]["Idempotency-Key"] == f"settlement-{settlement.pk}-payout"
    assert sent["headers"]["Authorization"] == f"Bearer {settings.STRIPE_SECRET_KEY}"
    settlement.refresh_from_db()
    assert (settlement.status, settlement.payout_transfer) == ("paid_out", "tr_1StandIn")


def test_staff_record_the_bank_transfer_in_admin(sold, client, make_user, django_capture_on_commit_callbacks):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    client.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    action = {"action": "mark_bank_transfer_received_(reference)", "_selected_action": [settlement.pk], "apply": "1"}

    missing = client.post("/admin/payments/settlement/", {**action, "reason": ""})
    assert missing.status_code == 200 and Settlement.objects.get().status == "awaiting_payment"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/admin/payments/settlement/", {**action, "reason": "CMB-20261123-0042"})
    assert done.status_code == 302
    settlement.refresh_from_db()
    assert (settlement.status, settlement.bank_reference) == ("paid", "CMB-20261123-0042")
    assert PiiRelease.objects.get(portfolio=auction.portfolio).buyer == bob


def test_the_ledger_balances_and_posts_each_movement_once(
    sold, market, settings, connect_stand_in, django_capture_on_commit_callbacks
):
    auction, (_alice, bob, _carol), _deposits = sold
    assert ledger.balance(account="holds:authorized", currency="CNY") == Decimal("3000.00")
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method="pm_card_visa")
    PayoutAccount.objects.create(organization=market.seller, stripe_account="acct_1JadeRiver")
    stripe_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE, _requests = connect_stand_in
    services.settlement_payout(settlement_id=settlement.pk)
    settings.STRIPE_API_BASE = stripe_base
    services.settlement_open(auction_id=auction.pk)  # replays post nothing twice
    services.settlement_mark_paid(settlement_id=settlement.pk)

    for key, total in LedgerEntry.objects.values_list("transaction").annotate(total=Sum("amount")):
        assert total == 0, key
    kinds = list(LedgerEntry.objects.order_by("pk").values_list("kind", flat=True).distinct())
    assert sorted(set(kinds)) == ["capture", "hold", "payment", "payout", "release", "sale"]
    assert LedgerEntry.objects.filter(kind="capture").count() == 2  # one transaction of two legs
    balances = {
        account: ledger.balance(account=account, currency="CNY")
        for account in ("holds:authorized", f"buyer:{bob.pk}", f"seller:{market.seller.pk}", "cash")
    }
    assert balances == {
        "holds:authorized": 0,  # every hold either released or captured
        f"buyer:{bob.pk}": 0,  # owed hammer + premium, paid deposit + balance
        f"seller:{market.seller.pk}": 0,  # paid out
        "cash": Decimal("600.00"),  # 240 premium + 360 commission stay with the platform
    }
    assert ledger.balance(account="revenue:premium", currency="CNY") == Decimal("-240.00")
    assert settlement.ledger_entries.aggregate(total=Sum("amount"))["total"] == 0


def test_the_seller_sees_the_sale_and_the_buyer_the_documents(sold, client, django_capture_on_commit_callbacks, market):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    client.force_login(bob)
    assert client.get("/api/v1/me/settlements/").json()["results"][0]["documents"] is None  # not paid yet
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method="pm_card_visa")
    documents = client.get("/api/v1/me/settlements/").json()["results"][0]["documents"]
    assert documents["bill_of_sale"] == f"/payments/settlements/{settlement.pk}/bill-of-sale.pdf"
    assert client.get("/api/v1/me/sales/").json()["results"] == []  # a buyer sells nothing

    client.force_login(market.trader)
    sales = client.get("/api/v1/me/sales/").json()["results"]
    assert [(s["auction"], s["status"], s["payout_amount"], s["seller_commission"]) for s in sales] == [
        (auction.pk, "paid", "11640.00", "360.00")
    ]


def test_a_failed_payout_is_retried_with_the_same_idempotency_key_and_recorded_once(
    sold, market, settings, connect_stand_in, django_capture_on_commit_callbacks
):
    auction, _buyers, _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    PayoutAccount.objects.create(organization=market.seller, stripe_account="acct_1JadeRiver")
    settlement = Settlement.objects.get()
    services.settlement_mark_paid(settlement_id=settlement.pk, bank_reference="HSBC-1", actor=market.trader)
    settings.STRIPE_API_BASE, requests = connect_stand_in
    settings.STRIPE_MAX_RETRIES = 0
    ConnectStandIn.failures = 1
    with pytest.raises(Retry):
        tasks.settlement_payout.delay(settlement.pk)
    assert Settlement.objects.get().status == "paid"
    tasks.settlement_payout.delay(settlement.pk)  # the retry
    keys = [request["headers"]["Idempotency-Key"] for request in requests]
    assert keys == [f"settlement-{settlement.pk}-payout"] * 2  # Stripe would replay, never pay twice
    assert Settlement.objects.get().status == "paid_out"
    assert LedgerEntry.objects.filter(kind="payout").values("transaction").distinct().count() == 1


def test_a_hold_authorized_while_the_auction_closes_is_cancelled(
    market, stripe_api, monkeypatch, django_capture_on_commit_callbacks
):
    """The close releases a deposit whose PaymentIntent is still being created; the hold must not stay on the card."""
    from payments.services import deposits as deposit_services

    auction = market.auction()
    real_client = deposit_services.stripe_client.client

    def client_after_the_close():  # the auction ends between our row and Stripe's answer
        monkeypatch.setattr(deposit_services.stripe_client, "client", real_client)
        close_now(auction, django_capture_on_commit_callbacks)
        return real_client()

    monkeypatch.setattr(deposit_services.stripe_client, "client", client_after_the_close)
    deposit = services.deposit_hold(user=market.buyer("late"), auction_id=auction.pk, payment_method="pm_card_visa")
    assert deposit.status == "released"
    assert stripe_api.v1.payment_intents.retrieve(Deposit.objects.get().payment_intent).status == "canceled"

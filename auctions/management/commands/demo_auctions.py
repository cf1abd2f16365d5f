"""Create the demo market on top of `demo_data`'s people: approved portfolios and live auctions with deposits and
bids. Safe to run again: lots are found by title, and an ended demo auction is replaced by a fresh one."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from auctions import services
from auctions.models import Auction
from payments.models import Deposit
from portfolios import services as portfolio_services
from portfolios.models import Portfolio

JADE = "Jade River Asset Management Co., Ltd."
LAKESIDE = "Hangzhou Lakeside City Commercial Bank"
# title, seller, debt type, regions, format, starting price, reserve, hours to the end
LOTS = [
    ("Zhejiang SME loans 2026-Q3", JADE, "sme", ["Zhejiang"], "english", "2400000.00", "3000000.00", 50),
    (
        "Hangzhou credit-card receivables",
        LAKESIDE,
        "consumer_unsecured",
        ["Zhejiang"],
        "english",
        "800000.00",
        "",
        0.25,
    ),
    (
        "Guangdong judgment-confirmed corporate claims",
        JADE,
        "judgment_confirmed",
        ["Guangdong"],
        "sealed",
        "5000000.00",
        "",
        72,
    ),
    ("Ningbo micro-business loans (small lot)", LAKESIDE, "sme", ["Zhejiang"], "english", "50000.00", "", 26),
]


class Command(BaseCommand):
    help = __doc__

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        admin = User.objects.get(email="admin@example.com")
        fund = User.objects.get(email="buyer@pearl-bay.example.com")
        retail = User.objects.get(email="li.wei@example.com")
        live = 0
        for title, seller_name, debt_type, regions, auction_format, start, reserve, hours in LOTS:
            seller = Organization.objects.get(name=seller_name)
            trader = seller.memberships.get(role="owner").user
            portfolio = Portfolio.objects.filter(title=title).first() or self._approved(
                title, seller, trader, debt_type, regions, admin
            )
            auction = portfolio.auctions.filter(status__in=Auction.OPEN).first()
            if auction is None and portfolio.status in (Portfolio.Status.APPROVED, Portfolio.Status.UNSOLD):
                now = timezone.now()
                data = {
                    "format": auction_format,
                    "starts_at": now,
                    "ends_at": now + timedelta(hours=hours),
                    "starting_price": start,
                    "reserve_price": reserve or None,
                }
                if portfolio.status == Portfolio.Status.UNSOLD:
                    last = portfolio.auctions.latest("round")
                    auction = services.auction_relist(user=trader, auction=last, data=data)
                else:
                    auction = services.auction_create(user=trader, portfolio=portfolio, data=data)
                services.auction_open(auction_id=auction.pk)
                self._deposits_and_bids(auction, fund, retail)
            live += auction is not None
        self.stdout.write(f"Demo auctions ready: {live} open.")

    def _approved(
        self, title: str, seller: Organization, trader: User, debt_type: str, regions: list[str], admin: User
    ) -> Portfolio:
        data = {
            "title": title,
            "description": "Demo portfolio: loans originated 2019-2023, defaulted 2024-2025; servicing files kept.",
            "debt_type": debt_type,
            "cutoff_date": timezone.localdate() - timedelta(days=30),
            "regions": regions,
        }
        portfolio = portfolio_services.portfolio_create(user=trader, seller=seller, data=data)
        portfolio_services.portfolio_submit(user=trader, portfolio=portfolio)
        return portfolio_services.portfolio_review(portfolio=portfolio, reviewer=admin, approve=True)

    def _deposits_and_bids(self, auction: Auction, fund: User, retail: User) -> None:
        small = auction.starting_price <= Decimal("100000")
        for buyer in (fund, retail) if small else (fund,):
            Deposit.objects.create(
                auction=auction, user=buyer, amount=auction.deposit_amount, currency=auction.currency, status="held"
            )
        if auction.is_sealed:
            return
        if small:
            services.bid_place(user=retail, auction_id=auction.pk, amount=f"{auction.starting_price:.2f}")
            services.proxy_bid_set(user=fund, auction_id=auction.pk, max_amount=f"{auction.starting_price * 2:.2f}")
        else:
            services.bid_place(user=fund, auction_id=auction.pk, amount=f"{auction.starting_price:.2f}")

"""Factories for the market: a seller with approved portfolios, auctions, and buyers in any verification state."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import (
    InvestorClassification,
    KycSubmission,
    Membership,
    Organization,
    ReviewStatus,
    RiskAcknowledgement,
    RiskWarning,
    SuitabilityAssessment,
    User,
)
from auctions import services
from auctions.models import Auction
from payments.models import Deposit
from portfolios.models import Portfolio


class Market:
    """Builds the world a test needs through the same models and services the site uses."""

    def __init__(self, make_user: Any, warning: RiskWarning, seller_name: str = "Jade River AMC") -> None:
        self.make_user = make_user
        self.warning = warning
        self.seller = Organization.objects.create(name=seller_name, kind=Organization.Kind.ASSET_MANAGEMENT_COMPANY)
        self.trader = make_user("trader@jade.example.com")
        Membership.objects.create(user=self.trader, organization=self.seller, role=Membership.Role.TRADER)
        self.count = 0

    def portfolio(self, **fields: Any) -> Portfolio:
        self.count += 1
        values = {
            "seller": self.seller,
            "created_by": self.trader,
            "title": f"Zhejiang SME loans #{self.count}",
            "debt_type": Portfolio.DebtType.SME,
            "cutoff_date": date(2026, 9, 30),
            "status": Portfolio.Status.APPROVED,
            **fields,
        }
        return Portfolio.objects.create(**values)

    def auction(self, portfolio: Portfolio | None = None, **data: Any) -> Auction:
        now = timezone.now()
        values = {
            "starts_at": now - timedelta(seconds=1),
            "ends_at": now + timedelta(hours=1),
            "starting_price": "10000.00",
            "increment": "100.00",
            **data,
        }
        return services.auction_create(user=self.trader, portfolio=portfolio or self.portfolio(), data=values)

    def buyer(
        self,
        name: str,
        *,
        investor: str = "professional",
        kyc: str | None = ReviewStatus.APPROVED,
        suitability: str = "complete",
        net_worth: str = "5000000.00",
        deposit_on: Auction | None = None,
    ) -> User:
        user = self.make_user(f"{name}@buyers.example.com")
        now = timezone.now()
        if kyc is not None:
            KycSubmission.objects.create(
                user=user,
                kind=KycSubmission.Kind.INDIVIDUAL,
                legal_name=name.title(),
                country="CN",
                document="kyc/none.pdf",
                status=kyc,
                rejection_reason="blurred" if kyc == ReviewStatus.REJECTED else "",
            )
        if investor == "professional":
            InvestorClassification.objects.create(
                user=user,
                basis=InvestorClassification.Basis.FINANCIAL_ASSETS,
                status=ReviewStatus.APPROVED,
                valid_until=now + timedelta(days=700),
            )
        steps = ["knowledge_test", "risk_warning", "reflection", "complete"]
        reached = steps.index(suitability)
        if reached >= 1:
            SuitabilityAssessment.objects.create(
                user=user,
                test_version="2026-11",
                answers=[],
                score=Decimal("1.000"),
                passed=True,
                declared_net_worth=Decimal(net_worth),
                completed_at=now - timedelta(days=10 if reached == 3 else 1),
            )
        if reached >= 2:
            RiskAcknowledgement.objects.create(
                user=user, warning=self.warning, acknowledged_at=now - timedelta(days=10 if reached == 3 else 1)
            )
        if deposit_on is not None:
            self.deposit(user, deposit_on)
        return user

    def deposit(self, user: User, auction: Auction, status: str = Deposit.Status.HELD) -> Deposit:
        return Deposit.objects.create(
            auction=auction, user=user, amount=auction.deposit_amount, currency=auction.currency, status=status
        )

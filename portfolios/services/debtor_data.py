"""Handing a sold portfolio's debtor identities to its buyer, the one time they leave the vault."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from portfolios import selectors
from portfolios.models import PiiRelease, Portfolio
from portfolios.services.listing import PortfolioError


def portfolio_release_to_buyer(*, portfolio: Portfolio, buyer: User) -> selectors.DebtorIdentities:
    """Record that `buyer` (the settled winner's user account) receives the debtors' identities; return them.

    The payments app calls this once settlement is complete. Calling it again for the same buyer returns the same
    data; a portfolio is released to one buyer only, and only once it is sold.
    """
    with transaction.atomic():
        locked = Portfolio.objects.select_for_update().get(pk=portfolio.pk)
        if locked.status != Portfolio.Status.SOLD:
            raise PortfolioError("not_sold", _("Debtor data is released only for a sold portfolio."))
        release, _created = PiiRelease.objects.get_or_create(portfolio=locked, defaults={"buyer": buyer})
        if release.buyer_id != buyer.pk:
            raise PortfolioError("already_released", _("This portfolio's debtor data went to another buyer."))
    return selectors.pii_released_for(portfolio=locked, buyer=buyer)

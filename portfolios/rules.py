"""Pure listing rules: the status machine, the audience a debt type requires, small-group suppression."""

from decimal import Decimal

from portfolios.models import Portfolio

Status = Portfolio.Status

# The one table of allowed status changes (DESIGN: status fields are state machines).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.SUBMITTED: frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN}),
    Status.REJECTED: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.IN_AUCTION, Status.WITHDRAWN}),
    Status.IN_AUCTION: frozenset({Status.SOLD, Status.UNSOLD, Status.APPROVED}),  # approved again: auction cancelled
    Status.UNSOLD: frozenset({Status.IN_AUCTION, Status.WITHDRAWN}),
    Status.SOLD: frozenset({Status.UNSOLD}),  # the buyer defaulted and no runner-up bought it: back to relist
    Status.WITHDRAWN: frozenset(),
}
EDITABLE = frozenset({Status.DRAFT, Status.REJECTED})
PUBLIC = frozenset({Status.APPROVED, Status.IN_AUCTION, Status.SOLD, Status.UNSOLD})
# A listing holds the title to its debts while listed (approved, in auction, or unsold and free to go back to
# auction) and once sold; drafts, listings under review and withdrawn ones leave the debts free to list elsewhere.
TITLE_HELD = PUBLIC


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def required_audience(debt_type: str) -> str | None:
    """Batch transfers of individuals' bad loans may go only to qualified institutions (China, 2021 rules)."""
    return Portfolio.Audience.PROFESSIONAL_ONLY if debt_type == Portfolio.DebtType.CONSUMER_UNSECURED else None


# Buyers see distributions of a portfolio's loans; a group this small could single out a debtor.
MIN_GROUP_LOANS = 5
OTHER = "other"


def fold_small_groups(
    groups: list[tuple[str, int, Decimal]], minimum: int = MIN_GROUP_LOANS
) -> list[tuple[str, int, Decimal]]:
    """Fold groups of fewer than `minimum` loans into one `other` group, keeping the order of the rest.

    If the folded groups together are still too few, the smallest shown groups join them until `other` is big
    enough, so that no group of fewer than `minimum` loans can be read off, not even as a difference of totals.
    """
    shown = [group for group in groups if group[1] >= minimum]
    folded = [group for group in groups if group[1] < minimum]
    while folded and sum(group[1] for group in folded) < minimum and shown:
        smallest = min(shown, key=lambda group: (group[1], group[2]))
        shown.remove(smallest)
        folded.append(smallest)
    if not folded:
        return shown
    return [*shown, (OTHER, sum(group[1] for group in folded), sum((group[2] for group in folded), Decimal(0)))]

"""Pure listing rules: the status machine and the audience a debt type requires."""

from portfolios.models import Portfolio

Status = Portfolio.Status

# The one table of allowed status changes (DESIGN: status fields are state machines).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.SUBMITTED: frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN}),
    Status.REJECTED: frozenset({Status.SUBMITTED, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.IN_AUCTION, Status.WITHDRAWN}),
    Status.IN_AUCTION: frozenset({Status.SOLD, Status.UNSOLD}),
    Status.UNSOLD: frozenset({Status.IN_AUCTION, Status.WITHDRAWN}),
    Status.SOLD: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
EDITABLE = frozenset({Status.DRAFT, Status.REJECTED})
PUBLIC = frozenset({Status.APPROVED, Status.IN_AUCTION, Status.SOLD, Status.UNSOLD})


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def required_audience(debt_type: str) -> str | None:
    """Batch transfers of individuals' bad loans may go only to qualified institutions (China, 2021 rules)."""
    return Portfolio.Audience.PROFESSIONAL_ONLY if debt_type == Portfolio.DebtType.CONSUMER_UNSECURED else None

"""A portfolio's headline figures and distributions, computed in the database from its loans."""

from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from portfolios import rules
from portfolios.models import Loan, Portfolio, PortfolioStats

DPD_BUCKETS = ["0-90", "91-180", "181-360", "361-720", "721+"]
TICKET_BUCKETS = ["0-10000", "10000-50000", "50000-100000", "100000-500000", "500000-1000000", "1000000+"]
DIMENSIONS = ["region", "dpd_bucket", "ticket_size", "borrower_type", "legal_status"]
FIXED_ORDER = {"dpd_bucket": DPD_BUCKETS, "ticket_size": TICKET_BUCKETS, "legal_status": Loan.LegalStatus.values}

# One scan into groups of loans alike in all five dimensions (a few thousand at most), then those groups rolled up six
# ways (the whole portfolio, then each dimension; GROUPING() tells which). Grouping the loans six ways directly cost
# six hash look-ups and thirty-six sums per loan; this costs one look-up and six sums, and the sums are exact.
FIGURES_SQL = """
WITH alike AS (
    SELECT region, dpd_bucket, ticket_size, borrower_type, legal_status,
           count(*) AS loans, sum(total_claim) AS claim, sum(principal_balance) AS principal,
           sum(days_past_due * total_claim) AS dpd_claim,
           sum(total_claim) FILTER (WHERE collateral_type <> 'none') AS secured, sum(collateral_value) AS collateral
    FROM (
        SELECT total_claim, principal_balance, days_past_due, collateral_type, collateral_value, region,
               borrower_type, legal_status,
               CASE WHEN days_past_due <= 90 THEN '0-90' WHEN days_past_due <= 180 THEN '91-180'
                    WHEN days_past_due <= 360 THEN '181-360' WHEN days_past_due <= 720 THEN '361-720'
                    ELSE '721+' END AS dpd_bucket,
               CASE WHEN total_claim < 10000 THEN '0-10000' WHEN total_claim < 50000 THEN '10000-50000'
                    WHEN total_claim < 100000 THEN '50000-100000' WHEN total_claim < 500000 THEN '100000-500000'
                    WHEN total_claim < 1000000 THEN '500000-1000000' ELSE '1000000+' END AS ticket_size
        FROM {loans}
    ) l
    GROUP BY region, dpd_bucket, ticket_size, borrower_type, legal_status
)
SELECT GROUPING(region, dpd_bucket, ticket_size, borrower_type, legal_status) AS grouping,
       concat(region, dpd_bucket, ticket_size, borrower_type, legal_status) AS key,
       coalesce(sum(loans), 0)::bigint, coalesce(sum(claim), 0), coalesce(sum(principal), 0),
       coalesce(sum(dpd_claim), 0), coalesce(sum(secured), 0), coalesce(sum(collateral), 0)
FROM alike
GROUP BY GROUPING SETS ((), (region), (dpd_bucket), (ticket_size), (borrower_type), (legal_status))
"""
# GROUPING(...) over the five dimensions has a 0 bit for each one grouped by: all five bits set is the total.
GROUPING_DIMENSION = {0b11111: "all", 0b01111: "region", 0b10111: "dpd_bucket", 0b11011: "ticket_size"}
GROUPING_DIMENSION |= {0b11101: "borrower_type", 0b11110: "legal_status"}
PORTFOLIO_LOANS = "portfolios_loan WHERE portfolio_id = %s"


def portfolio_stats_compute(*, portfolio: Portfolio, loans_table: str | None = None) -> PortfolioStats:
    """Recompute and store the figures buyers see, in one aggregate query over the portfolio's loans.

    Weighted averages and shares weigh each loan by its total claim; amounts are in the portfolio's currency.
    The import passes its staging table as `loans_table` (it holds exactly the new loans, and is cheaper to scan).
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # Loans just imported are not in the planner's statistics yet: it would expect one and sort them all (on disk)
        # to group them, where hashing them costs a third of that.
        cursor.execute("SELECT current_setting('enable_sort'), set_config('enable_sort', 'off', true)")
        enable_sort = cursor.fetchone()[0]
        if loans_table is None:
            cursor.execute(FIGURES_SQL.format(loans=PORTFOLIO_LOANS), [portfolio.pk])
        else:
            cursor.execute(FIGURES_SQL.format(loans=loans_table))
        rows = cursor.fetchall()
        cursor.execute("SELECT set_config('enable_sort', %s, true)", [enable_sort])
        grouped: dict[str, list[tuple[str, int, Decimal]]] = {dimension: [] for dimension in DIMENSIONS}
        count, claim, principal, dpd_claim, secured, collateral = 0, Decimal(0), Decimal(0), 0, 0, 0
        for grouping, key, loans, total, principal_sum, dpd_sum, secured_sum, collateral_sum in rows:
            dimension = GROUPING_DIMENSION[grouping]
            if dimension == "all":
                count, claim, principal = loans, total, principal_sum
                dpd_claim, secured, collateral = dpd_sum, secured_sum, collateral_sum
            else:
                grouped[dimension].append((key, loans, total))
    share = (lambda part: Decimal(part) / claim) if claim else (lambda part: Decimal(0))
    stats, _created = PortfolioStats.objects.update_or_create(
        portfolio=portfolio,
        defaults={
            "loan_count": count,
            "total_principal": principal,
            "total_claim": claim,
            "weighted_average_dpd": share(dpd_claim).quantize(Decimal("0.1")),
            "secured_share": share(secured).quantize(Decimal("0.0001")),
            "collateral_coverage": share(collateral).quantize(Decimal("0.0001")),
            "distributions": {dimension: _shown(dimension, groups) for dimension, groups in grouped.items()},
            "computed_at": timezone.now(),
        },
    )
    return stats


def _shown(dimension: str, groups: list[tuple[str, int, Decimal]]) -> list[dict[str, Any]]:
    order = FIXED_ORDER.get(dimension)
    if order is not None:
        groups.sort(key=lambda group: order.index(group[0]))
    else:
        groups.sort(key=lambda group: (-group[2], group[0]))
    return [
        {"key": key, "loans": loans, "total_claim": f"{total:.2f}"}
        for key, loans, total in rules.fold_small_groups(groups)
    ]

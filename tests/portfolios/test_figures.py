"""Portfolio figures: computed in the database at import, equal to the same sums done in Python; face-value filters."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from portfolios import rules, services
from portfolios.models import PortfolioStats
from portfolios.services import stats as stats_service
from tests.portfolios.conftest import csv_upload, loan_row, new_draft

pytestmark = pytest.mark.django_db

DPD_EDGES = [(90, "0-90"), (180, "91-180"), (360, "181-360"), (720, "361-720")]
TICKET_EDGES = [(10_000, "0-10000"), (50_000, "10000-50000"), (100_000, "50000-100000"), (500_000, "100000-500000")]


def dpd_bucket(days: int) -> str:
    return next((label for edge, label in DPD_EDGES if days <= edge), "721+")


def ticket_bucket(claim: Decimal) -> str:
    if claim >= 1_000_000:
        return "1000000+"
    if claim >= 500_000:
        return "500000-1000000"
    return next(label for edge, label in TICKET_EDGES if claim < edge)


def varied_rows(count: int) -> list[dict[str, str]]:
    rows = []
    for n in range(count):
        dpd = [30, 91, 180, 181, 361, 720, 721, 1500][n % 8]
        rows.append(loan_row(n, days_past_due=str(dpd), region=["Zhejiang", "Jiangsu", "Tibet"][n % 7 // 3]))
    return rows


def expected_groups(rows, key):
    groups: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for row in rows:
        group = groups[key(row)]
        group[0] += 1
        group[1] += Decimal(row["total_claim"])
    return {name: (loans, claim) for name, (loans, claim) in groups.items()}


def test_figures_match_python_sums(draft, import_tape):
    rows = varied_rows(61)
    assert import_tape(draft, csv_upload(rows)).status == "succeeded"
    stats = PortfolioStats.objects.get(portfolio=draft)
    claim = sum(Decimal(row["total_claim"]) for row in rows)
    secured = sum(Decimal(row["total_claim"]) for row in rows if row["collateral_type"] != "none")
    collateral = sum(Decimal(row["collateral_value"]) for row in rows if row["collateral_value"])
    weighted = sum(int(row["days_past_due"]) * Decimal(row["total_claim"]) for row in rows) / claim
    assert stats.loan_count == 61
    assert stats.total_principal == sum(Decimal(row["principal_balance"]) for row in rows)
    assert stats.total_claim == claim
    assert stats.weighted_average_dpd == weighted.quantize(Decimal("0.1"))
    assert stats.secured_share == (secured / claim).quantize(Decimal("0.0001"))
    assert stats.collateral_coverage == (collateral / claim).quantize(Decimal("0.0001"))

    keys = {
        "region": lambda row: row["region"],
        "dpd_bucket": lambda row: dpd_bucket(int(row["days_past_due"])),
        "ticket_size": lambda row: ticket_bucket(Decimal(row["total_claim"])),
        "borrower_type": lambda row: row["borrower_type"],
        "legal_status": lambda row: row["legal_status"],
    }
    for dimension, key in keys.items():
        raw = sorted((name, loans, claim) for name, (loans, claim) in expected_groups(rows, key).items())
        folded = {name: (loans, f"{claim:.2f}") for name, loans, claim in rules.fold_small_groups(raw)}
        shown = {group["key"]: (group["loans"], group["total_claim"]) for group in stats.distributions[dimension]}
        assert shown == folded, dimension
        assert all(group["loans"] >= rules.MIN_GROUP_LOANS for group in stats.distributions[dimension])
    assert {group["key"] for group in stats.distributions["region"]} == {"Zhejiang", "Jiangsu", "Tibet"}
    again = stats_service.portfolio_stats_compute(portfolio=draft)  # from the stored loans, not the import's staging
    assert [getattr(again, field.name) for field in PortfolioStats._meta.fields if field.name != "computed_at"] == [
        getattr(stats, field.name) for field in PortfolioStats._meta.fields if field.name != "computed_at"
    ]
    assert [group["key"] for group in stats.distributions["dpd_bucket"]] == [
        "0-90",
        "91-180",
        "181-360",
        "361-720",
        "721+",
    ]


def test_a_tiny_region_is_folded_away(draft, import_tape):
    rows = [loan_row(n, region="Zhejiang") for n in range(12)] + [loan_row(12, region="Hainan")]
    import_tape(draft, csv_upload(rows))
    regions = PortfolioStats.objects.get(portfolio=draft).distributions["region"]
    assert [group["key"] for group in regions] == ["other"]  # 12 + 1: showing Zhejiang would reveal the one loan
    assert regions[0]["loans"] == 13


groups_strategy = st.lists(
    st.tuples(st.text("abcdefgh", min_size=1, max_size=4), st.integers(1, 30), st.decimals(0, 10**6, places=2)),
    max_size=12,
    unique_by=lambda group: group[0],
)


@given(groups_strategy)
def test_folding_hides_every_small_group_and_keeps_the_totals(groups):
    folded = rules.fold_small_groups(groups)
    loans = sum(group[1] for group in groups)
    assert sum(group[1] for group in folded) == loans
    assert sum(group[2] for group in folded) == sum(group[2] for group in groups)
    if loans >= rules.MIN_GROUP_LOANS:
        assert all(group[1] >= rules.MIN_GROUP_LOANS for group in folded)
    else:
        assert [group[0] for group in folded] == ([rules.OTHER] if groups else [])
    kept = [group for group in folded if group[0] != rules.OTHER]
    assert kept == [group for group in groups if group in kept]  # shown groups are unchanged and keep their order


def test_face_value_filters(member, seller_org, staff, import_tape):
    small, large = (new_draft(member, seller_org, title=title) for title in ("Small", "Large"))
    import_tape(small, csv_upload([loan_row(n) for n in range(100, 102)]))
    import_tape(large, csv_upload([loan_row(n) for n in range(40)]))
    for portfolio in (small, large):
        services.portfolio_submit(user=member, portfolio=portfolio)
        services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    small_face = PortfolioStats.objects.get(portfolio=small).total_claim
    api = APIClient()

    def titles(query: str) -> list[str]:
        response = api.get(f"/api/v1/portfolios/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(p["title"] for p in response.json()["results"])

    assert titles("") == ["Large", "Small"]
    assert titles(f"min_face={small_face}") == ["Large", "Small"]
    assert titles(f"min_face={small_face + Decimal('0.01')}") == ["Large"]
    assert titles(f"max_face={small_face}") == ["Small"]
    assert titles(f"min_face=1&max_face={small_face - Decimal('0.01')}") == []
    (card,) = api.get(f"/api/v1/portfolios/?max_face={small_face}").json()["results"]
    assert (card["stats"]["total_claim"], card["stats"]["loan_count"]) == (f"{small_face:.2f}", 2)
    bad = api.get("/api/v1/portfolios/?min_face=lots")
    assert bad.status_code == 400 and bad.json()["field"] == "min_face"


def test_figures_of_a_portfolio_without_loans_are_zero_and_the_planner_setting_is_restored(draft):
    with transaction.atomic(), connection.cursor() as cursor:
        stats = stats_service.portfolio_stats_compute(portfolio=draft)
        cursor.execute("SELECT current_setting('enable_sort')")
        assert cursor.fetchone()[0] == "on"  # the figures' query turns sorting off for itself only
    assert (stats.loan_count, stats.total_claim, stats.weighted_average_dpd, stats.secured_share) == (0, 0, 0, 0)
    assert all(groups == [] for groups in stats.distributions.values())

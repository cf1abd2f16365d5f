"""Debtor data: encrypted at rest, never in an API response, released to the settled buyer only; one title per debt."""

import base64
import hmac
import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from portfolios import selectors, services, vault
from portfolios.models import Loan, Portfolio, VaultBlock
from tests.portfolios.conftest import csv_upload, loan_row, new_draft
from tests.processes import ROOT

pytestmark = pytest.mark.django_db

PII_COLUMNS = ("borrower_id", "borrower_name", "national_id", "phone", "address", "case_number")


def pii_values(rows):
    return {row[column] for row in rows for column in PII_COLUMNS if row[column]}


def to_status(portfolio, *statuses, actor=None):
    for status in statuses:
        portfolio = services.portfolio_transition(portfolio=portfolio, to=status, actor=actor)
    return portfolio


@pytest.fixture
def listed(draft, import_tape, member, staff):
    """An approved listing with ten loans; returns it with the tape's rows."""
    rows = [loan_row(n) for n in range(10)]
    assert import_tape(draft, csv_upload(rows)).status == "succeeded"
    services.portfolio_submit(user=member, portfolio=draft)
    return services.portfolio_review(portfolio=draft, reviewer=staff, approve=True), rows


def test_no_api_response_or_admin_page_carries_a_debtors_identity(listed, member, staff, import_tape, client):
    portfolio, rows = listed
    rejected = new_draft(member, portfolio.seller, title="Second")
    failed = import_tape(rejected, csv_upload([*(loan_row(n) for n in range(20, 25)), loan_row(25, region="")]))
    assert failed.status == "failed"
    secrets_in_tapes = pii_values(rows) | pii_values([loan_row(n) for n in range(20, 26)])
    anonymous, seller = APIClient(), APIClient()
    seller.force_authenticate(member)
    bodies = [
        anonymous.get("/api/v1/portfolios/").content,
        anonymous.get(f"/api/v1/portfolios/{portfolio.pk}/").content,
        seller.get(f"/api/v1/portfolios/{portfolio.pk}/").content,
        seller.get(f"/api/v1/portfolios/{rejected.pk}/").content,
        seller.get(f"/api/v1/imports/{failed.pk}/").content,
        seller.get(f"/api/v1/imports/{failed.pk}/errors.csv").content,
    ]
    client.force_login(staff)
    loan = Loan.objects.filter(portfolio=portfolio).first()
    bodies += [
        client.get("/admin/portfolios/loan/").content,
        client.get(f"/admin/portfolios/loan/{loan.pk}/change/").content,
        client.get(f"/admin/portfolios/loantapeimport/{failed.pk}/change/").content,
    ]
    assert all(body for body in bodies)
    for body in bodies:
        text = body.decode()
        leaked = [value for value in secrets_in_tapes if value in text]
        assert not leaked, leaked
    card = json.loads(bodies[1])
    assert card["stats"]["loan_count"] == 10
    assert rows[0]["national_id"] not in bodies[1].decode()


def test_the_vault_holds_ciphertext_bound_to_its_portfolio_and_place(listed, member):
    portfolio, rows = listed
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM portfolios_vaultblock")
        stored = [bytes(ciphertext) for (ciphertext,) in cursor.fetchall()]
        cursor.execute("SELECT row_to_json(l)::text FROM portfolios_loan l")
        loan_rows = " ".join(text for (text,) in cursor.fetchall())
    assert len(stored) == 1
    for value in pii_values(rows):
        assert value.encode() not in stored[0]
        assert value not in loan_rows
    block = VaultBlock.objects.get()
    opened = vault.open_block(bytes(block.ciphertext), portfolio_id=portfolio.pk, number=0)
    debtors = dict(Loan.objects.filter(portfolio=portfolio).values_list("loan_id", "debtor"))
    assert opened == [[row["loan_id"], debtors[row["loan_id"]], *(row[c] for c in PII_COLUMNS)] for row in rows]
    with pytest.raises(InvalidTag):  # a block renumbered does not open
        vault.open_block(bytes(block.ciphertext), portfolio_id=portfolio.pk, number=1)
    with pytest.raises(InvalidTag):  # nor one moved to another portfolio
        vault.open_block(bytes(block.ciphertext), portfolio_id=new_draft(member, portfolio.seller).pk, number=0)


@pytest.mark.parametrize("key", ["k" * 32, "a much longer key " * 10])
def test_the_register_hash_is_hmac_sha256(settings, key):
    settings.PII_HASH_KEY = key
    message = "title\x1f330106\x1f2020-01-15\x1f9600.00"
    assert vault.Hasher().digest(message.encode()) == hmac.digest(key.encode(), message.encode(), "sha256")
    settings.PII_HASH_KEY = "short"
    with pytest.raises(ImproperlyConfigured):
        vault.Hasher()


def test_a_vault_block_that_is_not_the_loans_is_never_released(draft, import_tape, member, staff, make_user):
    """A block left from an earlier tape opens (same portfolio, same number), but its rows are not these loans."""
    assert import_tape(draft, csv_upload([loan_row(n) for n in range(5)])).status == "succeeded"
    stale = bytes(VaultBlock.objects.get(portfolio=draft).ciphertext)
    assert import_tape(draft, csv_upload([loan_row(n) for n in range(10, 15)])).status == "succeeded"
    services.portfolio_submit(user=member, portfolio=draft)
    portfolio = services.portfolio_review(portfolio=draft, reviewer=staff, approve=True)
    portfolio = to_status(portfolio, Portfolio.Status.IN_AUCTION, Portfolio.Status.SOLD)
    buyer = make_user("buyer@pearl-bay.example.com")
    assert len(list(services.portfolio_release_to_buyer(portfolio=portfolio, buyer=buyer))) == 5
    VaultBlock.objects.filter(portfolio=portfolio).update(ciphertext=stale)
    with pytest.raises(vault.VaultIntegrityError):
        list(services.portfolio_release_to_buyer(portfolio=portfolio, buyer=buyer))
    VaultBlock.objects.filter(portfolio=portfolio).delete()
    with pytest.raises(vault.VaultIntegrityError):
        list(services.portfolio_release_to_buyer(portfolio=portfolio, buyer=buyer))


def test_identities_go_to_the_settled_buyer_only(listed, make_user):
    portfolio, rows = listed
    buyer, other = make_user("buyer@pearl-bay.example.com"), make_user("nosy@example.com")
    with pytest.raises(services.PortfolioError) as not_sold:
        services.portfolio_release_to_buyer(portfolio=portfolio, buyer=buyer)
    assert not_sold.value.code == "not_sold"
    portfolio = to_status(portfolio, Portfolio.Status.IN_AUCTION, Portfolio.Status.SOLD)
    released = list(services.portfolio_release_to_buyer(portfolio=portfolio, buyer=buyer))
    by_loan = {identity.loan_id: identity for identity in released}
    assert len(by_loan) == 10
    for row in rows:
        identity = by_loan[row["loan_id"]]
        assert {column: getattr(identity, column) for column in PII_COLUMNS} == {c: row[c] for c in PII_COLUMNS}
        assert identity.debtor == Loan.objects.get(portfolio=portfolio, loan_id=row["loan_id"]).debtor
    assert len(list(selectors.pii_released_for(portfolio=portfolio, buyer=buyer))) == 10
    assert len(list(services.portfolio_release_to_buyer(portfolio=portfolio, buyer=buyer))) == 10  # repeatable
    with pytest.raises(services.PortfolioError) as refused:
        selectors.pii_released_for(portfolio=portfolio, buyer=other)
    assert (refused.value.code, refused.value.http_status) == ("not_released", 403)
    with pytest.raises(services.PortfolioError) as taken:
        services.portfolio_release_to_buyer(portfolio=portfolio, buyer=other)
    assert taken.value.code == "already_released"


def test_a_debt_listed_elsewhere_cannot_be_listed_again_until_withdrawn(listed, make_user, import_tape, staff):
    portfolio, rows = listed
    rival = Organization.objects.create(name="Other AMC", kind=Organization.Kind.ASSET_MANAGEMENT_COMPANY)
    trader = make_user("trader@other.example.com")
    Membership.objects.create(user=trader, organization=rival, role=Membership.Role.TRADER)
    second = new_draft(trader, rival, title="Resold loans")
    # Same debtors and originations under the rival's own loan ids; one fresh debt; one same debtor, other loan.
    tape = [loan_row(n, loan_id=f"R-{n}") for n in (2, 5)] + [
        loan_row(50),
        loan_row(51, national_id=rows[0]["national_id"]),
    ]
    job = import_tape(second, csv_upload(tape), user=trader)
    assert job.status == "failed"
    assert {(i.row, i.column, i.code) for i in job.issues.all()} == {
        (2, "national_id", "already_listed"),
        (3, "national_id", "already_listed"),
    }
    assert "another listing" in job.issues.first().message and portfolio.title not in job.issues.first().message
    for status in (Portfolio.Status.IN_AUCTION, Portfolio.Status.UNSOLD, Portfolio.Status.WITHDRAWN):
        portfolio = to_status(portfolio, status)
        assert import_tape(second, csv_upload(tape), user=trader).error_count == (2 if status != "withdrawn" else 0)
    assert Loan.objects.filter(portfolio=second).count() == 4


def test_a_sold_debt_stays_taken_and_a_draft_takes_none(draft, import_tape, make_user, member, staff):
    rival = Organization.objects.create(name="Other AMC", kind=Organization.Kind.ASSET_MANAGEMENT_COMPANY)
    trader = make_user("trader@other.example.com")
    Membership.objects.create(user=trader, organization=rival, role=Membership.Role.TRADER)
    assert import_tape(draft, csv_upload([loan_row(1)])).status == "succeeded"
    resale = new_draft(trader, rival)
    assert import_tape(resale, csv_upload([loan_row(1)]), user=trader).status == "succeeded"
    services.portfolio_submit(user=member, portfolio=draft)
    services.portfolio_review(portfolio=draft, reviewer=staff, approve=True)
    to_status(draft, Portfolio.Status.IN_AUCTION, Portfolio.Status.SOLD)
    again = import_tape(resale, csv_upload([loan_row(1)]), user=trader)
    assert [(i.row, i.code) for i in again.issues.all()] == [(2, "already_listed")]


def production_vault_key(**env):
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("PII_", "SECRET_KEY", "DJANGO_ALLOW"))}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.PII_VAULT_KEY)"],
        cwd=ROOT,
        env={**inherited, "DJANGO_SETTINGS_MODULE": "marketplace.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_takes_the_debtor_data_keys_from_the_environment_only():
    keys = {
        "PII_VAULT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "PII_HASH_KEY": secrets.token_urlsafe(40),
    }
    base = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "auctions.example.com"}
    started = production_vault_key(**base, **keys)
    assert started.returncode == 0 and started.stdout.splitlines()[-1] == keys["PII_VAULT_KEY"], started.stderr
    for missing in keys:
        result = production_vault_key(**base, **{k: v for k, v in keys.items() if k != missing})
        assert result.returncode != 0 and missing in result.stderr


def test_of_two_drafts_holding_one_debt_only_the_first_is_approved(draft, member, import_tape, make_user, staff):
    rival = Organization.objects.create(name="Other AMC", kind=Organization.Kind.ASSET_MANAGEMENT_COMPANY)
    trader = make_user("trader@other.example.com")
    Membership.objects.create(user=trader, organization=rival, role=Membership.Role.TRADER)
    second = new_draft(trader, rival)
    import_tape(draft, csv_upload([loan_row(n) for n in range(3)]))
    import_tape(second, csv_upload([loan_row(n, loan_id=f"X{n}") for n in range(2, 6)]), user=trader)
    services.portfolio_submit(user=member, portfolio=draft)
    services.portfolio_submit(user=trader, portfolio=second)
    services.portfolio_review(portfolio=draft, reviewer=staff, approve=True)
    with pytest.raises(services.PortfolioError) as refused:
        services.portfolio_review(portfolio=second, reviewer=staff, approve=True)
    assert refused.value.code == "already_listed" and refused.value.message.startswith("1 of")
    assert Portfolio.objects.get(pk=second.pk).status == Portfolio.Status.SUBMITTED
    services.portfolio_review(portfolio=second, reviewer=staff, approve=False, reason="Loan L-000002 is listed")

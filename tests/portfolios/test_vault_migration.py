"""Migration 0009 turns the vault's per-loan records into blocks (and back) without losing or exposing a debtor."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portfolios import selectors
from portfolios.models import VaultBlock
from tests.portfolios.conftest import csv_upload, loan_row, new_draft

PER_LOAN, BLOCKS = ("portfolios", "0008_loan_portfolio_checked_per_statement"), ("portfolios", "0009_vault_blocks")
PII_COLUMNS = ("borrower_id", "borrower_name", "national_id", "phone", "address", "case_number")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


def released(portfolio):
    return [
        [identity.loan_id, identity.debtor, *(getattr(identity, c) for c in PII_COLUMNS)]
        for identity in selectors._decrypted(portfolio.pk)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_vault_migrates_to_blocks_and_back(draft, import_tape, member, monkeypatch):
    other = new_draft(member, draft.seller, title="Second")
    tapes = {draft: [loan_row(n, phone="" if n == 2 else loan_row(n)["phone"]) for n in range(5)]}
    tapes[other] = [loan_row(n) for n in range(20, 23)]
    for portfolio, rows in tapes.items():
        assert import_tape(portfolio, csv_upload(rows)).status == "succeeded"
    before = {portfolio: released(portfolio) for portfolio in tapes}
    assert [row[0] for row in before[draft]] == [row["loan_id"] for row in tapes[draft]]
    monkeypatch.setattr(importlib.import_module("portfolios.migrations.0009_vault_blocks"), "BLOCK_ROWS", 2)
    try:
        old = migrate(PER_LOAN)
        records = old.get_model("portfolios", "VaultRecord").objects
        assert records.count() == 8
        assert records.filter(loan__portfolio_id=other.pk).count() == 3
    finally:
        migrate(BLOCKS)
    assert {portfolio: released(portfolio) for portfolio in tapes} == before
    sizes = [VaultBlock.objects.filter(portfolio=p).count() for p in tapes]
    assert sizes == [3, 2]  # re-sealed two loans a block

"""Migration 0009 turns the vault's per-loan records into blocks (and back) without losing or exposing a debtor."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portfolios import vault
from portfolios.models import Loan, VaultBlock
from tests.portfolios.conftest import csv_upload, loan_row

PER_LOAN, BLOCKS = ("portfolios", "0008_loan_portfolio_checked_per_statement"), ("portfolios", "0009_vault_blocks")
PII_COLUMNS = ("borrower_id", "borrower_name", "national_id", "phone", "address", "case_number")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_the_vault_migrates_to_blocks_and_back(draft, import_tape):
    rows = [loan_row(n, phone="" if n == 2 else loan_row(n)["phone"]) for n in range(5)]
    assert import_tape(draft, csv_upload(rows)).status == "succeeded"
    debtors = dict(Loan.objects.filter(portfolio=draft).values_list("loan_id", "debtor"))
    expected = [[row["loan_id"], debtors[row["loan_id"]], *(row[c] for c in PII_COLUMNS)] for row in rows]
    try:
        old = migrate(PER_LOAN)
        records = old.get_model("portfolios", "VaultRecord").objects.order_by("loan_id")
        opened = [
            vault.unseal(bytes(sealed), context=f"{draft.pk}\x1f{loan_id}".encode()).decode().split("\x1f")
            for loan_id, sealed in records.values_list("loan__loan_id", "ciphertext")
        ]
        assert opened == [row[2:] for row in expected]
    finally:
        migrate(BLOCKS)
    block = VaultBlock.objects.get(portfolio=draft)
    assert vault.open_block(bytes(block.ciphertext), portfolio_id=draft.pk, number=block.number) == expected

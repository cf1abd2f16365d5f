"""Loans of a portfolio (pseudonymous), the encrypted vault of their debtors' identities, and releases of it."""

from typing import Any

from django.contrib.postgres.indexes import HashIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.models import User
from portfolios.models.listing import Portfolio


def money(verbose_name: StrOrPromise, **options: Any) -> "models.DecimalField[Any, Any]":
    """An amount column: up to 9,999,999,999,999,999.99 (the currency is on the row or its portfolio)."""
    return models.DecimalField(verbose_name, max_digits=18, decimal_places=2, **options)


class Loan(models.Model):
    """One row of the loan tape, with no field that names the debtor (those live in VaultBlock)."""

    class BorrowerType(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        CORPORATE = "corporate", _("Corporate")

    class CollateralType(models.TextChoices):
        NONE = "none", _("Unsecured")
        REAL_ESTATE = "real_estate", _("Real estate")
        VEHICLE = "vehicle", _("Vehicle")
        EQUIPMENT = "equipment", _("Equipment")
        RECEIVABLES = "receivables", _("Receivables")
        DEPOSIT = "deposit", _("Cash deposit")
        OTHER = "other", _("Other")

    class LegalStatus(models.TextChoices):
        NONE = "none", _("No legal action")
        LITIGATION = "litigation", _("In litigation")
        JUDGMENT = "judgment", _("Judgment obtained")
        ENFORCEMENT = "enforcement", _("Enforcement")
        INSOLVENCY = "insolvency", _("Insolvency")

    # The FK index would duplicate the leading column of the unique (portfolio, loan_id) index. The reference is
    # enforced by statement-level triggers (migration 0008) instead of a foreign key, whose check of every new loan at
    # commit was a quarter of the database's work when a loan tape is loaded.
    portfolio = models.ForeignKey(
        Portfolio, on_delete=models.CASCADE, related_name="loans", db_index=False, db_constraint=False
    )
    loan_id = models.CharField(_("loan id"), max_length=64)
    debtor = models.CharField(_("debtor pseudonym"), max_length=16, help_text=_("Stable per debtor and portfolio."))
    # Chain-of-title register: HMAC-SHA256 of the debtor's identity, origination date and amount (tape_copy.identities).
    title_hash = models.BinaryField(_("title hash"), max_length=32, editable=False)
    borrower_type = models.CharField(_("borrower type"), max_length=12, choices=BorrowerType.choices)
    region = models.CharField(_("region"), max_length=64)
    currency = models.CharField(_("currency"), max_length=3)
    origination_date = models.DateField(_("origination date"))
    origination_amount = money(_("origination amount"))
    principal_balance = money(_("principal balance"))
    accrued_interest = money(_("accrued interest"), default=0)
    other_balances = money(_("fees and other balances"), default=0)
    total_claim = money(_("total claim (legal balance)"))
    days_past_due = models.PositiveIntegerField(_("days past due"))
    default_date = models.DateField(_("default date"), null=True, blank=True)
    charged_off = models.BooleanField(_("charged off"), default=False)
    charge_off_date = models.DateField(_("charge-off date"), null=True, blank=True)
    last_payment_date = models.DateField(_("last payment date"), null=True, blank=True)
    last_payment_amount = money(_("last payment amount"), null=True, blank=True)
    interest_rate = models.DecimalField(_("interest rate, % a year"), max_digits=7, decimal_places=4, null=True)
    collateral_type = models.CharField(
        _("collateral type"), max_length=12, choices=CollateralType.choices, default=CollateralType.NONE
    )
    collateral_value = money(_("collateral value"), null=True, blank=True)
    guarantors = models.PositiveSmallIntegerField(_("number of guarantors"), default=0)
    legal_status = models.CharField(
        _("legal status"), max_length=12, choices=LegalStatus.choices, default=LegalStatus.NONE
    )
    credit_score_band = models.CharField(_("credit-score band"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["portfolio", "id"]
        constraints = [models.UniqueConstraint(fields=["portfolio", "loan_id"], name="loan_unique_id_per_portfolio")]
        # Only ever looked up by equality (the chain-of-title register): a hash index costs a quarter of the loans'
        # COPY less to fill than a B-tree, whose random inserts touch a different page for every loan.
        indexes = [HashIndex(fields=["title_hash"], name="loan_title_hash")]

    def __str__(self) -> str:
        return f"{self.loan_id} ({self.debtor})"


class VaultBlock(models.Model):
    """The debtor identities (borrower id, name, national id, phone, address, court case number) of a run of a
    portfolio's loans, in tape order: up to one import batch of them, encrypted as one record.

    `ciphertext` is AES-256-GCM (nonce + ciphertext + tag) under PII_VAULT_KEY, bound to the portfolio and the block's
    number, so a block copied to another portfolio or renumbered fails to decrypt; its rows name their loans, which the
    release checks. Only portfolios.vault opens it.
    """

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="vault_blocks", db_index=False)
    number = models.PositiveIntegerField(_("number"))
    ciphertext = models.BinaryField()

    class Meta:
        verbose_name = _("vault block")
        verbose_name_plural = _("vault blocks")
        constraints = [models.UniqueConstraint(fields=["portfolio", "number"], name="vault_block_unique_number")]

    def __str__(self) -> str:
        return f"vault block {self.number} of portfolio {self.portfolio_id}"


class PiiRelease(models.Model):
    """The one buyer a sold portfolio's debtor identities were released to, and when."""

    portfolio = models.OneToOneField(Portfolio, on_delete=models.PROTECT, related_name="pii_release")
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("debtor data release")
        verbose_name_plural = _("debtor data releases")

    def __str__(self) -> str:
        return f"{self.portfolio_id} → {self.buyer}"

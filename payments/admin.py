"""Admin for money: deposits and settlements (staff mark bank transfers received, confirm payouts and forfeiture
payouts, each with its reference, and refund card payments with a reason), runner-up offers, refunds, sellers'
connected accounts, the Stripe events as received, and reconciliation differences to resolve with a note. Money
moves only through services."""

from django.contrib import admin

from marketplace.admin_actions import ReadOnlyAdmin, ServiceOnlyAdmin, action_with_reason
from payments import reconcile, services
from payments.models import (
    Deposit,
    LedgerEntry,
    PayoutAccount,
    ReconciliationIssue,
    Refund,
    RunnerUpOffer,
    Settlement,
    WebhookEvent,
)


@admin.register(Deposit)
class DepositAdmin(ServiceOnlyAdmin):
    list_display = ["auction", "user", "amount", "currency", "status", "payment_intent", "held_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "payment_intent"]
    actions = [
        action_with_reason(
            description="Refund the captured deposit (reason)",
            act=lambda deposit, staff, reason: services.payment_refund(
                deposit_id=deposit.pk, actor=staff, reason=reason
            ),
        ),
    ]


@admin.register(Settlement)
class SettlementAdmin(ServiceOnlyAdmin):
    list_display = ["auction", "buyer", "hammer_price", "balance_due", "currency", "status", "due_at", "paid_at"]
    list_filter = ["status"]
    search_fields = ["buyer__email", "payment_intent", "bank_reference", "payout_reference"]
    actions = [
        action_with_reason(
            description="Mark bank transfer received (reference)",
            act=lambda settlement, staff, reference: services.settlement_mark_paid(
                settlement_id=settlement.pk, bank_reference=reference, actor=staff
            ),
        ),
        action_with_reason(
            description="Confirm payout sent by bank (reference)",
            act=lambda settlement, staff, reference: services.settlement_payout_confirm(
                settlement_id=settlement.pk, reference=reference, actor=staff
            ),
        ),
        action_with_reason(
            description="Confirm forfeiture payout sent by bank (reference)",
            act=lambda settlement, staff, reference: services.settlement_forfeit_payout_confirm(
                settlement_id=settlement.pk, reference=reference, actor=staff
            ),
        ),
        action_with_reason(
            description="Refund the card payment (reason)",
            act=lambda settlement, staff, reason: services.payment_refund(
                settlement_id=settlement.pk, actor=staff, reason=reason
            ),
        ),
    ]


@admin.register(RunnerUpOffer)
class RunnerUpOfferAdmin(ReadOnlyAdmin):
    list_display = ["auction", "buyer", "amount", "currency", "status", "expires_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["buyer__email"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["buyer", "amount", "currency", "settlement", "deposit", "stripe_refund", "actor", "refunded_at"]
    search_fields = ["buyer__email", "stripe_refund", "payment_intent"]


@admin.register(PayoutAccount)
class PayoutAccountAdmin(admin.ModelAdmin[PayoutAccount]):
    list_display = ["organization", "stripe_account"]
    search_fields = ["organization__name", "stripe_account"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "received_at", "processed_at"]
    list_filter = ["type"]
    search_fields = ["id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "kind", "account", "amount", "currency", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["transaction", "account"]


@admin.register(ReconciliationIssue)
class ReconciliationIssueAdmin(ServiceOnlyAdmin):
    list_display = ["subject", "message", "found_at", "resolved_at", "resolved_by", "resolution"]
    list_filter = ["resolved_at"]
    search_fields = ["subject"]
    actions = [
        action_with_reason(
            description="Mark resolved (note)",
            act=lambda issue, staff, note: reconcile.reconciliation_issue_resolve(
                issue_id=issue.pk, actor=staff, note=note
            ),
        ),
    ]

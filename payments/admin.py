"""Admin for money: deposits, settlements (staff mark bank transfers received and confirm payouts, each with its
reference), sellers' connected accounts, and the Stripe events as received. Money moves only through services."""

from django.contrib import admin

from marketplace.admin_actions import ReadOnlyAdmin, ServiceOnlyAdmin, action_with_reason
from payments import services
from payments.models import Deposit, LedgerEntry, PayoutAccount, ReconciliationIssue, Settlement, WebhookEvent


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["auction", "user", "amount", "currency", "status", "payment_intent", "held_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "payment_intent"]


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
    ]


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
class ReconciliationIssueAdmin(ReadOnlyAdmin):
    list_display = ["subject", "message", "found_at", "resolved_at"]
    list_filter = ["resolved_at"]
    search_fields = ["subject"]

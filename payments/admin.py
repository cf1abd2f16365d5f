"""Admin for deposits and settlements (read-only here: money moves through the payment services)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.models import Deposit, Settlement


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["auction", "user", "amount", "currency", "status", "payment_intent", "updated_at"]
    list_filter = ["status"]
    search_fields = ["user__email", "payment_intent"]


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["auction", "buyer", "hammer_price", "balance_due", "currency", "status", "due_at"]
    list_filter = ["status"]
    search_fields = ["buyer__email"]

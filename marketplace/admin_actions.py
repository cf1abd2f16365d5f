"""Admin building blocks: models that change only through services (read-only forms, no add or delete), and
actions that need a written reason (an intermediate page asks for it, then a service acts)."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from marketplace.errors import DomainError


def action_with_reason(
    *, description: str, act: Callable[[Any, Any, str], Any], reason_required: bool = True
) -> Callable[[admin.ModelAdmin[Any], HttpRequest, QuerySet[Any]], HttpResponse | None]:
    """Build an admin action calling `act(obj, request.user, reason)` for each selected object."""

    def action(
        model_admin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        reason = request.POST.get("reason", "").strip()
        if "apply" not in request.POST or (reason_required and not reason):
            context = {
                **model_admin.admin_site.each_context(request),
                "title": description,
                "objects": queryset,
                "action": request.POST["action"],
                "reason_required": reason_required,
                "missing_reason": "apply" in request.POST,
                "opts": model_admin.model._meta,
            }
            return TemplateResponse(request, "admin/action_with_reason.html", context)
        done = 0
        for obj in queryset:
            try:
                act(obj, request.user, reason)
                done += 1
            except (ValidationError, DomainError) as exc:
                model_admin.message_user(
                    request, f"{obj}: {'; '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
        if done:
            model_admin.message_user(request, f"{description}: {done}", messages.SUCCESS)
        return None

    action.short_description = description  # type: ignore[attr-defined]
    action.allowed_permissions = ("change",)  # type: ignore[attr-defined]  # view-only staff may not decide
    action.__name__ = description.lower().replace(" ", "_").replace("-", "_")
    return action


class ServiceOnlyAdmin(admin.ModelAdmin[Any]):
    """Every field read-only, no add or delete: rows change through services (admin actions), never by editing."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        model: type[models.Model] = self.model
        return [field.name for field in model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ServiceOnlyAdmin):
    """Records staff only look at (logs, imports, money events)."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

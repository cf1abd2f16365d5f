"""Stripe webhook events: verified, stored by id, processed once; processing re-reads the object from Stripe, so
duplicates and any order of delivery end in the same state."""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from payments import services
from payments.models import Deposit, Settlement, WebhookEvent

log = logging.getLogger(__name__)


def webhook_event_receive(*, event: dict[str, Any]) -> WebhookEvent:
    """Store a verified event and process it unless an earlier delivery already did."""
    stored, _created = WebhookEvent.objects.get_or_create(
        id=event["id"], defaults={"type": event.get("type", ""), "payload": event}
    )
    if stored.processed_at is None:
        webhook_event_process(event_id=stored.id)
    return stored


def webhook_event_process(*, event_id: str) -> None:
    """Process one stored event under its row lock (a concurrent duplicate waits, then finds it processed)."""
    with transaction.atomic():
        stored = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if stored.processed_at is not None:
            return
        if stored.type.startswith("payment_intent."):
            _payment_intent_changed(stored.payload.get("data", {}).get("object", {}))
        else:
            log.info("Stripe event %s of type %s ignored", stored.id, stored.type)
        stored.processed_at = timezone.now()
        stored.save(update_fields=["processed_at"])


def _payment_intent_changed(intent: dict[str, Any]) -> None:
    intent_id = intent.get("id")
    if not intent_id:
        return
    for deposit_id in Deposit.objects.filter(payment_intent=intent_id).values_list("pk", flat=True):
        services.deposit_sync(deposit_id=deposit_id)  # re-read from Stripe: the event may be stale
    for settlement_id in Settlement.objects.filter(payment_intent=intent_id).values_list("pk", flat=True):
        services.settlement_sync(settlement_id=settlement_id)

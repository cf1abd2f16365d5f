"""Celery adapters for payments: each takes an id, calls a service and is safe to run again."""

import logging
from functools import partial
from typing import Any

from celery import shared_task
from django.db import transaction
from kombu.exceptions import OperationalError

from payments import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def settlement_open(auction_id: int) -> None:
    services.settlement_open(auction_id=auction_id)


def queue_on_commit(task: Any, *args: int) -> None:
    """Queue `task` once the caller's transaction (an auction's close or cancellation) commits. Best effort: with
    the broker unreachable the caller's change still stands, and `payments_sweep` does the work within a minute."""
    transaction.on_commit(partial(_queue_best_effort, task, *args))


def _queue_best_effort(task: Any, *args: int) -> None:
    try:
        task.delay(*args)
    except OperationalError:  # kombu's error for an unreachable broker (a task's own failure still propagates)
        log.warning("%s%s not queued: broker unreachable; the payments sweep will do it", task.name, args)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def deposits_release(auction_id: int) -> None:
    services.deposits_release(auction_id=auction_id)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def settlement_payout(settlement_id: int) -> None:
    services.settlement_payout(settlement_id=settlement_id)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def settlement_forfeit_payout(settlement_id: int) -> None:
    services.settlement_forfeit_payout(settlement_id=settlement_id)


@shared_task(ignore_result=True, acks_late=True)
def settlements_default_due() -> None:
    services.settlements_default_due()


@shared_task(ignore_result=True, acks_late=True)
def offers_expire_due() -> None:
    services.offers_expire_due()


@shared_task(ignore_result=True, acks_late=True)
def payments_sweep() -> None:
    services.payments_sweep()


@shared_task(ignore_result=True, acks_late=True)
def ledger_reconcile() -> None:
    from payments.reconcile import ledger_reconcile

    ledger_reconcile()

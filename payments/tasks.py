"""Celery adapters for payments: each takes an id, calls a service and is safe to run again."""

from celery import shared_task

from payments import services


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def settlement_open(auction_id: int) -> None:
    services.settlement_open(auction_id=auction_id)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def deposits_release(auction_id: int) -> None:
    services.deposits_release(auction_id=auction_id)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=10)
def settlement_payout(settlement_id: int) -> None:
    services.settlement_payout(settlement_id=settlement_id)


@shared_task(ignore_result=True, acks_late=True)
def settlements_default_due() -> None:
    services.settlements_default_due()


@shared_task(ignore_result=True, acks_late=True)
def ledger_reconcile() -> None:
    from payments.reconcile import ledger_reconcile

    ledger_reconcile()

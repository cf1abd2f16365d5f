"""Celery adapters for the auction lifecycle: each takes an id, calls a service and is safe to run again."""

from celery import shared_task

from auctions import notifications, services


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=50, time_limit=60)
def auction_open(auction_id: int) -> bool:
    return services.auction_open(auction_id=auction_id)


@shared_task(ignore_result=True, acks_late=True, soft_time_limit=50, time_limit=60)
def auction_close(auction_id: int) -> bool:
    return services.auction_close(auction_id=auction_id)


@shared_task(ignore_result=True)
def auctions_sweep() -> tuple[int, int]:
    return services.auctions_sweep()


@shared_task(ignore_result=True)
def outbid_queue_drain() -> int:
    return notifications.outbid_queue_drain()


@shared_task(ignore_result=True)
def results_unsent() -> int:
    return notifications.results_unsent()


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_results(auction_id: int) -> None:
    notifications.notify_results(auction_id=auction_id)

"""Celery adapters for portfolios: the loan-tape import runs in a worker."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True, time_limit=3 * 3600, soft_time_limit=3 * 3600 - 60)
def loan_tape_import_run(job_id: int) -> None:
    """Import one uploaded tape; a finished job is left alone, so a redelivered message changes nothing."""
    from portfolios.services.loan_tape import loan_tape_import  # the service module queues this task

    loan_tape_import(job_id=job_id)

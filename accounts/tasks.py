"""E-mail leaves through a worker: a slow or failing mail server never breaks a request, and is retried."""

from smtplib import SMTPException

from celery import shared_task
from django.core.mail import send_mail


@shared_task(
    autoretry_for=(OSError, SMTPException),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_kwargs={"max_retries": 10},
    ignore_result=True,
)
def email_send(*, to: list[str], subject: str, body: str) -> None:
    send_mail(subject=subject, message=body, from_email=None, recipient_list=to)

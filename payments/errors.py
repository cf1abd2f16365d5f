"""The payments app's domain error (a machine code and a sentence; the API renders it)."""

from marketplace.errors import DomainError


class PaymentError(DomainError):
    pass

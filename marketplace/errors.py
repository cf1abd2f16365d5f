"""The base of every app's domain errors: a machine code for clients and a sentence for people."""

from typing import Any


class DomainError(Exception):
    """A request the business rules refuse (not a bug): shown to the user; on the API a 4xx, 409 by default.

    `extra` travels with the API error body (for example `min_next_bid` with `too_low`)."""

    http_status = 409

    def __init__(self, code: str, message: str, *, http_status: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra
        if http_status is not None:
            self.http_status = http_status

"""The base of every app's domain errors: a machine code for clients and a sentence for people."""


class DomainError(Exception):
    """A request the business rules refuse (not a bug): shown to the user; on the API a 4xx, 409 by default."""

    http_status = 409

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if http_status is not None:
            self.http_status = http_status

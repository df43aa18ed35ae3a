class DomainError(Exception):
    """A rule refused the change. The message is translated and shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class PermissionDenied(DomainError):
    """The user may not make this change (views answer 403)."""

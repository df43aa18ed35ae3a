from django.core.exceptions import PermissionDenied as DjangoPermissionDenied


class DomainError(Exception):
    """A rule refused the change. The message is translated and shown to the user as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


class PermissionDenied(DjangoPermissionDenied):
    """The user may not make this change.

    A subclass of Django's own, not of DomainError: views catch DomainError to show a rule's
    refusal as a message, and let this one through to Django, which answers 403 with the message
    on the error page (templates/403.html). No view converts it by hand."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return str(self.message)

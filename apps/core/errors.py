"""The one error type services raise for refused operations.

Views, consumers, tools and tasks catch `ApplicationError` and turn it into a
clear message; anything else is a bug and goes to Sentry.
"""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A business rule refused the operation. `code` is stable, `message` is for people."""

    def __init__(self, message: str, *, code: str = "invalid", extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message


class NotFound(ApplicationError):
    """The object does not exist, or the caller may not see it (never tell which)."""

    def __init__(self, message: str = "Not found.", *, code: str = "not_found", extra: dict[str, Any] | None = None):
        super().__init__(message, code=code, extra=extra)


class PermissionDenied(ApplicationError):
    def __init__(self, message: str = "Not allowed.", *, code: str = "forbidden", extra: dict[str, Any] | None = None):
        super().__init__(message, code=code, extra=extra)

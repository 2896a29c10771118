"""Unexpected exceptions go to Sentry (a no-op when no DSN is configured) and the log."""

from __future__ import annotations

import logging
from typing import Any

import sentry_sdk

logger = logging.getLogger("switchboard.errors")


def capture_exception(exc: BaseException, **context: Any) -> None:
    """Report a bug. An `ApplicationError` (a refusal, not a bug) is only logged."""
    from apps.core.errors import ApplicationError

    if isinstance(exc, ApplicationError):
        logger.info("refused: %s (%s) %s", exc, exc.code, context)
        return
    logger.error("unexpected error: %s", exc, exc_info=exc, extra={"context": context})
    with sentry_sdk.new_scope() as scope:
        for key, value in context.items():
            scope.set_tag(key, str(value))
        sentry_sdk.capture_exception(exc)

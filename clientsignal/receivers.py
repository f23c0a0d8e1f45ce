"""A client event's receivers run, each failure logged once, with its traceback.

Django's ``Signal.send_robust`` logs every receiver that raises (logger ``django.dispatch``,
with the traceback) and returns the exception; clientsignal logs it again with the event and
the connection. The failures of the receivers clientsignal itself runs are held back from
``django.dispatch`` while they run, and logged once, by ``clientsignal``; anything else
``django.dispatch`` logs meanwhile (a receiver's own ``send_robust`` of another signal) is
logged as it would have been, once the receivers have returned.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

logger = logging.getLogger("clientsignal")
dispatch_logger = logging.getLogger("django.dispatch")

# The django.dispatch records held back while this greenlet (or thread) runs receivers.
_held: contextvars.ContextVar[list[logging.LogRecord] | None] = contextvars.ContextVar(
    "clientsignal_held_dispatch_records", default=None
)


class _HoldBack(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        held = _held.get()
        if held is None or not record.exc_info:
            return True
        held.append(record)
        return False


_hold_back = _HoldBack()


def send(signal: Any, event: str, connection: Any, data: dict[str, Any]) -> tuple[bool, list[Any]]:
    """``signal.send_robust`` for ``connection``'s ``event``: whether a receiver raised (each
    logged with its traceback, once), and the answers that are not None, in order."""
    dispatch_logger.addFilter(_hold_back)  # once: a logger keeps one of each filter
    held: list[logging.LogRecord] = []
    token = _held.set(held)
    try:
        results = signal.send_robust(sender=connection.user, connection=connection, **data)
    finally:
        _held.reset(token)
    failures = [result for _receiver, result in results if isinstance(result, Exception)]
    for record in held:
        if not (record.exc_info and any(record.exc_info[1] is f for f in failures)):
            dispatch_logger.handle(record)  # not one of ours: logged as Django would have
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error(
                "receiver %r of event %r raised (connection %r)",
                receiver,
                event,
                connection,
                exc_info=(type(result), result, result.__traceback__),
            )
    answers = [result for _receiver, result in results if not isinstance(result, Exception)]
    return bool(failures), [answer for answer in answers if answer is not None]

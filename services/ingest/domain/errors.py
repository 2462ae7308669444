"""Why a source event is refused. Reasons name fields and rules, never values (要配慮個人情報)."""

from __future__ import annotations

from typing import Literal, get_args

ErrorClass = Literal[
    "not_json", "invalid_envelope", "unknown_type", "invalid_data", "invalid_encoding", "too_large",
    "unknown_system", "invalid_value", "duplicate_id_different_content", "internal_error",
    # Refusals only the HTTP intake makes (before it has read the body):
    "unauthorised", "forbidden", "unsupported_media_type",
]
ERROR_CLASSES: tuple[str, ...] = get_args(ErrorClass)
# The three ways in; the ``intake`` label of tsunagu_ingest_events_failed_total.
INTAKES = ("kafka", "http", "csv")

_MAX_REASON = 500  # a header, not a report: long pydantic error lists are cut


class IngestRejected(Exception):
    """A source event that cannot go downstream; it goes to the dead-letter topic with this reason."""

    def __init__(self, error_class: ErrorClass, reason: str, event_id: str | None = None) -> None:
        super().__init__(f"{error_class}: {reason}")
        self.error_class: ErrorClass = error_class
        self.reason = reason[:_MAX_REASON]
        self.event_id = event_id  # when the event got far enough to name itself


class InvalidDate(ValueError):
    """A date string that is not a real calendar date (平成32年, 2月30日, 令和元年4月1日 …)."""

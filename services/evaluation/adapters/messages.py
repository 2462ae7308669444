"""Decoding the three input topics at the edge: raw bytes → a validated envelope, or a reason to skip."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.topics.casework import AlertV1, CaseOutcomeV1
from contracts.topics.privacy_deletions import DeletionRequestV1
from contracts.topics.scoring_flags import ChildFlagsV1

log = logging.getLogger("tsunagu.evaluation.messages")
MAX_MESSAGE_BYTES = 1_000_000
MODELS: dict[str, type] = {"alerts": AlertV1, "outcomes": CaseOutcomeV1, "flags": ChildFlagsV1,
                           "deletions": DeletionRequestV1}


@dataclass(frozen=True)
class Skipped:
    reason: str  # empty_or_oversized / invalid_schema


def decode(kind: str, raw: bytes | None, where: str) -> Envelope[Any] | Skipped:
    """``where`` is topic-partition@offset, for the log (which names fields, never values)."""
    if raw is None or len(raw) > MAX_MESSAGE_BYTES:
        log.warning("skipped %s message at %s: empty_or_oversized", kind, where)
        return Skipped("empty_or_oversized")
    try:
        return Envelope[MODELS[kind]].model_validate_json(raw)  # type: ignore[valid-type]
    except ValidationError as exc:
        fields = sorted({".".join(map(str, err["loc"])) for err in exc.errors()})[:5]
        log.warning("skipped %s message at %s: invalid_schema, fields %s", kind, where, fields)
        return Skipped("invalid_schema")


def to_utc_naive(moment: datetime | str) -> datetime:
    """Times are stored as naive UTC; a time without an offset is taken as UTC."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value

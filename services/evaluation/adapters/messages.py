"""Decoding the input topics at the edge: raw bytes → a validated envelope, or a reason to skip.

bootstrap hands ``decode`` to the worker's use case (service_layer/ports.py's ``Decoder``)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.topics.casework import AlertV1, CaseOutcomeV1
from contracts.topics.privacy_deletions import DeletionRequestV1
from contracts.topics.privacy_optouts import OptOutV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.evaluation.service_layer.ports import Skipped

log = logging.getLogger("tsunagu.evaluation.messages")
MAX_MESSAGE_BYTES = 1_000_000
MODELS: dict[str, type] = {"alerts": AlertV1, "outcomes": CaseOutcomeV1, "flags": ChildFlagsV1,
                           "deletions": DeletionRequestV1, "optouts": OptOutV1}


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


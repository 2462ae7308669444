"""Raw bytes from a source topic → a validated CloudEvents envelope with its system's payload model."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.sources import SOURCE_SYSTEMS, SourceSystem
from contracts.sources._common import SourceData
from services.ingest.domain.errors import IngestRejected

# Envelope[Model] builds a new class per call; build each once.
_ENVELOPES: dict[tuple[str, str], type[Envelope[Any]]] = {
    (system.system, event_type): Envelope[model]  # type: ignore[valid-type]
    for system in SOURCE_SYSTEMS.values()
    for event_type, model in system.event_types.items()
}


def decode_event(system: SourceSystem, raw: bytes | None, max_bytes: int) -> Envelope[SourceData]:
    """Parses and validates one source event; raises IngestRejected with a value-free reason."""
    if raw is None:
        raise IngestRejected("not_json", "empty message (tombstone)")
    if len(raw) > max_bytes:
        raise IngestRejected("too_large", f"event is {len(raw)} bytes; the limit is {max_bytes}", _id_of(raw))
    try:
        obj = orjson.loads(raw)  # validates UTF-8 and JSON in one C pass
    except orjson.JSONDecodeError as exc:
        raise _parse_failure(raw, exc) from None
    return validate_envelope(system, obj)


def _id_of(raw: bytes) -> str | None:
    """The id of an over-size event, so its source can tell which one it was (the broker's 2 MiB bounds it)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    raw_id = obj.get("id") if isinstance(obj, dict) else None
    return raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 128 else None


def validate_envelope(system: SourceSystem, obj: Any) -> Envelope[SourceData]:
    """Validates an already-parsed event (the CSV importer builds dicts; no need to print and re-parse)."""
    if not isinstance(obj, dict):
        raise IngestRejected("invalid_envelope", "top level is not a JSON object")
    # The id, when usable, goes into the dead letter's headers so the source can find its event.
    raw_id = obj.get("id")
    event_id = raw_id if isinstance(raw_id, str) and 0 < len(raw_id) <= 128 else None
    event_type = obj.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise IngestRejected("invalid_envelope", "type: missing or not a string", event_id)
    envelope_model = _ENVELOPES.get((system.system, event_type))
    if envelope_model is None:
        raise IngestRejected(
            "unknown_type",
            f"type: not an event type of {system.system} (expected one of {', '.join(system.event_types)})",
            event_id,
        )
    try:
        return envelope_model.__pydantic_validator__.validate_python(obj)  # model_validate without its wrapper
    except ValidationError as exc:
        raise _rejection(exc, event_id) from None


def _parse_failure(raw: bytes, exc: orjson.JSONDecodeError) -> IngestRejected:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return IngestRejected("invalid_encoding", f"not UTF-8 (bad byte at offset {bad.start})")
    if "surrogate" in exc.msg:
        return IngestRejected("invalid_encoding", "a string holds an unpaired UTF-16 surrogate")
    # orjson's messages name the problem and its position, never the text around it.
    return IngestRejected("not_json", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")


def _rejection(exc: ValidationError, event_id: str | None) -> IngestRejected:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    in_data = all(e["loc"][:1] == ("data",) and len(e["loc"]) > 1 for e in errors)
    reason = "; ".join(f"{_loc(e['loc'])}: {e['msg']}" for e in errors[:5])
    if len(errors) > 5:
        reason += f"; and {len(errors) - 5} more"
    if any(e["type"] == "string_unicode" for e in errors):
        # JSON allows "\ud800" escapes; a lone surrogate is an encoding fault, not a wrong value.
        return IngestRejected("invalid_encoding", reason, event_id)
    return IngestRejected("invalid_data" if in_data else "invalid_envelope", reason, event_id)


def _loc(loc: tuple[int | str, ...]) -> str:
    # Locations are field names and list indexes from our own schema (extra fields are ignored),
    # so they never carry a value from the event.
    return ".".join(str(part) for part in loc) or "(event)"

"""The CloudEvents 1.0 envelope every Tsunagu event travels in.

Attribute names follow CloudEvents 1.0 (structured JSON mode): ``specversion``, ``id``, ``source``,
``type``, ``time``, ``subject``, ``datacontenttype``; the schema version is the extension attribute
``schemaversion`` (CloudEvents extension names are lower-case alphanumerics).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

DataT = TypeVar("DataT", bound=BaseModel)


class Envelope(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event whose ``data`` is one of Tsunagu's versioned payloads."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents spec version; always 1.0")
    id: str = Field(
        min_length=1,
        max_length=128,
        description="Unique id of this event at its source. A repeated id is the same event (idempotency).",
        examples=["jr-2025-000123"],
    )
    source: str = Field(
        min_length=1,
        max_length=256,
        description="URI-reference of the producing system, e.g. /fukuoka/resident-registry",
        examples=["/fukuoka/resident-registry"],
    )
    type: str = Field(
        min_length=1,
        max_length=128,
        description="Event type, e.g. resident_registry.person.registered",
        examples=["resident_registry.person.registered"],
    )
    time: AwareDatetime = Field(description="When the change happened at the source (RFC 3339 with offset)")
    subject: str | None = Field(
        None,
        max_length=128,
        description="Opaque subject key (e.g. a 宛名番号 or child id); never a name",
    )
    datacontenttype: Literal["application/json"] = "application/json"
    schemaversion: int = Field(1, ge=1, description="Major version of the data schema (Tsunagu extension)")
    data: DataT


def new_event_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


def envelope_dict(
    *, data: BaseModel | dict[str, Any], type_: str, source: str, subject: str | None, event_id: str | None = None,
    time: datetime | str | None = None, schemaversion: int = 1,
) -> dict[str, Any]:
    """Builds a JSON-ready envelope for a service's own output events. ``data`` is a contract model, or its JSON
    already built as a dict (hot paths that validate in their tests); ``time`` a datetime or an ISO string."""
    return {
        "specversion": "1.0",
        "id": event_id or new_event_id(),
        "source": source,
        "type": type_,
        "time": time if isinstance(time, str) else (time or utcnow()).isoformat(),
        "subject": subject,
        "datacontenttype": "application/json",
        "schemaversion": schemaversion,
        "data": data if isinstance(data, dict) else data.model_dump(mode="json"),
    }

"""The messages scoring's integration tests produce: linkage.facts.v1 envelopes as linkage writes them."""

from __future__ import annotations

import json
import uuid

FACTS = "linkage.facts.v1"


def fact_envelope(child_id: str, fact_id: str, **overrides: object) -> bytes:
    fact = {
        "fact_id": fact_id, "child_id": child_id, "kind": "public_assistance", "relation": "household",
        "status": "asserted", "source_system": "public_assistance", "record_id": f"rec-{uuid.uuid4()}",
        "record_date": "2026-04-01", "valid_from": "2026-04-01", "valid_to": None,
        "attributes": {"case_no": "C-1", "start_date": "2026-04-01"},
    }
    fact.update(overrides)
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tsunagu/linkage",
                       "type": "linkage.fact.changed", "time": "2026-06-01T09:00:00+09:00", "subject": child_id,
                       "data": fact}).encode()


def residence(child_id: str, born: str = "2015-05-01", since: str | None = "2021-04-01", **overrides: object) -> bytes:
    return fact_envelope(child_id, f"{child_id}-res", kind="residence", relation="self",
                         source_system="resident_registry", valid_from=since or born, record_date=since or born,
                         attributes={"ward_code": "40133", "birth_date": born, "sex": "2", "resident_since": since},
                         **overrides)

"""Disclosure (開示) in linkage: the reply to a request holds the child's own record and keys and the facts held
for it, by source system and date, and nothing of a sibling; a deleted or unknown child is answered "nothing
held"; the reply goes through the outbox (store) and changes no state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.envelope import Envelope, envelope_dict
from contracts.topics.privacy_disclosures import (
    REPLY_EVENT_TYPE,
    REPLY_TOPIC,
    REQUEST_EVENT_TYPE,
    DisclosureReplyV1,
    DisclosureRequestV1,
)
from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.service_layer.disclosure import handle_disclosures
from services.linkage.service_layer.handlers import Incoming, LinkageService
from tests.unit.linkage.test_privacy_deletion import (
    CHILD,
    CHILD_ID,
    SIBLING,
    _city,
    _delete,
    _sent,
    _service,
    _stored_text,
)

pytestmark = pytest.mark.unit
SIBLING_ID = person_id_for(atena_key(SIBLING))


def _ask(service: LinkageService, child_id: str, request_id: str = "dis-1") -> list[DisclosureReplyV1]:
    request = DisclosureRequestV1(request_id=request_id, child_id=child_id,
                                  requested_at="2025-10-01T10:00:00+09:00")
    value = json.dumps(envelope_dict(data=request, type_=REQUEST_EVENT_TYPE, source="/tsunagu/casework",
                                     subject=child_id)).encode()
    sent = _sent(service, handle_disclosures(service, [
        Incoming(value, child_id.encode(), "privacy.disclosures.v1", 0, 0),
        Incoming(b"garbage", b"x", "privacy.disclosures.v1", 0, 1)]))
    assert [(topic, key) for topic, key, _, _ in sent] == [(REPLY_TOPIC.name, request_id.encode())]
    events = [Envelope[DisclosureReplyV1].model_validate_json(value) for _, _, value, _ in sent if value]
    assert all(e.type == REPLY_EVENT_TYPE and e.id == f"{request_id}:linkage" for e in events)
    return [e.data for e in events]


def test_the_reply_holds_the_childs_record_keys_and_facts_and_nothing_of_the_sibling(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    stored_before = _stored_text(service)
    (reply,) = _ask(service, CHILD_ID)
    assert (reply.request_id, reply.child_id, reply.service, reply.held) == ("dis-1", CHILD_ID, "linkage", True)
    entries = {(e.label, e.value) for e in reply.entries}
    assert ("氏名", "南 空") in entries and ("生年月日", "2023-04-05") in entries
    assert any(label == "宛名番号" and value.startswith(CHILD) for label, value in entries)
    by_kind = {(f.source_system, f.kind, f.relation): f for f in reply.facts}
    assert ("maternal_child_health", "infant_checkup", "self") in by_kind
    assert by_kind[("maternal_child_health", "infant_checkup", "self")].record_date == "2025-06-01"
    assert ("public_assistance", "public_assistance", "household") in by_kind  # the household's, labelled so
    text = reply.model_dump_json()
    assert "南 海" not in text and SIBLING not in text and SIBLING_ID not in text and "2021-02-03" not in text
    sibling = _ask(service, SIBLING_ID, "dis-2")[0]
    assert "南 空" not in sibling.model_dump_json() and "infant_checkup" not in {f.kind for f in sibling.facts}
    assert _stored_text(service) == stored_before  # read only (the replies left the outbox once acknowledged)


def test_a_deleted_or_unknown_child_is_answered_nothing_held(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    _delete(service)
    (reply,) = _ask(service, CHILD_ID)
    assert (reply.held, reply.facts, reply.entries) == (False, [], [])
    assert _ask(service, "no-such-child", "dis-3")[0].held is False
    assert service.metrics.disclosures.labels("invalid")._value.get() == 2

"""Disclosure (開示) across services, in casework (in-memory SQLite, the worker's real intake): a request is queued
for privacy.disclosures.v1 and audited; linkage's and scoring's answers are kept once, only for the request's own
child and only from a service asked; the report shows each part with when it answered, or 「未回答」 with the
request time, and after the deadline which part is missing; it can be produced again from the request id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.envelope import envelope_dict
from contracts.topics.privacy_disclosures import (
    REPLY_EVENT_TYPE,
    REQUEST_EVENT_TYPE,
    DisclosureReplyV1,
    HeldEntryV1,
    HeldFactV1,
)
from services.casework.adapters.orm import AuditRecord, OutboxMessage, PrivacyDisclosureReply
from services.casework.bootstrap import Container
from services.casework.service_layer import privacy_disclosure
from services.casework.service_layer.privacy_requests import Refused
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.privacy_data import NOW, add_users, memory_container, populate

pytestmark = pytest.mark.unit
CHILD, OTHER = "pc-00003", "pc-00004"


@pytest.fixture
def c() -> Iterator[Container]:
    container = memory_container()
    add_users(container)
    populate(container, n=6)
    yield container
    container.engine.dispose()


def _reply(request_id: str, service: str, child: str = CHILD, *, held: bool = True,
           case_no: str = "CASE-777") -> bytes:
    reply = DisclosureReplyV1(
        request_id=request_id, child_id=child, service=service,  # type: ignore[arg-type]
        answered_at=(NOW + timedelta(minutes=1)).isoformat(), held=held,
        facts=[HeldFactV1(source_system="public_assistance", kind="public_assistance", relation="household",
                          record_date="2026-04-01", valid_from="2026-04-01", attributes={"case_no": case_no})]
        if held else [],
        entries=[HeldEntryV1(section="本人の記録（名寄せ）", label="宛名番号", value=f"A-{service}-{child}")]
        if held else [])
    return json.dumps(envelope_dict(data=reply, type_=REPLY_EVENT_TYPE, source=f"/tsunagu/{service}",
                                    subject=child, event_id=f"{request_id}:{service}")).encode()


def _answer(c: Container, value: bytes) -> str:
    return WorkerHandlers(c).process("disclosure_reply", value, where="t").outcome


def test_a_request_is_queued_for_the_services_and_audited(c: Container) -> None:
    status = privacy_disclosure.request(c, username="privacy", child_id=CHILD, request_ref="R7-300")
    assert [(p.service, p.state) for p in status.parts] == [("linkage", "pending"), ("scoring", "pending")]
    assert status.deadline_at == NOW + timedelta(minutes=60) and not status.complete
    with c.sessions() as session:
        [message] = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "privacy.disclosures.v1"))
        [entry] = session.scalars(select(AuditRecord).where(AuditRecord.action == "disclosure_request"))
    event = json.loads(message.payload)
    assert message.key == CHILD and event["type"] == REQUEST_EVENT_TYPE and event["id"] == status.request_id
    assert event["data"] == {"request_id": status.request_id, "child_id": CHILD, "requested_at": NOW.isoformat(),
                             "services": ["linkage", "scoring"]}
    assert (entry.child_id, entry.target, entry.outcome) == (CHILD, status.request_id, "ok")
    for user, child, ref in (("hq", CHILD, "R"), ("privacy", "no-such-child", "R"), ("privacy", CHILD, "")):
        with pytest.raises(Refused):
            privacy_disclosure.request(c, username=user, child_id=child, request_ref=ref)
    with c.sessions() as session:
        assert len(list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == "privacy.disclosures.v1")))) == 1  # refusals queue nothing


def test_answers_are_kept_once_for_the_requests_child_only(c: Container) -> None:
    status = privacy_disclosure.request(c, username="privacy", child_id=CHILD, request_ref="R7-301")
    rid = status.request_id
    assert _answer(c, _reply(rid, "linkage", OTHER)) == "wrong_child"  # never another child's data
    assert _answer(c, _reply("no-such-request", "linkage")) == "unknown_request"
    assert _answer(c, _reply(rid, "linkage")) == "stored"
    assert _answer(c, _reply(rid, "linkage", case_no="CHANGED")) == "duplicate"
    assert _answer(c, b'{"not": "a reply"}').startswith("skipped")
    with c.sessions() as session:
        [kept] = session.scalars(select(PrivacyDisclosureReply))
    assert (kept.request_id, kept.service, kept.held) == (rid, "linkage", True)
    assert kept.payload["facts"][0]["attributes"] == {"case_no": "CASE-777"} and OTHER not in json.dumps(kept.payload)


def test_the_report_shows_each_part_or_what_is_missing_and_is_produced_again(c: Container, tmp_path: Path) -> None:
    first = privacy_disclosure.disclose(c, username="privacy", child_id=CHILD, request_ref="R7-302",
                                        out=tmp_path / "1", pdf=False)
    rid = first.status.request_id
    html = first.html.read_text(encoding="utf-8")
    assert html.count("未回答（2026年06月01日 12:00 に照会、回答待ち）") == 2 and "未完成" in html
    assert "試験 太郎3" in html  # casework's own part is there at once
    assert _answer(c, _reply(rid, "linkage")) == "stored"
    second = privacy_disclosure.disclose(c, username="privacy", request_id=rid, out=tmp_path / "2", pdf=False)
    html = second.html.read_text(encoding="utf-8")
    assert "回答済み（2026年06月01日 12:01）" in html and "CASE-777" in html and "生活保護" in html
    assert "世帯（第三者を含む）" in html and "A-linkage-pc-00003" in html and "未完成" in html
    assert [p.state for p in second.status.parts] == ["answered", "pending"]
    c.clock = lambda: NOW + timedelta(minutes=61)  # the deadline passes without scoring's answer
    late = privacy_disclosure.disclose(c, username="privacy", request_id=rid, out=tmp_path / "3", pdf=False)
    html = late.html.read_text(encoding="utf-8")
    assert late.status.missing == ["scoring"] and "期限 2026年06月01日 13:00 を過ぎています" in html
    assert _answer(c, _reply(rid, "scoring", held=False)) == "stored"
    done = privacy_disclosure.disclose(c, username="privacy", request_id=rid, out=tmp_path / "4", pdf=False)
    html = done.html.read_text(encoding="utf-8")
    assert done.status.complete and "未完成" not in html and "保有している情報はありません" in html
    with c.sessions() as session:
        details = [e.detail for e in session.scalars(select(AuditRecord).where(AuditRecord.action == "disclosure")
                                                     .order_by(AuditRecord.seq))]
    assert [d.split(" ")[2:4] for d in details] == [
        ["linkage=pending", "scoring=pending"], ["linkage=answered", "scoring=pending"],
        ["linkage=answered", "scoring=missing"], ["linkage=answered", "scoring=answered"]]
    assert all(f"request={rid}" in d for d in details)
    with pytest.raises(Refused):
        privacy_disclosure.disclose(c, username="privacy", request_id="no-such", out=tmp_path / "5", pdf=False)
    listed = privacy_disclosure.requests(c, username="privacy")
    assert [(s.request_id, s.complete) for s in listed] == [(rid, True)]
    with pytest.raises(Refused):
        privacy_disclosure.requests(c, username="higashi")

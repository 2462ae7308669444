"""Disclosure (開示, privacy.disclosures.v1): what linkage holds about one child, as a reply to casework's request.

``answer`` reads the state (nothing is changed): the person the child id resolves to and every record merged into
it (the same real person), and

* **its own record**: the identity fields linkage keeps (name, kana, birth date, sex, address, ward and since when,
  postal code, school, household number, status) and its keys (宛名番号, 学籍番号) with the source record that
  bound each;
* **the source facts held for it**, by source system and date: every fact linkage attributed to the child (its
  own, and a mother's, household's or guardian's fact that reached it, with ``relation`` saying whose: third-party
  information the privacy officer reviews, APPI 第78条), and its own source facts not attributed to anybody yet;
* its births (the link to its mother: the day only, not the mother) and the clerical reviews about it.

Nothing about another person beyond what was attributed to this child; a child linkage does not hold (never known,
deleted on request) is answered ``held=false``. The reply goes through the outbox in the batch's transaction, keyed
by the request id; a redelivered request is answered again (same event id: casework keeps the first).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from contracts.topics.privacy_disclosures import (
    REPLY_TOPIC,
    DisclosureReplyV1,
    DisclosureRequestV1,
    HeldEntryV1,
    HeldFactV1,
    decode_request,
    reply_message,
)
from services.linkage.domain.model import Person, SourceFact
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.ports import Message
from services.linkage.service_layer.privacy import _cluster

if TYPE_CHECKING:
    from services.linkage.service_layer.handlers import Incoming, LinkageService

log = logging.getLogger("tsunagu.linkage")
SERVICE = "linkage"
OWN = "本人の記録（名寄せ）"
KEYS = "本人を識別する番号"
LINKS = "母子の関係・照合"
FIELDS = (("name_kanji", "氏名"), ("name_kana", "氏名（カナ）"), ("birth_date", "生年月日"), ("sex", "性別"),
          ("address", "住所"), ("ward_code", "区コード"), ("ward_since", "区の適用開始日"), ("postal_code", "郵便番号"),
          ("school_code", "学校コード"), ("household_no", "世帯番号"), ("status", "状態"))
STATUS = {"resident": "市内に住民登録あり", "left": "転出・除票", "known": "住民登録の確認なし", "merged": "統合済み"}
SEX = {"1": "男", "2": "女"}
KEY_LABELS = {"atena": "宛名番号", "student": "学籍番号"}
_SUBJECT_ROLES = ("subject", "child")


def _own_entries(root: Person, cluster: list[Person]) -> list[HeldEntryV1]:
    out = []
    for name, label in FIELDS:
        value = getattr(root, name)
        if value:
            shown = STATUS.get(value, value) if name == "status" else SEX.get(value, value) if name == "sex" else value
            out.append(HeldEntryV1(section=OWN, label=label, value=str(shown)))
    for person in cluster:
        for key, record_id in sorted(person.keys.items()):
            kind, _, number = key.partition(":")
            out.append(HeldEntryV1(section=KEYS, label=KEY_LABELS.get(kind, kind),
                                   value=f"{number}（記録 {record_id} により照合）"))
    merged = len(cluster) - 1
    if merged:
        out.append(HeldEntryV1(section=OWN, label="統合した記録",
                               value=f"{merged}件（同一人物と確認して一つにまとめた記録）"))
    return out


def _fact(payload: dict[str, Any]) -> HeldFactV1:
    return HeldFactV1(source_system=str(payload.get("source_system") or ""), kind=str(payload.get("kind") or ""),
                      relation=str(payload.get("relation") or "self"), record_date=payload.get("record_date"),
                      valid_from=payload.get("valid_from"), valid_to=payload.get("valid_to"),
                      attributes=dict(payload.get("attributes") or {}))


def _facts(state: LinkageState, ids: set[str], keys: set[str]) -> list[HeldFactV1]:
    out = []
    for sf in state.source_facts.values():
        mine = sf.payloads(ids)
        if mine:
            out += [_fact(p) for p in mine]
        elif any(role in _SUBJECT_ROLES and k in keys for role, k in sf.refs):  # its own, not attributed (yet)
            out.append(_unattributed(sf))
    return out


def _unattributed(sf: SourceFact) -> HeldFactV1:
    return HeldFactV1(source_system=sf.system, kind=sf.kind, relation="self", record_date=sf.record_date,
                      valid_from=sf.valid_from, valid_to=sf.valid_to, attributes=dict(sf.attributes))


def _links(state: LinkageState, ids: set[str], keys: set[str]) -> list[HeldEntryV1]:
    out = []
    for births in state.births.values():
        for birth in births:
            if birth.child_key in keys:
                out.append(HeldEntryV1(section=LINKS, label="出生の記録（母との関係）",
                                       value=f"{birth.birth_date or '日付なし'} 出生。母の記録と結び付けています"))
    for review in state.reviews.values():
        if review.subject_key in keys:
            state_ja = "確認済み" if review.decided else "確認待ち"
            out.append(HeldEntryV1(section=LINKS, label=f"照合の確認（{state_ja}）",
                                   value=f"{review.system or '不明'} の記録 {review.record_id}: {review.reason}"))
    return out


def answer(request: DisclosureRequestV1, state: LinkageState, *, now: datetime) -> DisclosureReplyV1:
    """What linkage holds about the request's child (read only)."""
    cluster = _cluster(state, request.child_id)
    base = {"request_id": request.request_id, "child_id": request.child_id, "service": SERVICE,
            "answered_at": now.isoformat()}
    if not cluster:
        return DisclosureReplyV1(**base, held=False)
    root = state.resolve(request.child_id) or cluster[0]
    ids = {p.person_id for p in cluster}
    keys = {k for p in cluster for k in p.keys}
    return DisclosureReplyV1(**base, held=True, facts=_facts(state, ids, keys),
                             entries=_own_entries(root, cluster) + _links(state, ids, keys))


def handle_disclosures(service: LinkageService, batch: Sequence[Incoming]) -> list[tuple[int, Message]]:
    """privacy.disclosures.v1 in: one reply per request on privacy.disclosure_replies.v1, through the outbox."""
    messages: list[Message] = []
    for item in batch:
        request = decode_request(item.value)
        if request is None:
            service.metrics.disclosures.labels("invalid").inc()
            log.warning("skipped an undecodable disclosure request at %s-%s@%s", item.topic, item.partition,
                        item.offset)
            continue
        reply = answer(request, service.state, now=service.clock.now())
        key, value = reply_message(reply, service.source_uri)
        outcome = "held" if reply.held else "not_held"
        service.metrics.disclosures.labels(outcome).inc()
        log.info("disclosure request %s answered (%s, %d facts)", request.request_id, outcome, len(reply.facts))
        messages.append((REPLY_TOPIC.name, key, value, {}))
    return service._commit(messages)

"""Disclosure (開示) in scoring: what scoring holds about one child, as a reply to casework's request.

Casework publishes a request on privacy.disclosures.v1 (key child id, co-partitioned with linkage.facts.v1 and the
``child-state`` table), so the instance that holds the child's state reads it. ``answer`` is pure: the child's row
from the state store in, the reply out — the facts scoring keeps for its look-back windows (by source system and
date, as linkage sent them), the current assessment (items with what they rest on, tier, connection signals), the
ward, the day it was evaluated, and the opt-out (利用停止) state. Nothing about another child: only the row of the
request's child is read. A child scoring does not hold (never known, deleted on request) is answered ``held=false``.
No row is changed; a redelivered request is answered again (the same event id: casework keeps the first).
Logs and metrics carry no child id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from contracts.topics.privacy_disclosures import (
    DisclosureReplyV1,
    DisclosureRequestV1,
    HeldEntryV1,
    HeldFactV1,
    reply_message,
)
from services.scoring.service_layer.state import ChildState

SOURCE = "/tsunagu/scoring"
SERVICE = "scoring"
ASSESSMENT = "現在の判定（基本連携データ項目）"
RECORD = "判定の記録"
TIERS = {"high": "高", "medium": "中", "low": "低"}


class DisclosureStore(Protocol):
    """The child-state rows (read only)."""

    def get(self, child_id: str) -> dict[str, Any] | None: ...


def _fact(raw: dict[str, Any]) -> HeldFactV1:
    return HeldFactV1(source_system=str(raw.get("source_system") or ""), kind=str(raw.get("kind") or ""),
                      relation=str(raw.get("relation") or "self"), record_date=raw.get("record_date"),
                      valid_from=raw.get("valid_from"), valid_to=raw.get("valid_to"),
                      attributes=dict(raw.get("attributes") or {}))


def _grounds(evidence: list[dict[str, Any]]) -> str:
    parts = [f"{e.get('summary_ja') or e.get('fact_kind')}"
             f"（{e.get('source_system')}、{e.get('record_date') or '日付なし'}）" for e in evidence]
    return "根拠: " + "／".join(parts) if parts else "根拠の記録なし"


def _assessment(assessment: dict[str, Any] | None) -> list[HeldEntryV1]:
    if not assessment:
        return [HeldEntryV1(section=ASSESSMENT, label="判定結果", value="通知した判定はありません")]
    out = []
    for flag in assessment.get("flags") or []:
        grounds = _grounds(flag.get("evidence") or [])
        detail = f"{flag.get('raised_on')}から該当。{flag.get('detail_ja') or ''} {grounds}"
        out.append(HeldEntryV1(section=ASSESSMENT, label=f"項目{flag.get('item')} {flag.get('label_ja')}",
                               value=" ".join(detail.split())))
    if not out:
        out.append(HeldEntryV1(section=ASSESSMENT, label="該当項目", value="該当する項目はありません"))
    for signal in assessment.get("signals") or []:
        grounds = _grounds(signal.get("evidence") or [])
        detail = f"{signal.get('raised_on')}から。{signal.get('detail_ja') or ''} {grounds}"
        out.append(HeldEntryV1(section=ASSESSMENT, label=f"行政とのつながり: {signal.get('label_ja')}",
                               value=" ".join(detail.split())))
    tier = assessment.get("tier")
    out.append(HeldEntryV1(section=ASSESSMENT, label="段階・点数",
                           value=f"{TIERS.get(tier, tier) if tier else '段階なし'}（{assessment.get('score', 0)}点）"))
    if assessment.get("supported_by_child_guidance"):
        out.append(HeldEntryV1(section=ASSESSMENT, label="児童相談所", value="支援中として判定"))
    return out


def _record(state: ChildState) -> list[HeldEntryV1]:
    out = [HeldEntryV1(section=RECORD, label="判定した日", value=state.evaluated_on or "未判定"),
           HeldEntryV1(section=RECORD, label="規則・重みの版", value=state.evaluated_with or "—"),
           HeldEntryV1(section=RECORD, label="通知先の区（区コード）", value=state.last_ward or "不明"),
           HeldEntryV1(section=RECORD, label="次に見直す日", value=state.next_review_on or "新しい事実が届いたとき"),
           HeldEntryV1(section=RECORD, label="通知した判定の回数", value=str(state.published))]
    gone = len(set(state.versions) - set(state.facts))
    if gone:  # ids and version numbers only, so a replay cannot bring a withdrawn or expired fact back
        out.append(HeldEntryV1(section=RECORD, label="取消し・保存期間満了で消した事実",
                               value=f"{gone}件（内容は保持せず、事実の番号と版のみ）"))
    if state.opt_out is not None:
        held = "利用停止中" if state.opt_out.get("active") else "解除済み"
        at = state.opt_out.get("at") or ""
        out.append(HeldEntryV1(section=RECORD, label="利用停止", value=f"{held}（{at} 記録）"))
    return out


def answer(request: DisclosureRequestV1, store: DisclosureStore, *, now: datetime) -> DisclosureReplyV1:
    """What scoring holds about the request's child (read only)."""
    raw = store.get(request.child_id)
    base = {"request_id": request.request_id, "child_id": request.child_id, "service": SERVICE,
            "answered_at": now.isoformat()}
    if not raw:
        return DisclosureReplyV1(**base, held=False)
    state = ChildState.from_json(raw)
    return DisclosureReplyV1(**base, held=True, facts=[_fact(f) for f in state.facts.values()],
                             entries=_assessment(state.last_assessment) + _record(state))


def reply(request: DisclosureRequestV1, store: DisclosureStore, *, now: datetime) -> tuple[str, bytes, bytes]:
    """The outcome (``held`` / ``not_held``, for the metric) and the (key, value) to send on the replies topic."""
    answered = answer(request, store, now=now)
    key, value = reply_message(answered, SOURCE)
    return ("held" if answered.held else "not_held"), key, value

"""The tamper-evident audit trail: each entry's hash covers its content and the previous entry's hash.

Editing an entry breaks its own hash; deleting or reordering breaks the link to the next entry;
cutting the tail is caught by comparing with the head (last sequence and hash) kept apart from the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

GENESIS = "0" * 64
ACTION_LABELS = {
    "login": "ログイン", "logout": "ログアウト", "list_alerts": "対象者一覧の閲覧",
    "open_live_inbox": "一覧の自動更新接続", "live_alert": "自動更新でのアラート表示",
    "view_child": "児童情報の閲覧", "export_csv": "対象者リストのCSV出力", "record_step": "ケースの記録",
    "create_user": "ユーザー追加", "activate_user": "ユーザー再開", "deactivate_user": "ユーザー停止",
    "review_decision": "名寄せの判定", "view_audit": "操作記録の閲覧", "export_audit": "操作記録のCSV出力",
    "list_users": "ユーザー一覧の閲覧", "change_password": "パスワード変更", "list_reviews": "名寄せ候補の閲覧",
    "masked_extract": "仮名加工データの作成", "destroy_extract_key": "仮名化鍵の廃棄",
    "confirm_extract_deleted": "提供データの削除確認", "disclosure": "保有個人情報の開示",
    "disclosure_request": "開示請求の受付（各サービスへの照会）", "view_disclosures": "開示請求一覧の閲覧",
    "delete_person": "個人データの削除", "opt_out": "利用停止", "opt_out_withdrawn": "利用停止の解除",
    "view_extracts": "提供台帳の閲覧", "download_extract": "仮名加工データのダウンロード",
    "enrol_totp": "二段階認証の設定",
    "rotate_totp_key": "二段階認証の鍵の更新",
    "open_survey": "アンケートの開始", "close_survey": "アンケートの終了", "survey_answer": "アンケートへの回答",
    "view_survey": "アンケート集計の閲覧", "survey_export": "アンケート集計の出力",
    "view_reports": "報告書一覧の閲覧", "download_report": "報告書のダウンロード",
    "view_held": "区が未確定の対象者の閲覧",
    "opt_out_household": "世帯の利用停止", "retention_purge": "保存期間を過ぎた記録の消去",
}
OUTCOME_LABELS = {"ok": "成功", "denied": "拒否", "failed": "失敗"}


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO 8601, UTC
    user_id: str
    role: str
    action: str  # view_child / export_csv / record_step / login / access_denied / ...
    child_id: str | None
    target: str | None  # alert id, user id, review id, ... (never a name)
    ward_code: str | None
    client: str | None  # where from: the client address
    outcome: str  # ok / denied / failed
    detail: str
    prev_hash: str
    hash: str = ""

    def content(self) -> dict[str, object]:
        return {
            "seq": self.seq, "at": self.at, "user_id": self.user_id, "role": self.role, "action": self.action,
            "child_id": self.child_id, "target": self.target, "ward_code": self.ward_code,
            "client": self.client, "outcome": self.outcome, "detail": self.detail, "prev_hash": self.prev_hash,
        }


def entry_hash(entry: AuditEntry) -> str:
    canonical = json.dumps(entry.content(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def sealed(entry: AuditEntry) -> AuditEntry:
    return replace(entry, hash=entry_hash(entry))


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    problem: str | None = None
    at_seq: int | None = None


def verify_chain(entries: Iterable[AuditEntry], head_seq: int | None = None,
                 head_hash: str | None = None, anchors: Mapping[int, str] | None = None) -> Verification:
    """Walks the log in sequence order; reports the first entry that was edited, removed or moved.

    ``anchors`` (sequence → hash, published outside the database) catch a rewrite whose hashes and head were
    recomputed: the rewritten chain no longer passes through the anchored hashes.
    """
    anchors = anchors or {}
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in entries:
        if entry.seq != expected_seq:
            return Verification(False, checked, f"sequence gap: expected {expected_seq}, found {entry.seq}",
                                entry.seq)
        if entry.prev_hash != prev_hash:
            return Verification(False, checked, "link to the previous entry is broken", entry.seq)
        if entry_hash(entry) != entry.hash:
            return Verification(False, checked, "entry content does not match its hash", entry.seq)
        if entry.seq in anchors and anchors[entry.seq] != entry.hash:
            return Verification(False, checked, "entry differs from the anchor published outside the database "
                                                "(rewritten and re-hashed)", entry.seq)
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    if head_seq is not None and (head_seq != expected_seq - 1 or head_hash != prev_hash):
        return Verification(False, checked, f"log ends at {expected_seq - 1} but the head says {head_seq}",
                            expected_seq)
    if anchors and max(anchors) >= expected_seq:
        return Verification(False, checked, f"log ends at {expected_seq - 1} but the anchor outside the database "
                                            f"reaches {max(anchors)}", expected_seq)
    return Verification(True, checked)

"""Masked analysis extracts (仮名加工情報, APPI 第41条): produce, register, audit; destroy the key.

A request is checked completely before anything is written; a refusal writes only its own audit entry.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import PrivacyExtract, PrivacyExtractSubject, PrivacyKey
from services.casework.domain.access import Permission
from services.casework.domain.pseudonym import new_key
from services.casework.service_layer import audit_log, privacy_files
from services.casework.service_layer.ports import Stores
from services.casework.service_layer.privacy_extract_rows import build
from services.casework.service_layer.privacy_requests import (
    CLI_CLIENT,
    Refused,
    parse_day,
    refuse_audited,
    requester,
    stated,
)

MAX_PERIOD = timedelta(days=5 * 366)
K = 5


@dataclass(frozen=True)
class ExtractResult:
    extract_id: str
    key_id: str
    out_dir: Path
    row_counts: dict[str, int]
    k_report: dict[str, Any]


def produce(c: Stores, *, username: str, purpose: str | None, period_from: str | None, period_to: str | None,
            out: Path, recipient: str | None = None, k: int = K, client: str | None = CLI_CLIENT) -> ExtractResult:
    """The one way an extract is made: the ``extract`` command and the HQ page (``client`` = the browser's address)
    both call this, so both are checked, registered and audited alike."""
    now = c.clock()
    extract_id, key_id = str(uuid.uuid4()), str(uuid.uuid4())
    target = out / f"extract-{now.strftime('%Y%m%d')}-{extract_id[:8]}"
    try:
        with c.sessions() as session:
            req = requester(session, username, Permission.MASKED_EXTRACT, client)
        stated_purpose = stated(purpose, "利用目的", "no_purpose")
        start, end = parse_day(period_from, "--from"), parse_day(period_to, "--to")
        if end < start:
            raise Refused("empty_period", "期間が空です：終了日が開始日より前です (the period is empty)")
        if end - start > MAX_PERIOD:
            raise Refused("period_too_long", "期間は5年以内にしてください (the period is longer than 5 years)")
        if out.exists() and not out.is_dir():
            raise Refused("bad_out_dir", "出力先がディレクトリではありません (--out is not a directory)")
    except Refused as exc:
        refuse_audited(c.sessions, username, "masked_extract", exc, now, client=client)
        raise
    key = new_key()
    with c.sessions() as session:
        rows = build(session, key, start, end, k=k)
    counts = {name: len(next(iter(cols.values()))) for name, cols in rows.tables.items()}
    k_report = rows.k_result.report(rows.subjects_before)
    fields = {table: list(cols) for table, cols in rows.tables.items()}
    meta = {"extract_id": extract_id, "created_at": now.isoformat(), "purpose": stated_purpose,
            "period": {"from": start.isoformat(), "to": end.isoformat()}, "key_id": key_id,
            "row_counts": counts, "fields": fields, "k_anonymity": k_report,
            "note": "仮名加工情報（個人情報保護法第41条）。他の情報と照合して本人を識別してはならない。"}
    files = privacy_files.write(target, rows.tables, meta)
    try:
        with c.sessions.begin() as session:
            session.add(PrivacyKey(key_id=key_id, key_hex=key.hex(), created_at=now))
            session.flush()
            session.add(PrivacyExtract(
                extract_id=extract_id, created_at=now, created_by=req.principal.user_id,
                created_by_role=req.principal.role.value, purpose=stated_purpose, period_from=start.isoformat(),
                period_to=end.isoformat(), key_id=key_id, fields=fields, row_counts=counts, k_report=k_report,
                files=files, recipient=(recipient or "").strip()[:200] or None))
            session.flush()
            for i in range(0, len(rows.pseudonyms), 10_000):
                session.execute(insert(PrivacyExtractSubject), [
                    {"extract_id": extract_id, "pseudonym": p} for p in rows.pseudonyms[i:i + 10_000]])
            audit_log.append(session, req.actor, "masked_extract", now, target=extract_id,
                             detail=f"period={start.isoformat()}..{end.isoformat()} key={key_id} "
                                    f"children={counts['children']} suppressed={k_report['subjects_suppressed']}")
    except Exception:
        shutil.rmtree(target, ignore_errors=True)  # an extract that is not in the register must not exist
        raise
    return ExtractResult(extract_id, key_id, target, counts, k_report)


def _extract(session: Session, extract_id: str) -> PrivacyExtract:
    extract = session.get(PrivacyExtract, (extract_id or "").strip())
    if extract is None:
        raise Refused("unknown_extract", "その抽出は登録されていません (unknown extract)")
    return extract


def destroy_key(c: Stores, *, username: str, extract_id: str, partner_deleted: bool = False) -> PrivacyKey:
    """Destroys the extract's key (its pseudonyms can never be linked back); optionally records that the
    analysis body confirmed it deleted the extract."""
    now = c.clock()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.MANAGE_EXTRACT_KEYS)
            extract = _extract(session, extract_id)
            key = session.get(PrivacyKey, extract.key_id)
            if key is None or key.key_hex is None:
                raise Refused("key_already_destroyed", "この抽出の鍵は既に廃棄されています (key already destroyed)")
            key.key_hex, key.destroyed_at, key.destroyed_by = None, now, req.principal.user_id
            if partner_deleted:
                extract.deletion_confirmed_at = now
            audit_log.append(session, req.actor, "destroy_extract_key", now, target=extract.extract_id,
                             detail=f"key={key.key_id} partner_deleted={'yes' if partner_deleted else 'no'}")
            return key
    except Refused as exc:
        refuse_audited(c.sessions, username, "destroy_extract_key", exc, now, target=(extract_id or "")[:160])
        raise


def detail(session: Session, extract_id: str) -> dict[str, Any]:
    """One register entry with its k-anonymity report, fields and files (no key material)."""
    e = _extract(session, extract_id)
    key = session.get(PrivacyKey, e.key_id)
    return {"extract_id": e.extract_id, "created_at": e.created_at.isoformat(), "created_by": e.created_by,
            "role": e.created_by_role, "purpose": e.purpose, "period_from": e.period_from, "period_to": e.period_to,
            "recipient": e.recipient, "row_counts": e.row_counts, "fields": e.fields, "k_report": e.k_report,
            "files": e.files, "key_id": e.key_id, "key_destroyed": key is None or key.key_hex is None,
            "partner_deleted": e.deletion_confirmed_at.isoformat() if e.deletion_confirmed_at else None}


def extract_file(c: Stores, *, username: str, extract_id: str, name: str, base: Path,
                 client: str | None = CLI_CLIENT) -> Path:
    """A registered file of an extract written under ``base`` (the HQ page's directory), for download: only a name
    the register lists, only while the key is kept (after destruction the extract is handed over and done with),
    only if its SHA-256 is still the registered one. Audited as ``download_extract``; a refusal changes nothing."""
    now = c.clock()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.MASKED_EXTRACT, client)
            extract = _extract(session, extract_id)
            digest = (extract.files or {}).get(name)
            if digest is None and name != privacy_files.MANIFEST:  # the manifest holds the others' hashes
                raise Refused("unknown_file", "その抽出にこのファイルはありません (not a file of this extract)")
            key = session.get(PrivacyKey, extract.key_id)
            if key is None or key.key_hex is None:
                raise Refused("key_already_destroyed",
                              "この抽出の鍵は廃棄済みのため、ダウンロードできません (key destroyed: no downloads)")
            path = _directory(base, extract.extract_id) / name
            if not path.is_file():
                raise Refused("file_not_here", "この抽出のファイルはこのサーバーにありません（コマンドで作成した抽出は"
                                               "その出力先にあります） (files not on this server)")
            if digest is not None and privacy_files.sha256(path) != digest:
                raise Refused("file_changed", "ファイルが登録時の内容と一致しません。システム担当に連絡してください "
                                              "(SHA-256 differs from the register)")
            audit_log.append(session, req.actor, "download_extract", now, target=extract.extract_id,
                             detail=f"file={name}")
            return path
    except Refused as exc:
        refuse_audited(c.sessions, username, "download_extract", exc, now, target=(extract_id or "")[:160],
                       client=client)
        raise


def _directory(base: Path, extract_id: str) -> Path:
    """The directory ``produce`` made for the extract under ``base`` (its name carries the creation day)."""
    for candidate in sorted(base.glob(f"extract-*-{extract_id[:8]}")):
        manifest = candidate / privacy_files.MANIFEST
        if manifest.is_file() and json.loads(manifest.read_text()).get("extract_id") == extract_id:
            return candidate
    return base / f"extract-missing-{extract_id[:8]}"


def register(session: Session) -> list[dict[str, Any]]:
    """The extract register, newest first (no key material)."""
    out = []
    for e in session.scalars(select(PrivacyExtract).order_by(PrivacyExtract.created_at.desc())):
        key = session.get(PrivacyKey, e.key_id)
        out.append({"extract_id": e.extract_id, "created_at": e.created_at.isoformat(), "created_by": e.created_by,
                    "role": e.created_by_role, "purpose": e.purpose, "period": f"{e.period_from}..{e.period_to}",
                    "recipient": e.recipient, "row_counts": e.row_counts, "key_id": e.key_id,
                    "key_destroyed": key is None or key.key_hex is None,
                    "partner_deleted": e.deletion_confirmed_at.isoformat() if e.deletion_confirmed_at else None})
    return out

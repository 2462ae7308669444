"""The audit chain's head published outside the case database, so a rewrite with recomputed hashes shows.

After every commit that appended audit entries, the new head (sequence and hash) is appended as one JSON line
to a file that the database's users cannot write: its own volume or host, ideally append-only
(``chattr +a``) or shipped to WORM storage. ``verify-audit`` then checks that each anchored sequence still has
that hash in the database; since each hash covers every entry before it, one matching anchor vouches for the
whole chain up to it.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("tsunagu.casework.audit")
HEAD_KEY = "tsunagu_audit_head"  # Session.info: (seq, hash, at) of the last entry appended in this transaction


class AnchorUnreadable(Exception):
    """The anchor file itself is damaged or contradicts itself."""


@dataclass(frozen=True)
class AuditAnchor:
    path: Path

    def publish(self, seq: int, hash_: str, at: str) -> None:
        line = json.dumps({"seq": seq, "hash": hash_, "at": at}, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode())  # one write with O_APPEND: lines from several processes never interleave
        finally:
            os.close(fd)

    def read(self) -> dict[int, str]:
        """Anchored hash by sequence; AnchorUnreadable when a line is damaged or one sequence has two hashes."""
        anchors: dict[int, str] = {}
        if not self.path.exists():
            return anchors
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    item = json.loads(line)
                    seq, hash_ = int(item["seq"]), str(item["hash"])
                except (ValueError, KeyError, TypeError):
                    raise AnchorUnreadable(f"anchor line {number} is damaged") from None
                if anchors.setdefault(seq, hash_) != hash_:
                    raise AnchorUnreadable(f"anchor line {number} contradicts an earlier line for entry {seq}")
        return anchors


def note_head(session: Session, seq: int, hash_: str, at: datetime) -> None:
    session.info[HEAD_KEY] = (seq, hash_, at.isoformat())


def attach(sessions: sessionmaker[Session], anchor: AuditAnchor) -> None:
    """Publish the head after each commit that appended entries (never before: a rollback must leave no anchor)."""

    def after_commit(session: Session) -> None:
        head = session.info.pop(HEAD_KEY, None)
        if head is None:
            return
        try:
            anchor.publish(*head)
        except OSError as exc:  # the entry is committed; verify-audit will report the anchor as behind
            log.error("audit anchor could not be written: %s", type(exc).__name__)

    def after_rollback(session: Session) -> None:
        session.info.pop(HEAD_KEY, None)

    listeners: list[tuple[str, Any]] = [("after_commit", after_commit), ("after_rollback", after_rollback)]
    for name, listener in listeners:
        event.listen(sessions, name, listener)

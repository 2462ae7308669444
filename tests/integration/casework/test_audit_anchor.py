"""A rewrite of the audit chain with recomputed hashes and head is caught by the anchor outside the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from services.casework.adapters.orm import AuditHead, AuditRecord
from services.casework.bootstrap import Container
from services.casework.domain.audit import AuditEntry, sealed
from services.casework.entrypoints import cli
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor
from tests.integration.casework.containers import FakeClock, make_container

pytestmark = pytest.mark.integration


@pytest.fixture
def anchored(pg_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    anchor = tmp_path / "anchor" / "audit.anchor"
    c = make_container(pg_url, clock, audit_anchor_path=anchor)
    for name, value in (("DATABASE_URL", pg_url), ("ENVIRONMENT", "test"), ("SESSION_SECRET", "t" * 32),
                        ("AUDIT_ANCHOR_PATH", str(anchor))):
        monkeypatch.setenv(f"TSUNAGU_CASEWORK_{name}", value)
    actor = Actor("u-1", "ward_staff", "127.0.0.1")
    for i in range(6):
        with c.sessions.begin() as s:  # one commit per request, as the web app does
            audit_log.append(s, actor, "view_child", clock(), child_id=f"c-{i}",
                             outcome="denied" if i % 2 else "ok")
    yield c
    c.engine.dispose()


def rehash_everything(container: Container) -> None:
    """What someone with write access to the database does: recompute every hash and the head."""
    with container.sessions.begin() as s:
        rows = list(s.scalars(select(AuditRecord).order_by(AuditRecord.seq)))
        prev = "0" * 64
        for seq, row in enumerate(rows, 1):
            entry = sealed(AuditEntry(seq=seq, at=row.at, user_id=row.user_id, role=row.role, action=row.action,
                                      child_id=row.child_id, target=row.target, ward_code=row.ward_code,
                                      client=row.client, outcome=row.outcome, detail=row.detail, prev_hash=prev))
            row.seq, row.prev_hash, row.hash, prev = seq, prev, entry.hash, entry.hash
            s.flush()
        head = s.get(AuditHead, 1)
        assert head is not None
        head.seq, head.hash = len(rows), prev


def test_each_commit_publishes_the_head_and_an_intact_chain_verifies(anchored: Container,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert anchored.audit_anchor is not None
    assert sorted(anchored.audit_anchor.read()) == [1, 2, 3, 4, 5, 6]
    assert cli.main(["verify-audit"]) == 0
    assert "against the anchor" in capsys.readouterr().out


def test_an_edit_with_recomputed_hashes_is_detected(anchored: Container) -> None:
    with anchored.sessions.begin() as s:
        s.scalars(select(AuditRecord).where(AuditRecord.seq == 2)).one().child_id = "c-other"
    rehash_everything(anchored)
    with anchored.sessions() as s:
        assert audit_log.verify(s).ok  # without the anchor the rewrite passes ...
        result = audit_log.verify(s, anchored.audit_anchor)
    assert not result.ok and result.at_seq == 2  # ... with it, it is caught at the edited entry
    assert cli.main(["verify-audit"]) == 1


def test_deleting_the_denied_entries_and_rehashing_is_detected(anchored: Container) -> None:
    with anchored.sessions.begin() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.outcome == "denied"))
    rehash_everything(anchored)
    assert cli.main(["verify-audit"]) == 1


def test_cutting_the_tail_and_resetting_the_head_is_detected(anchored: Container) -> None:
    with anchored.sessions.begin() as s:
        s.execute(delete(AuditRecord).where(AuditRecord.seq > 4))
    rehash_everything(anchored)
    with anchored.sessions() as s:
        result = audit_log.verify(s, anchored.audit_anchor)
    assert not result.ok and "reaches 6" in (result.problem or "")


def test_a_rolled_back_transaction_publishes_nothing(anchored: Container) -> None:
    assert anchored.audit_anchor is not None
    with pytest.raises(RuntimeError), anchored.sessions.begin() as s:
        audit_log.append(s, Actor("u-1", "ward_staff", None), "view_child", anchored.clock())
        raise RuntimeError("request failed after the append")
    assert max(anchored.audit_anchor.read()) == 6
    with anchored.sessions() as s:
        assert audit_log.verify(s, anchored.audit_anchor).ok

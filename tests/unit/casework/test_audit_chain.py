"""The audit hash chain detects an edited, deleted, reordered or cut-off entry."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.casework.domain.audit import GENESIS, AuditEntry, sealed, verify_chain

pytestmark = pytest.mark.unit


def chain(n: int) -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = sealed(AuditEntry(seq=seq, at=f"2026-06-01T09:00:{seq:02d}+00:00", user_id="u-1", role="ward_staff",
                                  action="view_child", child_id=f"c-{seq}", target=None, ward_code="40131",
                                  client="127.0.0.1", outcome="ok", detail="", prev_hash=prev))
        entries.append(entry)
        prev = entry.hash
    return entries


def test_an_untouched_chain_verifies() -> None:
    entries = chain(5)
    assert verify_chain(entries, 5, entries[-1].hash).ok


def test_an_edited_entry_is_detected() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], child_id="c-99")
    result = verify_chain(entries, 5, entries[-1].hash)
    assert not result.ok and result.at_seq == 3


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain(5)
    entries[2] = sealed(replace(entries[2], outcome="denied"))
    result = verify_chain(entries, 5, entries[-1].hash)
    assert not result.ok and result.at_seq == 4


def test_a_deleted_entry_is_detected() -> None:
    entries = chain(5)
    del entries[1]
    result = verify_chain(entries, 5, entries[-1].hash)
    assert not result.ok and result.at_seq == 3


def test_reordered_entries_are_detected() -> None:
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    assert not verify_chain(entries, 5, entries[-1].hash).ok


def test_a_cut_off_tail_is_detected_against_the_head() -> None:
    entries = chain(5)
    assert not verify_chain(entries[:3], 5, entries[-1].hash).ok

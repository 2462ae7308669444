"""Every CSV export neutralises cells a spreadsheet would run as formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.casework.adapters.orm import Base
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.csv_safe import safe_cell
from services.ingest.adapters.csv_files import write_rejects

pytestmark = pytest.mark.unit
NASTY = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", NASTY)
def test_formula_starts_are_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_cell("福岡 花子") == "福岡 花子" and safe_cell(None) == ""


def test_the_audit_export_neutralises_ids_sent_by_an_attacker() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for value in NASTY:  # e.g. GET /api/children/=HYPERLINK(...) refused and audited as sent
            audit_log.append(session, Actor("u", "analyst", "127.0.0.1"), "view_child", datetime.now(UTC),
                             child_id=value, target=value, outcome="denied", detail=value)
        rows = list(csv.reader(io.StringIO(audit_log.to_csv(session))))[1:]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[0][5] == "'" + NASTY[0]


def test_the_school_rejects_file_neutralises_cells(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    write_rejects(path, ["氏名"], [(2, "bad", "invalid_value", ["=cmd|' /C calc'!A0"])])
    assert "\n2,invalid_value,bad,'=cmd" in path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")

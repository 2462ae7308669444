"""After a deletion (削除, issue 15) no casework read returns the person, over PostgreSQL and SQLite: the ward's
inbox (API and page), the CSV export, the child (API and page), a later masked extract, a disclosure (it says
nothing is held), and a late flags or profile message from the worker do not bring it back. Linkage, scoring and
evaluation have their own tests over the real broker (docs/privacy.md, Tests)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from services.casework.bootstrap import Container
from services.casework.service_layer import privacy_deletion, privacy_disclosure, privacy_extract
from services.casework.service_layer.privacy_requests import Refused
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for, seed_child
from tests.unit.casework.factories import flags_event, profile_event, raw
from tests.unit.casework.privacy_data import populate

pytestmark = pytest.mark.integration
GONE, NAME = "c-gone", "削除 対象子"


def _extract(c: Container, out: Path) -> privacy_extract.ExtractResult:
    return privacy_extract.produce(c, username="hq", purpose="効果検証", period_from="2025-04-01",
                                   period_to="2026-06-30", out=out)


def test_after_a_deletion_no_casework_read_returns_the_person(container: Container, tmp_path: Path) -> None:
    populate(container, n=40)
    seed_child(container, GONE, "40131", name=NAME, items=[3])
    seed_child(container, "c-stays", "40131", name="残る 子", items=[3])
    for name, role in (("higashi", "ward_staff"), ("hq", "hq_admin"), ("privacy", "privacy_officer")):
        add_user(container, name, role, "40131" if role == "ward_staff" else None)
    ward = client_for(container, "higashi")
    assert GONE in ward.get("/api/alerts").text and NAME in ward.get("/export.csv").text  # visible before
    before = _extract(container, tmp_path / "before")

    result = privacy_deletion.delete_person(container, username="privacy", child_id=GONE, requested_by="保護者",
                                            request_ref="R7-200", confirm=lambda counts, extracts: True)
    assert result.removed["children"] == 1 and result.removed["alerts"] == 1
    assert [e["extract_id"] for e in result.extracts if e["pseudonym"]] == [before.extract_id]  # recall list

    # a late flags or profile message (a replay, one in flight) is dropped, not re-created
    worker = WorkerHandlers(container)
    assert worker.process("flags", raw(flags_event(GONE, "40131", [3], [3, 17], tier_after="重点")),
                          where="test").outcome == "no_alert:deleted"
    assert worker.process("profile", raw(profile_event(GONE, "40131", name=NAME)), where="test").outcome \
        == "no_alert:deleted"

    alerts = ward.get("/api/alerts")
    assert alerts.status_code == 200 and GONE not in alerts.text and "c-stays" in alerts.text
    inbox = ward.get("/")
    assert NAME not in inbox.text and "残る 子" in inbox.text
    export = ward.get("/export.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert len(rows) >= 2 and not any(GONE in cell or NAME in cell for row in rows for cell in row)
    assert ward.get(f"/api/children/{GONE}").status_code in (403, 404)
    page = ward.get(f"/children/{GONE}")
    assert page.status_code in (403, 404) and NAME not in page.text

    after = _extract(container, tmp_path / "after")
    assert after.k_report["subjects_before"] == before.k_report["subjects_before"] - 1
    for path in after.out_dir.iterdir():
        text = path.read_bytes().decode("utf-8", "replace")
        assert GONE not in text and NAME not in text
    # a disclosure says casework holds nothing (deleted on request) and asks linkage and scoring whether they do
    report = privacy_disclosure.disclose(container, username="privacy", child_id=GONE, out=tmp_path / "d",
                                         pdf=False, request_ref="R7-201")
    html = report.html.read_text(encoding="utf-8")
    assert report.status.deleted and "削除請求によりケース管理から削除されています" in html and NAME not in html
    with pytest.raises(Refused):  # a second deletion finds nothing
        privacy_deletion.delete_person(container, username="privacy", child_id=GONE, requested_by="保護者",
                                       request_ref="R7-202", confirm=lambda counts, extracts: True)

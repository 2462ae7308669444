"""利用者アンケート: HQ opens a round, staff answer (a second answer replaces the first), HQ reads the tallies.

SQLite (the survey touches nothing PostgreSQL-specific); every answer is audited without its content.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord, SurveyAnswer
from services.casework.bootstrap import Container
from services.casework.entrypoints import cli
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.web import add_user, client_for

pytestmark = pytest.mark.integration

GOOD = {"list": 4, "evidence": 5, "workflow": 3}


@pytest.fixture
def sq(tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    c = make_container(f"sqlite:///{tmp_path}/casework.db", clock)
    for name, role, ward in [("hq", "hq_admin", None), ("higashi", "ward_staff", "40131"),
                             ("higashi2", "ward_staff", "40131"), ("nishi", "ward_staff", "40135"),
                             ("jisou", "child_guidance", None), ("privacy", "privacy_officer", None),
                             ("analyst", "analyst", None)]:
        add_user(c, name, role, ward)
    yield c
    c.engine.dispose()


def _open(hq: TestClient, title: str = "第1回 利用者アンケート", opens: str = "2026-06-01",
          closes: str = "2026-06-30") -> str:
    response = hq.post("/api/survey/rounds", json={"title": title, "opens_on": opens, "closes_on": closes})
    assert response.status_code == 201, response.text
    round_id: str = response.json()["round_id"]
    return round_id


def test_open_answer_replace_tally(sq: Container) -> None:
    hq = client_for(sq, "hq")
    staff = client_for(sq, "higashi")
    assert "利用者アンケート" not in staff.get("/").text  # no round yet: no notice
    assert staff.get("/api/survey/current").json() == []
    round_id = _open(hq)
    assert hq.post("/api/survey/rounds", json={"title": "重なる回", "opens_on": "2026-06-15",
                                               "closes_on": "2026-07-15"}).status_code == 409
    # staff see the notice on the inbox and the questionnaire
    assert "第1回 利用者アンケート" in staff.get("/").text
    page = staff.get("/survey").text
    assert "とても役に立った" in page and 'name="q_list"' in page and "回答する" in page
    assert staff.get("/api/survey/current").json()[0]["answered"] is False
    first = staff.post(f"/api/survey/{round_id}/answer", json={"scores": GOOD, "comment": "根拠の表示が便利"})
    assert first.json() == {"round_id": round_id, "replaced": False}
    assert "第1回 利用者アンケート" not in staff.get("/").text  # answered: the notice goes
    # the second answer replaces the first (one per user per round)
    second = staff.post(f"/api/survey/{round_id}/answer", json={"scores": {"list": 2, "evidence": 2, "workflow": 2}})
    assert second.json()["replaced"] is True
    client_for(sq, "higashi2").post(f"/api/survey/{round_id}/answer", json={"scores": GOOD})
    client_for(sq, "nishi").post(f"/api/survey/{round_id}/answer", json={"scores": {**GOOD, "list": 5},
                                                                         "comment": "訪問前の確認に使える"})
    client_for(sq, "jisou").post(f"/api/survey/{round_id}/answer", json={"scores": GOOD})
    tallies = hq.get(f"/api/survey/rounds/{round_id}/tallies").json()
    total = tallies["total"]
    assert total["respondents"] == 4
    assert total["questions"]["list"]["counts"] == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1}
    assert total["questions"]["list"]["mean"] == pytest.approx((2 + 4 + 5 + 4) / 4)
    assert tallies["by_ward"]["40131"]["respondents"] == 2
    assert tallies["by_ward"]["40131"]["questions"]["workflow"]["mean"] == pytest.approx(2.5)
    assert tallies["by_ward"]["40135"]["questions"]["list"]["mean"] == 5
    assert tallies["by_ward"]["本庁・全区"]["respondents"] == 1  # 児童相談所 without a ward
    # the replaced comment is gone; the other stays, without who wrote it
    assert tallies["comments"] == [{"ward_code": "40135", "comment": "訪問前の確認に使える"}]
    admin = hq.get(f"/admin/survey?round_id={round_id}").text
    assert "回答者 4 人" in admin and "訪問前の確認に使える" in admin and "西区" in admin
    assert "higashi" not in admin and "nishi" not in admin


def test_answers_hold_no_user_and_the_audit_no_content(sq: Container) -> None:
    hq = client_for(sq, "hq")
    round_id = _open(hq)
    staff = client_for(sq, "higashi")
    staff.post(f"/api/survey/{round_id}/answer", json={"scores": GOOD, "comment": "ひみつの意見"})
    staff.post(f"/api/survey/{round_id}/answer", json={"scores": GOOD, "comment": "ひみつの意見2"})
    with sq.sessions() as s:
        [row] = s.scalars(select(SurveyAnswer))
        staff_id = s.scalars(select(AuditRecord.user_id).where(AuditRecord.action == "survey_answer")).first()
        entries = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "survey_answer")))
    assert staff_id and staff_id not in (row.respondent, row.ward_code, row.comment)
    assert set(row.scores) == {"list", "evidence", "workflow"} and row.answered_on == "2026-06-01"
    assert [(e.target, e.ward_code, e.detail, e.child_id) for e in entries] == [
        (round_id, "40131", "new", None), (round_id, "40131", "replaced", None)]
    assert all("ひみつ" not in e.detail and "4" not in e.detail for e in entries)


def test_access_rules(sq: Container) -> None:
    hq = client_for(sq, "hq")
    round_id = _open(hq)
    staff = client_for(sq, "higashi")
    # staff cannot open rounds, read tallies or comments
    assert staff.post("/api/survey/rounds", json={"title": "x", "opens_on": "2026-06-01",
                                                  "closes_on": "2026-06-02"}).status_code == 403
    assert staff.get(f"/api/survey/rounds/{round_id}/tallies").status_code == 403
    assert staff.get("/admin/survey").status_code == 403
    # roles without list use answer nothing; HQ runs the survey rather than answering it
    for name in ("privacy", "analyst", "hq"):
        client = hq if name == "hq" else client_for(sq, name)
        assert client.post(f"/api/survey/{round_id}/answer", json={"scores": GOOD}).status_code == 403
    assert client_for(sq, "privacy").get(f"/api/survey/rounds/{round_id}/tallies").status_code == 403
    assert hq.get("/survey", follow_redirects=False).headers["location"] == "/admin/survey"
    # invalid answers
    assert staff.post(f"/api/survey/{round_id}/answer", json={"scores": {"list": 4}}).status_code == 409
    assert staff.post(f"/api/survey/{round_id}/answer", json={"scores": {**GOOD, "list": 6}}).status_code == 409
    assert staff.post("/api/survey/no-such-round/answer", json={"scores": GOOD}).status_code == 409
    # without the CSRF token nothing is recorded
    staff.headers["X-CSRF-Token"] = "wrong"
    assert staff.post(f"/api/survey/{round_id}/answer", json={"scores": GOOD}).status_code == 403
    with sq.sessions() as s:
        assert s.scalars(select(SurveyAnswer)).first() is None
        denied = [e.action for e in s.scalars(select(AuditRecord).where(AuditRecord.outcome == "denied"))]
    assert {"open_survey", "view_survey", "survey_answer"} <= set(denied)


def test_closed_or_future_rounds_take_no_answers(sq: Container, clock: FakeClock) -> None:
    hq = client_for(sq, "hq")
    later = _open(hq, "第2回", "2026-07-01", "2026-07-31")
    staff = client_for(sq, "higashi")
    assert staff.post(f"/api/survey/{later}/answer", json={"scores": GOOD}).status_code == 409  # not yet open
    assert staff.get("/api/survey/current").json() == []
    now = _open(hq, "第1回", "2026-06-01", "2026-06-10")
    assert hq.post(f"/api/survey/rounds/{now}/close").status_code == 200
    assert staff.post(f"/api/survey/{now}/answer", json={"scores": GOOD}).status_code == 409  # closed early
    clock.advance(days=31)  # 2026-07-02 JST: the second round is open
    staff = client_for(sq, "higashi")  # (the old session timed out)
    assert [r["title"] for r in staff.get("/api/survey/current").json()] == ["第2回"]
    clock.advance(days=30)
    staff = client_for(sq, "higashi")
    assert staff.get("/api/survey/current").json() == []  # past its end


def test_forms_and_export(sq: Container, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    hq = client_for(sq, "hq")
    csrf = hq.headers["X-CSRF-Token"]
    opened = hq.post("/admin/survey", data={"csrf_token": csrf, "title": "画面から", "opens_on": "2026-06-01",
                                            "closes_on": "2026-06-30"}, follow_redirects=False)
    assert opened.status_code == 303 and "round_id=" in opened.headers["location"]
    round_id = opened.headers["location"].split("round_id=")[1]
    bad = hq.post("/admin/survey", data={"csrf_token": csrf, "title": "", "opens_on": "2026-06-01",
                                         "closes_on": "2026-05-01"}, follow_redirects=False)
    assert "error=" in bad.headers["location"]
    staff = client_for(sq, "nishi")
    form = {"csrf_token": staff.headers["X-CSRF-Token"], "q_list": "5", "q_evidence": "4", "q_workflow": "4",
            "comment": "=HYPERLINK(\"x\")"}
    done = staff.post(f"/survey/{round_id}", data=form, follow_redirects=False)
    assert done.headers["location"] == "/survey?done=new"
    assert "回答を受け付けました" in staff.get(done.headers["location"]).text
    missing = staff.post(f"/survey/{round_id}", data={**form, "q_list": ""}, follow_redirects=False)
    assert "error=" in missing.headers["location"]
    assert 'value="5" required checked' in staff.get("/survey").text  # the earlier answer is shown
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", str(sq.settings.database_url))
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "development")
    out = tmp_path / "survey.csv"
    assert cli.main(["survey-export", "--user", "hq", "--round", round_id, "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {r["section"] for r in rows} == {"round", "question", "scale", "respondents", "count"}
    assert [r["count"] for r in rows if r["section"] == "respondents"] == ["1", "1"]
    assert next(r for r in rows if r["section"] == "count" and r["ward_code"] == "40135"
                and r["question"] == "list" and r["answer"] == "5")["count"] == "1"
    assert cli.main(["survey-export", "--user", "hq", "--round", round_id, "--out", str(out), "--with-comments"]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text  # formula injection defused
    assert cli.main(["survey-export", "--user", "hq", "--round", "nope", "--out", str(out)]) == 2
    assert cli.main(["survey-export", "--user", "higashi", "--round", round_id, "--out", str(out)]) == 2
    assert "refused" in capsys.readouterr().err
    with sq.sessions() as s:
        exports = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "survey_export")))
    assert [(e.detail, e.outcome) for e in exports] == [
        ("aggregates", "ok"), ("aggregates+comments", "ok"), ("no_permission", "denied")]

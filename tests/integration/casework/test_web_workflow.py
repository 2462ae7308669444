"""A ward worker walks a case to 終結 through the API and the forms; outcomes queue for Kafka; XSS is inert."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord, OutboxMessage
from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for, seed_child
from tests.unit.casework.factories import profile_event, raw

pytestmark = pytest.mark.integration


def _alert_rows(page: str) -> str:
    """The inbox's alert rows only (the page has other tables, e.g. データの鮮度, above them)."""
    start = page.index('<tbody id="alert-rows">')
    return page[start:page.index("</tbody>", start)]

NAUGHTY = [
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "javascript:alert(1)", "'; DROP TABLE alerts;--",
    "{{7*7}}", "${7*7}", "</textarea><svg onload=alert(1)>", "=HYPERLINK(\"http://x\")", "髙﨑 𠮷野　ﾊﾅｺ",
    "\u202eevil", "<iframe src=//x>",
]
STEPS = [
    ("二次スクリーニング", "要アプローチ", {}),
    ("関係三課協議", "決定", {"approach_method": "訪問", "lead_division": "子育て支援課"}),
    ("個別アプローチ", "面会できた", {"hearing_notes": "母と面会。育児の負担感を聴取"}),
    ("アセスメント", "支援が必要", {}),
    ("プランニング", "計画決定", {"support_content": "養育支援訪問"}),
    ("支援", "実施", {"support_notes": "初回訪問"}),
    ("終結", "支援につながった", {}),
]


def outbox(container: Container, topic: str) -> list[dict]:  # type: ignore[type-arg]
    with container.sessions() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic).order_by(OutboxMessage.id))
        return [json.loads(r.payload) for r in rows]


def test_a_case_walked_to_closure_over_the_api(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    alert_id = seed_child(pg_container, "c-1", "40131")
    client = client_for(pg_container, "higashi")
    for action, result, details in STEPS:
        body = {"action": action, "result": result, "reason": f"{action}の判断", "details": details}
        response = client.post(f"/api/cases/{alert_id}/steps", json=body)
        assert response.status_code == 200, response.text
    assert client.get("/api/alerts").json()[0]["status"] == "終結"
    late = client.post(f"/api/cases/{alert_id}/steps", json={"action": "支援", "result": "実施", "reason": "x",
                                                              "details": {"support_notes": "x"}})
    assert late.status_code == 409
    timeline = client.get("/api/children/c-1").json()["alerts"][0]["timeline"]
    assert [t["action"] for t in timeline] == ["一次スクリーニング"] + [s[0] for s in STEPS]
    assert all(t["actor_role"] == "ward_staff" and t["reason"] for t in timeline[1:])
    outcomes = outbox(pg_container, "casework.outcomes.v1")
    assert [o["data"]["step"] for o in outcomes] == [s[0] for s in STEPS]
    assert outcomes[-1]["data"] | {"recorded_at": None} == {
        "case_id": alert_id, "child_id": "c-1", "ward_code": "40131", "step": "終結", "result": "支援につながった",
        "items_at_listing": [3], "recorded_at": None, "actor_role": "ward_staff"}


def test_the_forms_walk_the_case_and_refuse_an_invalid_step(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    alert_id = seed_child(pg_container, "c-2", "40131")
    client = client_for(pg_container, "higashi")
    token = client.headers["X-CSRF-Token"]
    page = client.get("/children/c-2").text
    assert "二次スクリーニングを記録" in page and "関係三課協議を記録" not in page
    wrong = client.post(f"/cases/{alert_id}/steps", data={"csrf_token": token, "action": "関係三課協議",
                                                          "result": "決定", "reason": "x"}, follow_redirects=True)
    assert "一次スクリーニング の段階では記録できません" in wrong.text
    for action, result, details in STEPS:
        done = client.post(f"/cases/{alert_id}/steps", follow_redirects=False, data={
            "csrf_token": token, "action": action, "result": result, "reason": "判断理由", **details})
        assert done.status_code == 303 and done.headers["location"].startswith("/children/c-2")
    page = client.get("/children/c-2").text
    assert "進行中のケースはありません" in page and "支援につながった" in page


@pytest.mark.parametrize("naughty", NAUGHTY)
def test_naughty_strings_are_rendered_as_text(pg_container: Container, naughty: str) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    alert_id = seed_child(pg_container, "c-x", "40131", name=naughty, name_kana=naughty, address=naughty,
                          household_id=naughty)
    client = client_for(pg_container, "higashi")
    client.post(f"/api/cases/{alert_id}/steps", json={"action": "二次スクリーニング", "result": "要アプローチ",
                                                     "reason": naughty})
    client.post(f"/api/cases/{alert_id}/steps", json={
        "action": "関係三課協議", "result": "決定", "reason": naughty,
        "details": {"approach_method": "訪問", "lead_division": "健康課"}})
    for html in (client.get("/").text, client.get("/children/c-x").text):
        if any(ch in naughty for ch in "<>\"'"):
            assert naughty not in html
        assert "<script>alert" not in html and "<img" not in html and "<svg" not in html
        assert "<iframe" not in html and "</textarea><svg" not in html
    if "7*7" in naughty:  # no template evaluation: {{7*7}} must not come out as 49 (the CSRF token is random text)
        page = re.sub(r'value="[^"]*"', "", client.get("/children/c-x").text)
        assert "49" not in page.split("児童ID")[0]
    assert client.get("/api/children/c-x").json()["profile"]["name_kanji"] == naughty
    csv_text = client.get("/export.csv").content.decode("utf-8-sig")
    if naughty.startswith("="):
        assert "'" + naughty.replace('"', '""') in csv_text


def test_csv_export_is_audited_and_filtered(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    seed_child(pg_container, "c-a", "40131", items=[3])
    seed_child(pg_container, "c-b", "40131", items=[17])
    client = client_for(pg_container, "higashi")
    only_17 = client.get("/export.csv?item=17")
    assert only_17.headers["content-type"].startswith("text/csv")
    lines = only_17.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "c-b" in lines[1]
    assert [a["child_id"] for a in client.get("/api/alerts?item=3").json()] == ["c-a"]
    assert client.get("/api/alerts?status=終結").json() == []
    assert len(client.get("/api/alerts?age_min=0&age_max=5").json()) == 2
    assert client.get("/api/alerts?age_min=10").json() == []


def test_connection_signals_on_the_child_page_and_as_an_inbox_filter(container: Container) -> None:
    """行政とのつながり (issue 18): the panel with label, date and evidence, 該当なし, and the inbox's signal filter."""
    add_user(container, "higashi", "ward_staff", "40131")
    seed_child(container, "c-unenrolled", "40131", name="未就 花子", signals=["unenrolled"])
    seed_child(container, "c-none", "40131", name="無 太郎", signals=[])
    seed_child(container, "c-hakata", "40132", name="博多 次郎", signals=["unenrolled"])
    WorkerHandlers(container).process("profile", raw(profile_event("c-new", "40131", name="新 一郎")), where="test")
    client = client_for(container, "higashi")

    def panel(child_id: str) -> str:
        page = client.get(f"/children/{child_id}")
        assert page.status_code == 200
        return page.text[page.text.index('id="connection"'):page.text.index('id="case"')]

    shown = panel("c-unenrolled")
    assert "行政とのつながり" in shown and "未就園</strong>（2026-04-01〜）" in shown
    assert "unenrolledの根拠" in shown and "住民記録・本人・2023-04-01" in shown and "該当なし" not in shown
    none = panel("c-none")
    assert "該当なし" in none and "データがないという意味ではありません" in none and "未就園</strong>" not in none
    assert "判定をまだ受け取っていません" in panel("c-new")  # no flags yet: unknown, not 該当なし
    assert client.get("/api/children/c-unenrolled").json()["signals"][0]["code"] == "unenrolled"
    assert client.get("/children/c-hakata").status_code == 403  # access control as before
    with container.sessions() as s:
        viewed = s.execute(select(AuditRecord.child_id, AuditRecord.outcome, AuditRecord.detail)
                           .where(AuditRecord.action == "view_child").order_by(AuditRecord.seq)).tuples().all()
    assert viewed == [("c-unenrolled", "ok", "page"), ("c-none", "ok", "page"), ("c-new", "ok", "page"),
                      ("c-unenrolled", "ok", "api"), ("c-hakata", "denied", "other_ward")]  # audited as before

    page = client.get("/?signal=unenrolled").text
    assert '<option value="unenrolled" selected>未就園</option>' in page
    rows = _alert_rows(page)
    assert "未就 花子" in rows and "無 太郎" not in rows and "博多" not in rows
    assert '<span class="chip chip--signal">未就園</span>' in rows
    assert "無 太郎" in client.get("/").text and "絞り込み中" in page
    assert [a["child_id"] for a in client.get("/api/alerts?signal=unenrolled").json()] == ["c-unenrolled"]
    assert client.get("/api/alerts?signal=moved_in").json() == []
    assert client.get("/api/alerts?signal=nonsense").status_code == 422
    lines = client.get("/export.csv?signal=unenrolled").content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 2 and "c-unenrolled" in lines[1] and lines[1].endswith("未就園")
